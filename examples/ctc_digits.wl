(* Reading strings of digits with CTCLossLayer: no per-column labels needed.

   Strings of one to four UCI digits (data/digits.npz, 8x8 pixels each) are laid side by
   side and read column by column: an input of 8, 16, 24 or 32 columns of 8 pixels. The
   targets are just the digits of each string, not where they are. A bidirectional GRU
   gives a probability vector per column over the ten digits and a blank (the last
   class); CTCLossLayer sums over every alignment of the target to the columns, and the
   "CTCBeamSearch" decoder reads the most likely digits back ("BeamSize" -> 1: the best
   class per column, repeats merged, blanks removed). Digits 1..1400 make the training
   strings, 1401..1797 the held-out ones.
   Run: netdsl examples/ctc_digits.wl   (about 15 s) *)

data = Import["data/digits.npz"];
images = N[data["images"][[All, 1]] / 16];                (* 1,797 images of 8 x 8 *)
labels = ToString /@ (data["labels"] - 1);                 (* "0" .. "9" *)
SeedRandom[7];
strip[ids_] := Transpose[Join[Sequence @@ images[[ids]], 2]];   (* columns, left to right *)
example[pool_] := With[{ids = RandomChoice[pool, RandomInteger[{1, 4}]]},
    strip[ids] -> labels[[ids]]];
train = Table[example[Range[1400]], 1200];
test = Table[example[Range[1401, 1797]], 200];

net = NetChain[{NetBidirectionalOperator[GatedRecurrentLayer[48]],
    NetMapOperator[LinearLayer[11]], SoftmaxLayer[]},
  "Input" -> {"Varying", 8},
  "Output" -> NetDecoder[{"CTCBeamSearch", CharacterRange["0", "9"], "BeamSize" -> 1}]];
trained = NetTrain[net, train, LossFunction -> CTCLossLayer[], MaxTrainingRounds -> 20,
  LearningRate -> 0.005, BatchSize -> 32, RandomSeeding -> 3];

read = trained[Keys[test]];
Print["held-out strings read exactly: ", N[Mean[Boole[MapThread[SameQ, {read, Values[test]}]]]]];
Print["first three: ", StringJoin /@ read[[;; 3]], " (true: ", StringJoin /@ Values[test[[;; 3]]], ")"];
(* a wider beam keeps several readings: the three most likely, with -Log P for each *)
beam = NetReplacePart[trained, "Output" -> NetDecoder[{"CTCBeamSearch", CharacterRange["0", "9"],
    "BeamSize" -> 10}]];
Print["three best readings of the second: ", beam[Keys[test[[2]]], "TopNegativeLogLikelihoods" -> 3]];
