"""Warnings for heads netdsl does not know: a likely misspelling, or a Wolfram function
netdsl lacks.

``NetInitalize[net]`` would otherwise stay unevaluated and fail later with a
puzzling message; ``EmbeddingLayer[...]`` would be "not a layer or net". The
check consults the built-in table (which layers register into) each time, so
the list of unsupported names shrinks by itself as layers are added.
"""

from __future__ import annotations

import difflib

from .registry import REGISTRY

# Wolfram functions people use around nets that netdsl may not have (a name is only
# reported while it is missing from the built-in table).
KNOWN_WOLFRAM = frozenset("""
EmbeddingLayer LongShortTermMemoryLayer GatedRecurrentLayer BasicRecurrentLayer
AttentionLayer NetMapOperator NetFoldOperator NetPairEmbeddingOperator
DeconvolutionLayer ResizeLayer PaddingLayer PartLayer
SequenceLastLayer SequenceMostLayer SequenceRestLayer SequenceReverseLayer
SequenceAttentionLayer LayerNormalizationLayer
NormalizationLayer ImageAugmentationLayer
ConstantArrayLayer ConstantPlusLayer ConstantTimesLayer
NetEncoder NetDecoder NetModel NetTake NetDrop NetAppend
NetPrepend NetJoin NetFlatten NetRename NetDelete NetStateObject NetMeasurements
NetUnfold NetFoldOperator NetPortGradient NetExport NetImport ClassifierMeasurements
Classify Predict FunctionLayer ReplicateLayer TransposeLayer
AggregationLayer ExtractLayer CTCLossLayer RandomArrayLayer UnitVectorLayer
ParametricRampLayer SpatialTransformationLayer NetArrayLayer
ListPlot Plot ListLinePlot Show Graphics Image ImageData ImageResize Manipulate Dynamic
ResourceData ResourceObject ExampleData URLExecute URLDownload CloudDeploy
Interpolation NIntegrate Integrate D Solve NSolve FindRoot Simplify Expand Factor
""".split())

# Wolfram heads that are data, not functions: never reported.
INERT_HEADS = frozenset("""
Missing Failure Indeterminate ComplexInfinity DirectedInfinity Infinity Complex Rational
Interval Quantity Entity HoldForm Defer Unevaluated Placeholder Scaled Tiny Small Medium Large
Inherited Automatic None All Null True False Row Column Grid Style Labeled Legended Tooltip
Dispatch Key Span RGBColor GrayLevel Hue Directive Point Line Disk Rectangle Text
""".split())

_SUGGEST_CUTOFF = 0.85


def unknown_head_warning(name: str) -> str | None:
    """The warning for a head with no built-in and no definition, or None."""
    if name in REGISTRY or name in INERT_HEADS or "$" in name:
        return None
    if name in KNOWN_WOLFRAM:
        return f"{name} is not supported by netdsl; it stays unevaluated."
    if len(name) < 5 or not name[0].isupper():
        return None
    close = difflib.get_close_matches(name, list(REGISTRY), n=1, cutoff=_SUGGEST_CUTOFF)
    if close:
        return f"{name} is not a known function; did you mean {close[0]}?"
    return None
