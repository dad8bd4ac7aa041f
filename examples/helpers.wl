(* helpers.wl: a Wolfram-style package of net-building helpers, and a net built from them.

     netdsl examples/helpers.wl          run it
     netdsl check examples/helpers.wl    check its nets' shapes without computing
     Get["helpers.wl"] or << helpers.wl  load it from another file next to it
*)

BeginPackage["NetHelpers`"];

denseBlock::usage = "denseBlock[n] is a LinearLayer[n] followed by an activation (option \
\"Activation\", Ramp by default) and, with \"Dropout\" -> p, a DropoutLayer[p].";
convBlock::usage = "convBlock[c] or convBlock[c, k] is a k x k convolution with c channels, \
batch normalization, Ramp and 2 x 2 max pooling.";
classifier::usage = "classifier[{c1, c2, ...}, classes, {channels, height, width}] stacks \
conv blocks, a dense block and a softmax over classes.";
netName::usage = "netName[channels, classes] is a file name describing the classifier.";
countLayers::usage = "countLayers[layers, head] counts the layers with that head.";

denseBlock::size = "Layer size `1` is not a positive integer.";

Begin["`Private`"];

Options[denseBlock] = {"Activation" -> Ramp, "Dropout" -> None};

denseBlock[n_Integer?Positive, OptionsPattern[]] :=
  Module[{act = OptionValue["Activation"], p = OptionValue["Dropout"]},
    Join[{LinearLayer[n]},
      If[act === None, {}, {act}],
      If[NumberQ[p], {DropoutLayer[p]}, {}]]]

denseBlock[n_, ___] := (Message[denseBlock::size, n]; $Failed)

convBlock[c_Integer, k_Integer : 3] := {
  ConvolutionLayer[c, {k, k}, "PaddingSize" -> Floor[k/2]],
  BatchNormalizationLayer[],
  Ramp,
  PoolingLayer[{2, 2}, 2]}

classifier[channels : {__Integer}, classes_Integer, input : {_Integer, _Integer, _Integer},
    opts : OptionsPattern[denseBlock]] :=
  NetChain[
    Flatten[{convBlock /@ channels, FlattenLayer[], denseBlock[64, opts],
      LinearLayer[classes], SoftmaxLayer[]}],
    "Input" -> input]

netName[channels_List, classes_Integer] :=
  "convnet-" <> StringRiffle[ToString /@ channels, "-"] <> "-" <> ToString[classes] <> ".wl"

countLayers[layers_List, head_Symbol] := Count[Flatten[layers], _head]

End[];

EndPackage[];

(* ---- using the package ---- *)

layers = Flatten[{convBlock /@ {8, 16}, denseBlock[64, "Dropout" -> 0.25]}];
{countLayers[layers, ConvolutionLayer], countLayers[layers, DropoutLayer]}

net = classifier[{8, 16}, 10, {1, 28, 28}, "Dropout" -> 0.25, "Activation" -> Tanh];
net = NetInitialize[net];
netName[{8, 16}, 10]

probabilities = net[RandomReal[1, {1, 28, 28}]];
Dimensions[probabilities]

denseBlock[-3]
