(* Net operations: taking nets apart and putting them together, gradients, measurements,
   and NetTrain's stopping criterion and progress function.
   Run: netdsl examples/net_operations.wl *)

(* A classifier on three overlapping point clouds in the plane *)
SeedRandom[3];
centers = {{0., 1.}, {1., -0.5}, {-1., -0.5}};
xs = Flatten[Table[c + RandomReal[{-1.2, 1.2}, 2], {60}, {c, centers}], 1];
ys = Flatten[Table[k, {60}, {k, 3}]];

net = NetChain[<|"hidden" -> LinearLayer[16], "act" -> Tanh, "logits" -> LinearLayer[3],
    "probs" -> SoftmaxLayer[]|>, "Input" -> 2]

(* Early stopping: at most 200 rounds, stop when the validation loss has not improved
   for 5 rounds; a progress function records the round loss every 10 rounds *)
results = NetTrain[net, xs -> ys, All, MaxTrainingRounds -> 200, LearningRate -> 0.02,
    ValidationSet -> Scaled[0.2], RandomSeeding -> 1, TrainingProgressReporting -> None,
    TrainingStoppingCriterion -> <|"Criterion" -> "Loss", "Patience" -> 5|>,
    TrainingProgressFunction -> {(Print["round ", #["Round"], "  loss ", #["RoundLoss"]] &),
        "Interval" -> {10, "Rounds"}}];
Print["stopped: ", results["ReasonTrainingStopped"], " after ", results["TotalRounds"],
    " rounds; best validation round ", results["BestValidationRound"]];
Print["method ", results["OptimizationMethod"], ", learning rate ",
    results["InitialLearningRate"], " -> ", results["FinalLearningRate"]];
trained = results["TrainedNet"];

(* Measurements, in one vectorised pass over the data *)
Print["accuracy ", NetMeasurements[trained, xs -> ys, "Accuracy"]];
Print["per-class recall ", NetMeasurements[trained, xs -> ys, "Recall"]];
Print["confusion matrix ", NetMeasurements[trained, xs -> ys, "ConfusionMatrix"]];

(* Taking the net apart: the features before the classifier, and the logits *)
features = NetTake[trained, "act"];
Print["features of the first point: ", features[xs[[1]]]];
logits = NetDrop[trained, -1];
Print["logits: ", logits[xs[[1]]]];
Print["biases of the third layer: ", trained[[3, "Biases"]], " (also trained[[\"logits\", \"Biases\"]])"];

(* Putting it together again: a graph with a residual connection (Plus as a layer) *)
res = NetGraph[<|"f" -> features, "g" -> LinearLayer[16], "sum" -> Plus,
    "out" -> NetChain[{LinearLayer[3], SoftmaxLayer[]}]|>,
    {"f" -> "g", "f" -> "sum", "g" -> "sum", "sum" -> "out"}];
Print["flattened layers: ", Information[NetFlatten[NetInitialize[res]], "LayersCount"]];
Print["arrays: ", Information[NetInitialize[res], "ArraysTotalElementCount"]];

(* Gradients: how the probability of class 1 moves with the input *)
p1 = NetAppend[trained, "p1" -> LinearLayer[1, "Weights" -> {{1., 0., 0.}}, "Biases" -> {0.}]];
Print["d p1 / d input at the first point: ", p1[xs[[1]], NetPortGradient["Input"]]];
