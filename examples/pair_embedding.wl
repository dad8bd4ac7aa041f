(* Learning an embedding from pairs: NetPairEmbeddingOperator and FunctionLayer.

   Pairs of UCI digits (data/digits.npz) are labelled True when the two digits differ
   and False when they are the same; NetTrain attaches a ContrastiveLossLayer to the
   pair operator's distance, so same digits are pulled together and different ones
   pushed at least the margin apart. The embedding net ends in a FunctionLayer that
   scales each embedding to unit length (compiled to the layers that compute it).
   Run: netdsl examples/pair_embedding.wl   (a few seconds) *)

data = Import["data/digits.npz"];
images = Map[Flatten, data["images"] / 16.];        (* 1,797 vectors of 64 pixels *)
labels = data["labels"];
SeedRandom[3];
pairs[n_, from_] := Module[{i = RandomInteger[from, n], j = RandomInteger[from, n]},
    Thread[Transpose[{images[[i]], images[[j]]}] -> MapThread[Unequal, {labels[[i]], labels[[j]]}]]];
train = pairs[4000, {1, 1497}];
test = pairs[500, {1498, 1797}];

unit = FunctionLayer[#/Sqrt[Total[#^2] + 10^-6] &];   (* each embedding scaled to length 1 *)
embed = NetChain[{LinearLayer[32], Ramp, LinearLayer[8], unit}, "Input" -> 64];
net = NetPairEmbeddingOperator[embed];
Print["squared distances range over [0, 4]: embeddings have unit length"];
trained = NetTrain[net, train, MaxTrainingRounds -> 15, BatchSize -> 64,
    LossFunction -> ContrastiveLossLayer[1.], RandomSeeding -> 1234];

d = trained[test[[All, 1]]];
same = Pick[d, test[[All, 2]], False]; different = Pick[d, test[[All, 2]], True];
Print["held-out mean squared distance, same digit: ", Mean[same]];
Print["held-out mean squared distance, different digits: ", Mean[different]];
Print["a same-digit pair is closer than a different-digit pair in this fraction of cases: ",
    N[Mean[Flatten[Outer[Boole[#1 < #2] &, same, different]]]]];
Print["the embedding net alone: ", Dimensions[NetExtract[trained, "Net"][images[[1 ;; 3]]]]];
