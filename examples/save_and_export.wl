(* Train a net, save it, load it back, and export it to ONNX.

   Run: netdsl examples/save_and_export.wl   (a few seconds)
   It writes, next to this script: digits.safetensors (the net file), digits.wl (the
   same net as netdsl text), digits.onnx (for ONNX runtimes) and checkpoints/ (one net
   file per training round). tests/test_save_and_export.py runs this script and checks
   digits.onnx in onnxruntime against netdsl's own outputs. *)

data = Import["data/digits.npz"];            (* 1,797 images of 8x8 pixels, labels 1..10 *)
images = data["images"] / 16.;
labels = data["labels"];
trainX = images[[1 ;; 1497]]; trainY = labels[[1 ;; 1497]];
testX = images[[1498 ;; -1]]; testY = labels[[1498 ;; -1]];

net = NetChain[<|
    "conv" -> ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1],
    "bn" -> BatchNormalizationLayer[],
    "relu" -> Ramp,
    "pool" -> PoolingLayer[2, 2],
    "flat" -> FlattenLayer[],
    "linear" -> LinearLayer[10],
    "softmax" -> SoftmaxLayer[]|>, "Input" -> {1, 8, 8}];

(* a checkpoint after every round: date_run_round_batch_loss.safetensors *)
trained = NetTrain[net, trainX -> trainY, MaxTrainingRounds -> 5, BatchSize -> 64,
    TrainingProgressReporting -> None,
    TrainingProgressCheckpointing -> {"Directory", "checkpoints"}];

(* the net file: arrays as float32 tensors named by path ("conv/Weights", "bn/MovingMean"),
   the architecture as netdsl text in its metadata *)
Export["digits.safetensors", trained];
loaded = Import["digits.safetensors"];
Print["loaded net equals the trained net: ", loaded == trained];
Print["same outputs: ", loaded[testX] == trained[testX]];
Print["arrays in the file: ", Keys[Import["digits.safetensors", "ArrayAssociation"]]];

(* the readable text form: Get evaluates it back *)
Export["digits.wl", trained];
Print["text form read back equals the net: ", Get["digits.wl"] == trained];

(* ONNX: the Test-mode net, batch dimension symbolic, opset 17 (13-21 with
   "OperatorSetVersion" -> n) *)
Export["digits.onnx", trained];

(* accuracy on the held-out digits: the class of highest probability *)
predict = Function[{net, xs},
    Map[Function[p, First[Select[Range[Length[p]], p[[#]] == Max[p] &]]], net[xs]]];
accuracy = Function[{net, xs, ys},
    N[Total[Map[If[#[[1]] == #[[2]], 1, 0] &, Transpose[{predict[net, xs], ys}]]] / Length[ys]]];
Print["held-out accuracy of the loaded net: ", accuracy[loaded, testX, testY]];
