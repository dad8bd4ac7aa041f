"""The built-ins whose modules are imported on first use, by module (``register_lazy``).

These modules need the layers, graph, runtime and net-file stages, which a process that
builds no net never loads (``netdsl -c 1``: start-up time, issue 14). Every layer type's
head is a built-in of ``nets``. tests/test_lazy_builtins.py checks this table against what
the modules register; when a built-in is added to one of them, add its name here.
"""

LAZY_BUILTINS: dict[str, tuple[str, ...]] = {
    "coders": (
        "NetDecoder", "NetEncoder",
    ),
    "netfiles": (),
    "netops": (
        "NetAppend", "NetDrop", "NetFlatten", "NetJoin", "NetMeasurements",
        "NetPortGradient", "NetPrepend", "NetReplace", "NetTake",
    ),
    "nets": (
        "AggregationLayer", "AttentionLayer", "BasicRecurrentLayer",
        "BatchNormalizationLayer", "CatenateLayer", "ConstantArrayLayer",
        "ConstantPlusLayer", "ConstantTimesLayer", "ConvolutionLayer",
        "CrossEntropyLossLayer", "DeconvolutionLayer", "DotLayer", "DotPlusLayer",
        "DropoutLayer", "ElementwiseLayer", "EmbeddingLayer", "FlattenLayer",
        "GatedRecurrentLayer", "Information", "LinearLayer", "LongShortTermMemoryLayer",
        "MeanSquaredLossLayer", "NetArray", "NetArrayLayer", "NetBidirectionalOperator",
        "NetChain", "NetExtract", "NetFoldOperator", "NetGraph", "NetInitialize",
        "NetInsertSharedArrays", "NetMapOperator", "NetPort", "NetReplacePart",
        "NetSharedArray", "NetTrain", "NormalizationLayer", "PaddingLayer",
        "ParametricRampLayer", "PartLayer", "PoolingLayer", "ReplicateLayer",
        "ReshapeLayer", "ResizeLayer", "SequenceAttentionLayer", "SequenceLastLayer",
        "SequenceMostLayer", "SequenceRestLayer", "SequenceReverseLayer", "SoftmaxLayer",
        "SummationLayer", "ThreadingLayer", "TotalLayer", "TransposeLayer",
        "UnitVectorLayer",
    ),
    "onnxfiles": (),
    "pictures": (),
}
