(* ::Title:: BatchNormalizationLayer *)
(* The examples of Wolfram's BatchNormalizationLayer documentation page, in the page's order,
   under its headings (translated from the Chinese page; see
   shared/reference/BatchNormalizationLayer.zh.txt and wolfram-semantics.md §3.6).

   Run it with:    netdsl examples/batchnorm.wl

   Under each expression, a comment shows what netdsl prints for it (without the Out[n]= label).
   netdsl stops a file at its first error (exit status 1), so the two Possible Issues that end in
   an error have files of their own:
       examples/batchnorm_numerical_error.wl    negative "MovingVariance": General::netnan
       examples/batchnorm_uninitializable.wl    NetInitialize before the dimensions are known
*)


(* ========================================================================================= *)
(* Basic Examples (2)                                                                        *)
(* ========================================================================================= *)

(* ---- Create a BatchNormalizationLayer: ---- *)
BatchNormalizationLayer[]
(* BatchNormalizationLayer  (uninitialized)
     Parameters:  Epsilon 0.001, Momentum 0.9, Channels (inferred)
     Arrays:      Scaling {n}, Biases {n}, MovingMean {n}, MovingVariance {n}
     Input:       array
     Output:      array *)

(* ---- Create an initialized BatchNormalizationLayer that takes a vector and returns a
        vector: ---- *)
bn = NetInitialize@BatchNormalizationLayer["Input" -> 3]
(* BatchNormalizationLayer  (initialized)
     Parameters:  Epsilon 0.001, Momentum 0.9, Channels 3
     Arrays:      Scaling {3}, Biases {3}, MovingMean {3}, MovingVariance {3}
     Input:       vector of size 3
     Output:      vector of size 3 *)

(* ---- Apply the layer to an input vector: ---- *)
bn[{1, 2, 3}]
(* {0.9995, 1.999, 2.9985} *)
(* Freshly initialised: Scaling 1, Biases 0, MovingMean 0, MovingVariance 1, so each element
   is x/Sqrt[1 + 0.001]. *)


(* ========================================================================================= *)
(* Scope (4)                                                                                 *)
(* ========================================================================================= *)

(* ---------------------------------- Ports (2) -------------------------------------------- *)

(* ---- Create an initialized BatchNormalizationLayer that takes a rank-3 array and returns a
        rank-3 array: ---- *)
NetInitialize@BatchNormalizationLayer["Input" -> {3, 4, 4}]
(* BatchNormalizationLayer  (initialized)
     Parameters:  Epsilon 0.001, Momentum 0.9, Channels 3
     Arrays:      Scaling {3}, Biases {3}, MovingMean {3}, MovingVariance {3}
     Input:       3-tensor of dimensions {3, 4, 4}
     Output:      3-tensor of dimensions {3, 4, 4} *)
(* The first dimension is the channel dimension: 3 channels, one number of each array per
   channel. *)

(* ---- Create an initialized BatchNormalizationLayer that takes a vector and returns a
        vector: ---- *)
bn = NetInitialize@BatchNormalizationLayer["Input" -> 3];

(* ---- Apply the layer to a batch of input vectors: ---- *)
bn[{{1, 2, 3}, {3, 6, 9}, {-1, 0, 0.5}}]
(* {{0.9995, 1.999, 2.9985}, {2.9985, 5.997, 8.9955}, {-0.9995, 0., 0.49975}} *)
(* One output per input; in the default (test) mode each depends only on its own input. *)

(* ---- Use NetEvaluationMode to use the training behavior of BatchNormalizationLayer: ---- *)
x = {{0.90044, 0.177369, 0.356773}, {0.784026, 0.446095, 0.664769}};
bn[x, NetEvaluationMode -> "Train"]
(* {{0.878697, -0.973404, -0.979561}, {-0.878697, 0.973404, 0.979561}} *)
(* Training behaviour normalises with the batch's own mean and (biased) variance per channel:
   channel 1 has mean 0.842233 and variance 0.003388, and (0.90044 - 0.842233)/Sqrt[0.003388 +
   0.001] = 0.878697. (Mathematica StackExchange 238183 shows 0.878696 from the same input.)
   The default, test behaviour uses the moving statistics instead: *)
