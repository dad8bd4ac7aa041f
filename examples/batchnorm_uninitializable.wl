(* BatchNormalizationLayer, Possible Issues:
   BatchNormalizationLayer cannot be initialized until all its input and output dimensions are
   known.

   Run it with:    netdsl examples/batchnorm_uninitializable.wl
   It stops at NetInitialize, with exit status 1 (netdsl stops a file at its first error);
   the rest of the page's examples are in examples/batchnorm.wl. *)

bn = BatchNormalizationLayer[]
(* BatchNormalizationLayer  (uninitialized)
     Parameters:  Epsilon 0.001, Momentum 0.9, Channels (inferred)
     Arrays:      Scaling {n}, Biases {n}, MovingMean {n}, MovingVariance {n}
     Input:       array
     Output:      array *)

(* The number of channels, and so the size of every array, is not known yet: *)
NetInitialize[bn]
(* printed on stderr, and the file stops here (the position is where the layer was written):
   examples/batchnorm_uninitializable.wl:9:6: NetInitialize::nfspec: Cannot initialize net:
   parameter "Channels" is not fully specified. Give the shape of the input, e.g. "Input" -> 3
   for vectors or "Input" -> {3, 32, 32} for images, on the net or its first layer. *)

Print["not reached"]
