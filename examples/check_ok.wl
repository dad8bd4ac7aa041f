(* A small image classifier, written to be checked before it is run:

     netdsl check examples/check_ok.wl

   checks every net below at the level of shapes (no array is allocated, so it takes
   milliseconds) and prints each net's ports. `netdsl examples/check_ok.wl` runs it. *)

(* a convolutional feature extractor for 3-channel 32x32 images *)
features = NetChain[<|
    "conv1" -> ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1],
    "bn1" -> BatchNormalizationLayer[],
    "relu1" -> Ramp,
    "pool1" -> PoolingLayer[{2, 2}, {2, 2}],
    "conv2" -> ConvolutionLayer[32, {3, 3}, "Stride" -> 2, "PaddingSize" -> "Same"],
    "bn2" -> BatchNormalizationLayer[],
    "relu2" -> Ramp,
    "pool2" -> PoolingLayer[2, 2, "Function" -> Mean]
  |>];

(* the classifier: the features' sizes are inferred once the input is known *)
classifier = NetChain[{
    features,
    FlattenLayer[],
    LinearLayer[64], Ramp, DropoutLayer[0.25],
    LinearLayer[10], SoftmaxLayer[]
  }, "Input" -> {3, 32, 32}];

(* two inputs, one output: a residual block as a graph *)
block = NetGraph[<|
    "a" -> ConvolutionLayer[32, {3, 3}, "PaddingSize" -> 1],
    "b" -> BatchNormalizationLayer[],
    "relu" -> Ramp,
    "sum" -> TotalLayer[]
  |>, {NetPort["Input"] -> "a" -> "b" -> "relu", {"relu", NetPort["Skip"]} -> "sum"},
  "Input" -> {16, 8, 8}];

(* the loss network NetTrain would build, written out *)
withLoss = NetGraph[<|"net" -> classifier, "loss" -> CrossEntropyLossLayer["Index"]|>,
  {"net" -> NetPort["loss", "Input"]}];

net = NetInitialize[classifier];
image = RandomReal[1, {3, 32, 32}];
probabilities = net[image];
batch = net[RandomReal[1, {4, 3, 32, 32}]];

images = RandomReal[1, {8, 3, 32, 32}];
labels = RandomInteger[{1, 10}, 8];
trained = NetTrain[classifier, images -> labels, MaxTrainingRounds -> 1, BatchSize -> 4];
