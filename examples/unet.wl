(* A small U-Net (issue 10's new layers): find the ink of noisy handwritten digits.

   Input: a UCI digit (data/digits.npz, 8x8 pixels scaled to 0..1) with uniform noise
   added; target: its ink mask, Round[pixel] (1 where the clean pixel is above 0.5).
   The encoder convolves and pools; a DeconvolutionLayer upsamples the bottleneck back
   to 8x8; a CatenateLayer joins it with the encoder's features (the skip connection);
   a PaddingLayer pads before an unpadded 3x3 convolution; a PartLayer takes the one
   output channel, and LogisticSigmoid gives per-pixel probabilities (NetTrain attaches
   the binary cross-entropy loss).
   Run: netdsl examples/unet.wl   (a few seconds) *)

data = Import["data/digits.npz"];
clean = data["images"][[All, 1]] / 16.;           (* {1797, 8, 8} *)
SeedRandom[7];
noisy = clean + RandomReal[{-0.6, 0.6}, Dimensions[clean]];
inputs = Map[{#} &, noisy];                       (* one channel: {1797, 1, 8, 8} *)
masks = Round[clean];
trainX = inputs[[1 ;; 1497]]; trainY = masks[[1 ;; 1497]];
testX = inputs[[1498 ;; -1]]; testY = masks[[1498 ;; -1]];

unet = NetGraph[<|
    "enc1" -> ConvolutionLayer[8, {3, 3}, "PaddingSize" -> 1], "relu1" -> Ramp,
    "pool" -> PoolingLayer[2, 2],
    "enc2" -> ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1], "relu2" -> Ramp,
    "up" -> DeconvolutionLayer[8, {2, 2}, "Stride" -> 2],
    "cat" -> CatenateLayer[],
    "pad" -> PaddingLayer[{{0, 0}, {1, 1}, {1, 1}}],
    "dec" -> ConvolutionLayer[8, {3, 3}], "relu3" -> Ramp,
    "head" -> ConvolutionLayer[1, {1, 1}],
    "part" -> PartLayer[1],
    "prob" -> LogisticSigmoid|>,
  {"enc1" -> "relu1" -> "pool" -> "enc2" -> "relu2" -> "up",
   {"up", "relu1"} -> "cat" -> "pad" -> "dec" -> "relu3" -> "head" -> "part" -> "prob"},
  "Input" -> {1, 8, 8}];

Print["output of the untrained net: ", Dimensions[NetInitialize[unet][testX[[1 ;; 2]]]]];
result = NetTrain[unet, trainX -> trainY, All, MaxTrainingRounds -> 10, BatchSize -> 64,
    RandomSeeding -> 1234];
losses = result["RoundLossList"];
Print["first round loss: ", First[losses]];
Print["last round loss: ", Last[losses]];
trained = result["TrainedNet"];
errors = N[Mean[Flatten[Abs[Round[trained[testX]] - testY]]]];
Print["held-out pixel error rate: ", errors];
Print["noise alone (Round of the noisy pixels): ",
    N[Mean[Flatten[Abs[Round[Map[First, testX]] - testY]]]]];
