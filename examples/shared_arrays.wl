(* BatchNormalizationLayer, Possible Issues: "The "MovingMean" and "MovingVariance"
   arrays of BatchNormalizationLayer cannot be shared".
   Run: netdsl examples/shared_arrays.wl *)

(* Create a BatchNormalizationLayer with shared arrays: NetInsertSharedArrays shares
   "Scaling" and "Biases" and leaves the moving statistics alone *)
bn = NetInsertSharedArrays[BatchNormalizationLayer[]]

(* Use it twice in a net *)
net = NetChain[{LinearLayer[4], bn, Ramp, LinearLayer[4], bn, LinearLayer[1]}, "Input" -> 2]

(* Train it on some data: y = x1 x2 *)
SeedRandom[1];
xs = RandomReal[{-1, 1}, {256, 2}];
ys = Map[{#[[1]] * #[[2]]} &, xs];
trained = NetTrain[net, xs -> ys, MaxTrainingRounds -> 30, RandomSeeding -> 1,
    TrainingProgressReporting -> None];

(* Extract the trained batch normalization layers *)
bn1 = NetExtract[trained, 2]
bn2 = NetExtract[trained, 5]

(* The "Scaling" and "Biases" arrays were shared, but the "MovingMean" and
   "MovingVariance" arrays were not: each copy of the layer normalises different
   activations and keeps its own statistics *)
Print["Scaling        ", Normal[NetExtract[bn1, "Scaling"]], "   ",
    Normal[NetExtract[bn2, "Scaling"]]];
Print["Biases         ", Normal[NetExtract[bn1, "Biases"]], "   ",
    Normal[NetExtract[bn2, "Biases"]]];
Print["MovingMean     ", Normal[NetExtract[bn1, "MovingMean"]], "   ",
    Normal[NetExtract[bn2, "MovingMean"]]];
Print["MovingVariance ", Normal[NetExtract[bn1, "MovingVariance"]], "   ",
    Normal[NetExtract[bn2, "MovingVariance"]]];
Print["same Scaling: ", NetExtract[bn1, "Scaling"] === NetExtract[bn2, "Scaling"],
    ", same Biases: ", NetExtract[bn1, "Biases"] === NetExtract[bn2, "Biases"],
    ", same MovingMean: ", NetExtract[bn1, "MovingMean"] === NetExtract[bn2, "MovingMean"],
    ", same MovingVariance: ",
    NetExtract[bn1, "MovingVariance"] === NetExtract[bn2, "MovingVariance"]];

(* The shared arrays are stored once, in the net *)
NetExtract[trained, NetSharedArray[All]]

(* Sharing a moving statistic explicitly is an error:
   BatchNormalizationLayer["MovingMean" -> NetSharedArray["m"]] gives
   BatchNormalizationLayer::noshare: The "MovingMean" array of BatchNormalizationLayer
   cannot be shared: it holds moving statistics that each copy of the layer keeps for
   itself. Only learned arrays can be shared. *)
