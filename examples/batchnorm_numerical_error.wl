(* BatchNormalizationLayer, Possible Issues:
   Specifying a negative value for the "MovingVariance" parameter causes numerical errors
   during evaluation.

   Run it with:    netdsl examples/batchnorm_numerical_error.wl
   It stops at the evaluation, with exit status 1 (netdsl stops a file at its first error);
   the rest of the page's examples are in examples/batchnorm.wl. *)

bn = NetInitialize@BatchNormalizationLayer["Input" -> 3, "MovingVariance" -> {1, -1, 1}]
(* BatchNormalizationLayer  (initialized)
     Parameters:  Epsilon 0.001, Momentum 0.9, Channels 3
     Arrays:      Scaling {3}, Biases {3}, MovingMean {3}, MovingVariance {3}
     Input:       vector of size 3
     Output:      vector of size 3 *)

(* Channel 2 divides by Sqrt[-1 + 0.001], which is not a real number: *)
bn[{1, 2, 3}]
(* printed on stderr, and the file stops here:
   examples/batchnorm_numerical_error.wl:17:1: BatchNormalizationLayer::netnan: A floating-point
   overflow, underflow, or division by zero occurred while evaluating the net. *)

Print["not reached"]
