(* Mistakes `netdsl check` finds without running anything:

     netdsl check examples/check_errors.wl

   prints one FILE:LINE:COL: error: line per mistake (the position of the layer or
   expression at fault) and exits with status 1. Each statement is checked on its own;
   statements that use a net whose definition failed are skipped. *)

(* 1. the batch normalization was written for 8 channels, the convolution makes 16 *)
cnn = NetChain[{
    ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1],
    BatchNormalizationLayer["Input" -> {8, 28, 28}],
    Ramp
  }, "Input" -> {1, 28, 28}];

(* 2. a misspelt option *)
conv = ConvolutionLayer[32, {3, 3}, "Strides" -> 2];

(* 3. a pooling window larger than what is left of the image *)
deep = NetChain[{ConvolutionLayer[8, {5, 5}], PoolingLayer[{5, 5}]}, "Input" -> {1, 8, 8}];

(* 4. a layer size that is not a positive integer *)
head = LinearLayer[-10];

(* 5. a correct net ... *)
classifier = NetChain[{LinearLayer[32], Ramp, LinearLayer[3], SoftmaxLayer[]}, "Input" -> 4];
classifier = NetInitialize[classifier];
(* ... applied to data of the wrong size *)
classifier[{1., 2., 3.}]

(* 6. initialising a net whose input size was never given *)
open = NetInitialize[NetChain[{LinearLayer[10], Ramp}]];

(* 7. a graph that feeds a layer into itself *)
loop = NetGraph[{LinearLayer[4], Ramp}, {1 -> 2, 2 -> 1}];

(* 8. training data whose examples do not match the input port *)
NetTrain[classifier, {{1, 2, 3} -> 1, {4, 5, 6} -> 2}, MaxTrainingRounds -> 1]