bn[x, NetEvaluationMode -> "Test"]
(* {{0.89999, 0.17728, 0.356595}, {0.783634, 0.445872, 0.664437}} *)
(* Evaluating never changes the layer: the moving statistics are still the initial ones. *)
{NetExtract[bn, "MovingMean"], NetExtract[bn, "MovingVariance"]} // Normal
(* {{0., 0., 0.}, {1., 1., 1.}} *)


(* ---------------------------------- Parameters (2) --------------------------------------- *)

(* ---------------- "Biases" (1) ---------------- *)

(* ---- Create a BatchNormalizationLayer with an initial value for the "Biases"
        parameter: ---- *)
bn = BatchNormalizationLayer["Biases" -> {1, 2, 3}]
(* BatchNormalizationLayer  (uninitialized)
     Parameters:  Epsilon 0.001, Momentum 0.9, Channels 3
     Arrays:      Scaling {3}, Biases {3}, MovingMean {3}, MovingVariance {3}
     Input:       array
     Output:      array *)
(* The array fixes the number of channels (3). *)

(* ---- Extract the "Biases" parameter: ---- *)
NetExtract[bn, "Biases"] // Normal
(* {1., 2., 3.} *)

(* ---- The default value for "Biases" chosen by NetInitialize is a zero vector: ---- *)
NetExtract[NetInitialize@BatchNormalizationLayer["Input" -> 3], "Biases"] // Normal
(* {0., 0., 0.} *)

(* ---------------- "Scaling" (1) ---------------- *)

(* ---- Create an initialized BatchNormalizationLayer with the "Scaling" parameter set to zero
        and the "Biases" parameter set to a custom value: ---- *)
bn = NetInitialize@BatchNormalizationLayer["Scaling" -> {0, 0, 0}, "Biases" -> {1, 2, 3},
  "Input" -> 3]
(* BatchNormalizationLayer  (initialized)
     Parameters:  Epsilon 0.001, Momentum 0.9, Channels 3
     Arrays:      Scaling {3}, Biases {3}, MovingMean {3}, MovingVariance {3}
     Input:       vector of size 3
     Output:      vector of size 3 *)

(* ---- Applying the layer to any input returns the value of the "Biases" parameter: ---- *)
bn[{4, -5, 6}]
(* {1., 2., 3.} *)
bn[{{100, 200, 300}, {-0.5, 0, 0.5}}]
(* {{1., 2., 3.}, {1., 2., 3.}} *)
(* 0 * (x - MovingMean)/Sqrt[MovingVariance + Epsilon] + Biases = Biases. *)

(* ---- The default value for "Scaling" chosen by NetInitialize is a vector of 1s: ---- *)
NetExtract[NetInitialize@BatchNormalizationLayer["Input" -> 3], "Scaling"] // Normal
(* {1., 1., 1.} *)


(* ========================================================================================= *)
(* Options (2)                                                                               *)
(* ========================================================================================= *)

(* ---------------- "Epsilon" (1) ---------------- *)

(* ---- Create a BatchNormalizationLayer with an explicitly specified "Epsilon"
        parameter: ---- *)
bn = BatchNormalizationLayer["Epsilon" -> 0.01]
(* BatchNormalizationLayer  (uninitialized)
     Parameters:  Epsilon 0.01, Momentum 0.9, Channels (inferred)
     Arrays:      Scaling {n}, Biases {n}, MovingMean {n}, MovingVariance {n}
     Input:       array
     Output:      array *)

(* ---- Extract the "Epsilon" parameter: ---- *)
NetExtract[bn, "Epsilon"]
(* 0.01 *)

