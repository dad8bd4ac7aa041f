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


def _names(text: str) -> frozenset[str]:
    """The names in ``text``; lines starting with ``#`` are headings."""
    return frozenset(name for line in text.splitlines() if not line.startswith("#")
                     for name in line.split())


# Wolfram System functions that netdsl may not have: used around nets, and commonly used
# in general (a name is only reported while it is missing from the built-in table, so an
# entry that becomes a built-in stops being reported by itself).
KNOWN_WOLFRAM = _names("""
# nets and what is used around them
EmbeddingLayer LongShortTermMemoryLayer GatedRecurrentLayer BasicRecurrentLayer
AttentionLayer NetMapOperator NetFoldOperator NetPairEmbeddingOperator
DeconvolutionLayer ResizeLayer PaddingLayer PartLayer
SequenceLastLayer SequenceMostLayer SequenceRestLayer SequenceReverseLayer
SequenceAttentionLayer LayerNormalizationLayer
NormalizationLayer ImageAugmentationLayer
ConstantArrayLayer ConstantPlusLayer ConstantTimesLayer
NetEncoder NetDecoder NetModel NetTake NetDrop NetAppend
NetPrepend NetJoin NetFlatten NetRename NetDelete NetStateObject NetMeasurements
NetUnfold NetFoldOperator NetPortGradient NetExport NetImport
Classify Predict FunctionLayer ReplicateLayer TransposeLayer
AggregationLayer ExtractLayer CTCLossLayer RandomArrayLayer UnitVectorLayer
ParametricRampLayer SpatialTransformationLayer NetArrayLayer
ListPlot Plot ListLinePlot Show Graphics Image ImageData ImageResize Manipulate Dynamic
ResourceData ResourceObject ExampleData URLExecute URLDownload CloudDeploy
Interpolation NIntegrate Integrate D Solve NSolve FindRoot Simplify Expand Factor
# lists and arrays
TakeList FoldPair FoldPairList ArrayFlatten SubsetCases SubsetPosition
SubsetReplace ReplaceList Ratios Nearest NearestTo BinLists Subdivide CoordinateBounds
PositionIndex DeleteAdjacentDuplicates DuplicateFreeQ ArrayResample ArrayRules
SparseArray CenterArray BlockMap MovingMap MovingAverage MovingMedian
ExponentialMovingAverage FoldWhile FoldWhileList ComposeList KroneckerProduct Tr
Diagonal DiagonalMatrix LowerTriangularize UpperTriangularize SymmetricMatrixQ Det
Inverse LinearSolve Eigenvalues Eigenvectors Eigensystem SingularValueDecomposition
SingularValueList PseudoInverse MatrixPower MatrixExp MatrixRank NullSpace RowReduce
QRDecomposition CholeskyDecomposition LUDecomposition Orthogonalize Projection Cross
VectorAngle EuclideanDistance SquaredEuclideanDistance ManhattanDistance
ChessboardDistance HammingDistance EditDistance DistanceMatrix ArrayReduce
ListInterpolation FunctionInterpolation ReverseSort ReverseSortBy NumericalSort
AlphabeticSort Distribute Operate Curry OperatorApplied ReverseApplied Construct
AssociationMap KeyUnion KeyIntersection KeyComplement ApplyTo DeleteElements FlattenAt
Fourier InverseFourier FourierDCT Convolve ListDeconvolve ImageConvolve Threshold
PartitionsP IntegerPartitions PermutationCycles PermutationList FindPermutation
RandomPermutation Signature
# math
Erfc InverseErf Gamma LogGamma Beta PolyGamma Zeta Binomial Factorial Factorial2
Multinomial Fibonacci Prime PrimeQ PrimePi FactorInteger Divisors GCD LCM PowerMod
ModularInverse Sinh Cosh ArcSinh ArcCosh ArcTanh ArcSin ArcCos ArcTan Tan Cot Sec Csc
Log2 Log10 Re Im Conjugate Arg ComplexExpand Rationalize Numerator Denominator
IntegerPart FractionalPart IntegerLength BitAnd BitOr BitXor BitNot BitShiftLeft
BitShiftRight BitLength DigitCount Series Limit Sum Product NSum NProduct Together Apart
Collect Coefficient CoefficientList Exponent PolynomialQ Variables Reduce FindMinimum
FindMaximum NMinimize NMaximize Minimize Maximize FindFit Fit LinearModelFit
NonlinearModelFit LogitModelFit DSolve NDSolve FullSimplify Refine Assuming ArgMin
ArgMax MinValue MaxValue NArgMin NArgMax Eliminate Roots
# statistics
Histogram HistogramList Skewness Kurtosis GeometricMean HarmonicMean RootMeanSquare
MeanDeviation MedianDeviation InterquartileRange TrimmedMean Probability Expectation PDF
CDF InverseCDF Quartiles EstimatedDistribution FindDistributionParameters
SmoothKernelDistribution EmpiricalDistribution DistributionFitTest Moment CentralMoment
CorrelationDistance
# random
RandomPrime RandomWord RandomColor RandomImage RandomPoint RandomGraph RandomFunction
WeibullDistribution HypergeometricDistribution ZipfDistribution DirichletDistribution
MixtureDistribution TruncatedDistribution TransformedDistribution ProductDistribution
GumbelDistribution LogisticDistribution RayleighDistribution ParetoDistribution
TriangularDistribution NegativeBinomialDistribution MultinomialDistribution
CategoricalDistribution FRatioDistribution
# strings and text
StringRepeat StringReverse StringInsert StringTrim StringDelete StringExtract
StringReplacePart StringReplaceList TextWords TextSentences WordCount WordCounts LetterQ
DigitQ UpperCaseQ LowerCaseQ PrintableASCIIQ Capitalize Decapitalize Alphabet
LetterNumber FromLetterNumber StringToByteArray ByteArrayToString ByteArray BaseEncode
BaseDecode Hash Compress Uncompress TextString IntegerName RomanNumeral
LongestCommonSubsequence LongestCommonSequence SequenceAlignment TextCases WordList
DictionaryLookup WordStem DeleteStopwords Transliterate CharacterCounts
LetterCounts StringFormat StringPartition SyntaxQ StringForm ToBoxes
# dates and quantities
DateList DatePlus DateDifference AbsoluteTime UnixTime FromUnixTime TimeObject DayName
DateValue UnitConvert QuantityMagnitude QuantityUnit Interpreter SemanticImport
# images, audio
ImageDimensions ImageChannels ColorConvert ImageAdjust ImageCrop ImagePad ImageRotate
ImageReflect ImageTake ImageAssemble ImagePartition Binarize Blur GaussianFilter
EdgeDetect ImageApply ImageCollage ColorNegate Thumbnail Rasterize ImageIdentify Audio
AudioData Sound Play Video SpeechSynthesize ImageType ImageColorSpace ConformImages
# graphics and interfaces
Plot3D ListPlot3D ListLogPlot LogPlot ListLogLogPlot DensityPlot ContourPlot ArrayPlot
MatrixPlot BarChart PieChart BoxWhiskerChart DateListPlot ParametricPlot Graphics3D
GraphPlot Graph TreeForm Framed Panel Pane Animate ListAnimate Button Slider Checkbox
InputField PopupMenu DynamicModule Refresh Monitor ProgressIndicator PrintTemporary
CellPrint NotebookWrite EvaluationNotebook CreateDocument Speak Beep EmitSound
ListContourPlot ListDensityPlot Histogram3D SmoothHistogram
# files, system, external
FileNames FileNameSplit FileNameTake FileNameDrop CreateDirectory DeleteDirectory
DeleteFile CopyFile RenameFile FileByteCount FileDate FileHash SetDirectory
ResetDirectory ParentDirectory NotebookDirectory DirectoryQ
BinaryRead BinaryWrite BinaryReadList StreamPosition Run RunProcess StartProcess
Environment SetEnvironment SystemInformation URLRead URLFetch URLSubmit HTTPRequest
CloudGet CloudPut CloudObject Databin ServiceConnect SendMail LocalObject
CopyToClipboard Save DumpSave Encode Install LibraryFunctionLoad LibraryLoad
CompiledFunction FunctionCompile ExternalEvaluate StartExternalSession ParallelMap
ParallelTable ParallelDo ParallelSum ParallelEvaluate Parallelize LaunchKernels
CloseKernels DistributeDefinitions ParallelSubmit WaitAll SetSharedVariable
RepeatedTiming TimeConstrained MemoryConstrained MemoryInUse MaxMemoryUsed ByteCount
LeafCount Abort AbortProtect CheckAbort Interrupt Goto Label TimeUsed SessionTime Names
Context Contexts Remove Definition FullDefinition Trace TracePrint Stack EchoFunction On
Off Interpretation Format MakeBoxes RawBoxes Inactivate Activate Query FileTemplate
TemplateObject
# nets and machine learning
NetTrainResultsObject NetExternalObject CompiledLayer SequenceIndicesLayer
PredictorMeasurements ClassifierFunction PredictorFunction FeatureExtraction
FeatureExtract FeatureSpacePlot DimensionReduction DimensionReduce ClusterClassify
FindClusters ClusteringComponents AnomalyDetection SequencePredict ActiveClassification
ResourceFunction ResourceSearch
""")

# Wolfram heads that are data, not functions: never reported.
INERT_HEADS = frozenset("""
Missing Failure Indeterminate ComplexInfinity DirectedInfinity Infinity Complex Rational
Interval Quantity Entity HoldForm Defer Unevaluated Placeholder Scaled Tiny Small Medium Large
Inherited Automatic None All Null True False Row Column Grid Style Labeled Legended Tooltip
Dispatch Key Span RGBColor GrayLevel Hue Directive Point Line Disk Rectangle Text
DateObject Dataset
""".split())   # DateObject: what Now gives; Dataset[...]: data NetTrain reads

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
