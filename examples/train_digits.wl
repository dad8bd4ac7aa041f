(* BatchNormalizationLayer, Applications: "BatchNormalizationLayer is usually inserted
   between a ConvolutionLayer and its activation function, to stabilize and speed up
   training."

   The same small convolutional net is trained twice on the UCI handwritten digits
   (data/digits.npz: 1,797 images of 8x8 pixels, labels 1..10 for the digits 0..9), with
   and without BatchNormalizationLayer: same initial weights (same RandomSeeding; the
   batch normalization arrays start at ones and zeros and draw nothing), same batches,
   same rounds, same optimiser (ADAM with its default LearningRate 0.001).
   Run: netdsl examples/train_digits.wl   (a few seconds; a progress bar on a terminal) *)

data = Import["data/digits.npz"];           (* relative to this script's folder *)
images = data["images"] / 16.;              (* pixel values 0..16 -> 0..1 *)
labels = data["labels"];
trainX = images[[1 ;; 1497]]; trainY = labels[[1 ;; 1497]];
testX = images[[1498 ;; -1]]; testY = labels[[1498 ;; -1]];   (* 300 held out *)
Print["training examples: ", Length[trainY], ", held-out examples: ", Length[testY]];

withBN = NetChain[{
    ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1], BatchNormalizationLayer[], Ramp,
    PoolingLayer[2, 2],
    ConvolutionLayer[32, {3, 3}, "PaddingSize" -> 1], BatchNormalizationLayer[], Ramp,
    PoolingLayer[2, 2],
    FlattenLayer[], LinearLayer[10], SoftmaxLayer[]}, "Input" -> {1, 8, 8}];

withoutBN = NetChain[{
    ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1], Ramp,
    PoolingLayer[2, 2],
    ConvolutionLayer[32, {3, 3}, "PaddingSize" -> 1], Ramp,
    PoolingLayer[2, 2],
    FlattenLayer[], LinearLayer[10], SoftmaxLayer[]}, "Input" -> {1, 8, 8}];

rounds = 20;
(* SoftmaxLayer at the end: NetTrain attaches CrossEntropyLossLayer["Index"] *)
train = Function[net, NetTrain[net, trainX -> trainY, All, MaxTrainingRounds -> rounds,
    BatchSize -> 64, RandomSeeding -> 1234]];
resultBN = train[withBN];
resultPlain = train[withoutBN];

lossBN = resultBN["RoundLossList"];
lossPlain = resultPlain["RoundLossList"];
Print["round   loss with BN   loss without BN"];
Table[Print[r, "       ", lossBN[[r]], "       ", lossPlain[[r]]], {r, rounds}];

firstBelow = Function[{losses, level},
    If[Length[#] > 0, First[#], "none"] &[Select[Range[rounds], losses[[#]] < level &]]];
Print["first round with loss < 0.5:  with BN ", firstBelow[lossBN, 0.5],
    ", without BN ", firstBelow[lossPlain, 0.5]];

(* accuracy on the held-out digits: the class of highest probability *)
predict = Function[{net, xs},
    Map[Function[p, First[Select[Range[Length[p]], p[[#]] == Max[p] &]]], net[xs]]];
accuracy = Function[{net, xs, ys},
    N[Total[Map[If[#[[1]] == #[[2]], 1, 0] &, Transpose[{predict[net, xs], ys}]]] / Length[ys]]];
Print["held-out accuracy:  with BN ", accuracy[resultBN["TrainedNet"], testX, testY],
    ", without BN ", accuracy[resultPlain["TrainedNet"], testX, testY]];