(* ---------------- "Momentum" (1) ---------------- *)

(* ---- Create a BatchNormalizationLayer with an explicitly specified "Momentum"
        parameter: ---- *)
bn = BatchNormalizationLayer["Momentum" -> 0.5]
(* BatchNormalizationLayer  (uninitialized)
     Parameters:  Epsilon 0.001, Momentum 0.5, Channels (inferred)
     Arrays:      Scaling {n}, Biases {n}, MovingMean {n}, MovingVariance {n}
     Input:       array
     Output:      array *)

(* ---- Extract the "Momentum" parameter: ---- *)
NetExtract[bn, "Momentum"]
(* 0.5 *)


(* ========================================================================================= *)
(* Applications (1)                                                                          *)
(* ========================================================================================= *)

(* ---- BatchNormalizationLayer is usually inserted between a ConvolutionLayer and its
        activation function, to stabilize and speed up training: ---- *)
net = NetInitialize@NetChain[{
    ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1], BatchNormalizationLayer[], Ramp,
    PoolingLayer[{2, 2}, 2],
    ConvolutionLayer[32, {3, 3}, "PaddingSize" -> 1], BatchNormalizationLayer[], Ramp,
    PoolingLayer[{2, 2}, 2],
    FlattenLayer[], LinearLayer[10], SoftmaxLayer[]},
  "Input" -> {3, 32, 32}]
(* NetChain  (initialized)
     Input   port                     3-tensor of dimensions {3, 32, 32}
     1       ConvolutionLayer         3-tensor of dimensions {16, 32, 32}
     2       BatchNormalizationLayer  3-tensor of dimensions {16, 32, 32}
     3       ElementwiseLayer[Ramp]   3-tensor of dimensions {16, 32, 32}
     4       PoolingLayer             3-tensor of dimensions {16, 16, 16}
     5       ConvolutionLayer         3-tensor of dimensions {32, 16, 16}
     6       BatchNormalizationLayer  3-tensor of dimensions {32, 16, 16}
     7       ElementwiseLayer[Ramp]   3-tensor of dimensions {32, 16, 16}
     8       PoolingLayer             3-tensor of dimensions {32, 8, 8}
     9       FlattenLayer             vector of size 2048
     10      LinearLayer              vector of size 10
     11      SoftmaxLayer             vector of size 10
     Output  port                     vector of size 10 *)
(* The channel counts of both BatchNormalizationLayers (16 and 32) were inferred from the
   convolutions before them. *)

(* Evaluate the net on a batch of 8 random RGB images of 32x32 pixels: *)
SeedRandom[1234];
images = RandomReal[1, {8, 3, 32, 32}];
probabilities = net[images[[1]]]
(* {0.0266305, 0.0100999, 0.0103814, 0.00565966, 0.131162, 0.000481563, 0.660815, 0.132281,
    0.0169958, 0.00549369} *)
Total[probabilities]
(* 1. *)
Dimensions[net[images]]
(* {8, 10} *)

(* What the BatchNormalizationLayer does to the convolution's output: in training behaviour
   (as inside NetTrain) every channel leaves it with mean 0 and variance
   var/(var + Epsilon), close to 1, over the batch, whatever the scale of its input. *)
convbn = NetChain[{NetExtract[net, 1], NetExtract[net, 2]}];
channel1 = Flatten[convbn[images, NetEvaluationMode -> "Train"][[All, 1]]];
Chop[{Mean[channel1], Mean[channel1^2]}, 10^-6]
(* {0., 0.996451} *)
Mean[Flatten[NetExtract[net, 1][images][[All, 1]]]]
(* 0.670613 *)


(* ========================================================================================= *)
(* Properties & Relations (1)                                                                *)
(* ========================================================================================= *)

(* ---- In ordinary evaluation, BatchNormalizationLayer computes the following function: ---- *)
bnFunction = Function[{x, scaling, biases, movingMean, movingVariance, epsilon},
  scaling (x - movingMean)/Sqrt[movingVariance + epsilon] + biases]
