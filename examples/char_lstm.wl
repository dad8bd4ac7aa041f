(* A character-level LSTM: it reads a window of text and predicts the next character,
   trained on the opening of Lewis Carroll's "Alice's Adventures in Wonderland" (1865,
   public domain; data/alice.txt, 1.4 KB), then writes text by feeding its own
   predictions back.

   The input port carries NetEncoder["Characters"] (tab, newline and the 95 printable ASCII
   characters: 97 codes) without "TargetLength", so it takes strings of any length (a
   "Varying" port): the training windows are 12 and 16 characters long, mixed in each
   batch. The output's "Class" decoder over the same 97 characters turns probabilities
   into a character, and NetTrain takes characters as the targets.
   Run: netdsl examples/char_lstm.wl   (about 2 seconds on an idle machine) *)

text = StringReplace[Import["data/alice.txt"], "\n" -> " "];
chars = Characters[FromCharacterCode[Join[{9, 10}, Range[32, 126]]]];   (* the encoder's *)
data = Table[With[{w = If[EvenQ[i], 16, 12]},
                  StringTake[text, {i, i + w - 1}] -> StringTake[text, {i + w}]],
             {i, 1, StringLength[text] - 16, 2}];
Print["characters: ", StringLength[text], ", training windows: ", Length[data]];

net = NetChain[{
    EmbeddingLayer[24],
    LongShortTermMemoryLayer[96],
    SequenceLastLayer[],
    LinearLayer[Length[chars]], SoftmaxLayer[]},
    "Input" -> NetEncoder["Characters"],
    "Output" -> NetDecoder[{"Class", chars}]];

trained = NetTrain[net, data, MaxTrainingRounds -> 20, BatchSize -> 32, RandomSeeding -> 1];

(* greedy sampling: the most probable next character, appended, 120 times *)
sample = Nest[# <> trained[StringTake[#, -16]] &, "Alice was beginn", 120];
Print["sample: ", sample];

(* sampling instead of the most probable character: "RandomSample" draws by the
   probabilities, here at temperature 0.5 (sharper); each run writes other text *)
sampled = Nest[# <> trained[StringTake[#, -16], {"RandomSample", 0.5}] &,
               "Alice was beginn", 60];
Print["sampled at temperature 0.5: ", sampled];

(* the same net reads a short prompt and a long one in one batch *)
Print["prompts evaluated together: ", trained[{"the Rab", "Alice was beginning t"}]];
probs = trained["the Rab", "Probabilities"];
Print["distribution over ", Length[probs], " characters"];

(* one character at a time: NetStateObject keeps the LSTM's state between calls, so each
   step reads only the newest character (the state carries the rest) *)
obj = NetStateObject[trained];
streamed = NestList[obj, obj["Alice was beginn"], 40];
Print["streamed: Alice was beginn", StringJoin[streamed]];
