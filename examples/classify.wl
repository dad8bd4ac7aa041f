(* Classifying with NetDecoder["Class"]: net[x] gives a label, not a vector.

   The UCI handwritten digits (data/digits.npz: 1,797 images of 8x8 pixels, labels 1..10
   for the digits 0..9) are given string labels "zero" .. "nine". The net's "Output" port
   carries NetDecoder[{"Class", names}], so NetTrain takes the names as targets (as
   Wolfram's does), net[image] gives a name and net[image, "Probabilities"] an
   association of names to probabilities.
   Run: netdsl examples/classify.wl   (a few seconds) *)

data = Import["data/digits.npz"];           (* relative to this script's folder *)
images = data["images"] / 16.;              (* {1, 8, 8} pixels 0..16 -> 0..1 *)
names = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
labels = names[[data["labels"]]];           (* class index -> its name *)
trainX = images[[1 ;; 1497]]; trainY = labels[[1 ;; 1497]];
testX = images[[1498 ;; -1]]; testY = labels[[1498 ;; -1]];   (* 300 held out *)

net = NetChain[{FlattenLayer[], LinearLayer[32], Ramp, LinearLayer[10], SoftmaxLayer[]},
    "Input" -> {1, 8, 8}, "Output" -> NetDecoder[{"Class", names}]];
trained = NetTrain[net, trainX -> trainY, MaxTrainingRounds -> 30, BatchSize -> 64,
    RandomSeeding -> 1234];

Print["first test image is a ", testY[[1]], "; the net says ", trained[testX[[1]]]];
Print["its top probabilities: ", trained[testX[[1]], {"TopProbabilities", 2}]];
predicted = trained[testX];
accuracy = N[Count[Transpose[{predicted, testY}], {x_, x_}] / Length[testY]];
Print["held-out accuracy: ", accuracy];
Print["NetMeasurements accuracy: ", NetMeasurements[trained, testX -> testY, "Accuracy"]];
