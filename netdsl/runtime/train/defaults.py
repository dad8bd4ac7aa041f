"""NetTrain's options and their defaults, as Wolfram names them: what registering the
NetTrain built-in needs, without importing the training code (start-up time)."""

from __future__ import annotations

from ...expr import Symbol

S = Symbol

OPTION_DEFAULTS = {
    "BatchSize": S("Automatic"), "MaxTrainingRounds": S("Automatic"), "TimeGoal": S("Automatic"),
    "Method": S("Automatic"), "LearningRate": S("Automatic"), "ValidationSet": S("None"),
    "RandomSeeding": 1234, "LearningRateMultipliers": S("Automatic"),
    "TrainingProgressReporting": S("Automatic"), "LossFunction": S("Automatic"),
    "TargetDevice": "CPU", "WorkingPrecision": "Real32", "L2Regularization": S("None"),
    "GradientClipping": S("None"), "WeightClipping": S("None"),
    "TrainingStoppingCriterion": S("None"), "TrainingProgressFunction": S("None"),
    "TrainingProgressMeasurements": S("None"),
    "TrainingProgressCheckpointing": S("None"), "TrainingUpdateSchedule": S("Automatic"),
}