(* Function[{x, scaling, biases, movingMean, movingVariance, epsilon}, scaling*(x -
   movingMean)/Sqrt[movingVariance + epsilon] + biases] *)

(* ---- Evaluate BatchNormalizationLayer on an example vector with one channel: ---- *)
bn = BatchNormalizationLayer["Input" -> {1, 5}, "Scaling" -> {2}, "Biases" -> {0.5},
  "MovingMean" -> {1}, "MovingVariance" -> {4}]
(* BatchNormalizationLayer  (initialized)
     Parameters:  Epsilon 0.001, Momentum 0.9, Channels 1
     Arrays:      Scaling {1}, Biases {1}, MovingMean {1}, MovingVariance {1}
     Input:       matrix of dimensions {1, 5}
     Output:      matrix of dimensions {1, 5} *)
(* All four arrays are given, so no NetInitialize is needed. *)
x = {{1, 2, 3, 4, 5}};
bn[x]
(* {{0.5, 1.49988, 2.49975, 3.49962, 4.4995}} *)

(* ---- Compute the same result manually: ---- *)
bnFunction[x, 2, 0.5, 1, 4, 0.001]
(* {{0.5, 1.49988, 2.49975, 3.49963, 4.4995}} *)
(* The same up to single precision (the net computes in 32-bit reals): *)
Max[Abs[bn[x] - bnFunction[x, 2, 0.5, 1, 4, 0.001]]] < 10^-6
(* True *)


(* ========================================================================================= *)
(* Possible Issues (3)                                                                       *)
(* ========================================================================================= *)

(* ---- Specifying a negative value for the "MovingVariance" parameter causes numerical errors
        during evaluation: ---- *)
(* Creating such a layer is allowed: *)
bad = NetInitialize@BatchNormalizationLayer["Input" -> 3, "MovingVariance" -> {1, -1, 1}];
NetExtract[bad, "MovingVariance"] // Normal
(* {1., -1., 1.} *)
(* but evaluating it, bad[{1, 2, 3}], stops with an error, since Sqrt[-1 + 0.001] is not
   real. It is in examples/batchnorm_numerical_error.wl, which prints
     BatchNormalizationLayer::netnan: A floating-point overflow, underflow, or division by
     zero occurred while evaluating the net.
   and exits with status 1. Inside a NetChain the message also says in which layer the NaN
   first appeared ("... first appeared in layer 2 (BatchNormalizationLayer)."). Only a
   variance below -Epsilon is a problem: *)
NetReplacePart[bad, "MovingVariance" -> {1, -0.0005, 1}][{1, 2, 3}]
(* {0.9995, 89.4427, 2.9985} *)

(* ---- BatchNormalizationLayer cannot be initialized until all its input and output
        dimensions are known: ---- *)
(* NetInitialize[BatchNormalizationLayer[]] stops with an error: it is in
   examples/batchnorm_uninitializable.wl, which prints
     NetInitialize::nfspec: Cannot initialize net: parameter "Channels" is not fully
     specified.
   followed by how to fix it, and exits with status 1. Once the input is known, by
   NetReplacePart or by the layers before it, the layer can be initialised: *)
NetInitialize@NetReplacePart[BatchNormalizationLayer[], "Input" -> {3, 8, 8}]
(* BatchNormalizationLayer  (initialized)
     Parameters:  Epsilon 0.001, Momentum 0.9, Channels 3
     Arrays:      Scaling {3}, Biases {3}, MovingMean {3}, MovingVariance {3}
     Input:       3-tensor of dimensions {3, 8, 8}
     Output:      3-tensor of dimensions {3, 8, 8} *)

(* ---- The "MovingMean" and "MovingVariance" arrays of BatchNormalizationLayer cannot be
        shared: ---- *)
(* (Shared arrays and training: not part of this file.) *)
