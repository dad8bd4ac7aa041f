(* A character-level LSTM: it reads 16 characters and predicts the next one, trained on
   the opening of Lewis Carroll's "Alice's Adventures in Wonderland" (1865, public domain;
   data/alice.txt, 1.4 KB), then writes text by feeding its own predictions back.

   Characters become indices with ToCharacterCode (codes 32..126 -> 1..95), not with
   NetEncoder["Characters"]: the sequence input is "Varying", so windows of any length work.
   Run: netdsl examples/char_lstm.wl   (about 20 seconds) *)

text = StringReplace[Import["data/alice.txt"], "\n" -> " "];
codes = ToCharacterCode[text] - 31;                 (* printable ASCII: indices 1..95 *)
window = 16;
data = Table[codes[[i ;; i + window - 1]] -> codes[[i + window]],
             {i, 1, Length[codes] - window, 2}];
Print["characters: ", Length[codes], ", training windows: ", Length[data]];

net = NetChain[{
    EmbeddingLayer[24, 95, "Input" -> "Varying"],
    LongShortTermMemoryLayer[96],
    SequenceLastLayer[],
    LinearLayer[95], SoftmaxLayer[]}];

trained = NetTrain[net, data, MaxTrainingRounds -> 20, BatchSize -> 32,
                   RandomSeeding -> 1];

(* greedy sampling: the most probable next character, appended, 120 times *)
next[seq_] := First[First[Position[#, Max[#]]]] &[trained[Take[seq, -window]]];
start = ToCharacterCode["Alice was beginn"] - 31;
sample = Nest[Append[#, next[#]] &, start, 120];
Print["sample: ", FromCharacterCode[sample + 31]];

(* the same net reads a short prompt and a long one in one batch *)
probs = trained[{ToCharacterCode["the Rab"] - 31, ToCharacterCode["Alice was beginning to"] - 31}];
Print["prompts evaluated together: ", Length[probs], " distributions of ", Length[First[probs]]];
