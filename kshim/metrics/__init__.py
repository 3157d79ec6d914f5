"""kshim.metrics: Keras 3's metrics, written on kshim.ops, with a stateful and a pure (stateless) API.

``get`` resolves names as ``keras.metrics.get`` does; `compile_metric` and `resolve_accuracy` resolve what
``model.compile(metrics=[...])`` is given, including the "accuracy"/"acc" shortcut.
"""

import inspect

from kshim.metrics.accuracy_metrics import (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy, accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy, top_k_categorical_accuracy,
)
from kshim.losses.functions import (  # noqa: F401  (keras.metrics re-exports these loss functions)
    binary_focal_crossentropy, categorical_focal_crossentropy, huber,
)
from kshim.metrics.auc import AUC
from kshim.metrics.correlation_metrics import (
    ConcordanceCorrelation, PearsonCorrelation, concordance_correlation, pearson_correlation,
)
from kshim.metrics.confusion_metrics import (
    FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives, TruePositives,
)
from kshim.metrics.f_score_metrics import F1Score, FBetaScore
from kshim.metrics.iou_metrics import IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from kshim.metrics.metric import Metric
from kshim.metrics.r2_score import R2Score
from kshim.metrics.probabilistic_metrics import (
    BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, Hinge, KLDivergence, Poisson,
    SparseCategoricalCrossentropy, SquaredHinge, binary_crossentropy, categorical_crossentropy,
    categorical_hinge, hinge, kl_divergence, poisson, sparse_categorical_crossentropy, squared_hinge,
)
from kshim.metrics.reduction_metrics import Mean, MeanMetricWrapper, Sum
from kshim.metrics.regression_metrics import (
    CosineSimilarity, LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
    MeanSquaredLogarithmicError, RootMeanSquaredError, cosine_similarity, log_cosh, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error,
)
from kshim.metrics.serialization import deserialize, serialize
from kshim.registry import METRIC_FUNCTIONS, METRICS
from kshim.serialization import with_registration
from kshim.common.naming import to_snake_case
from kshim.common.suggest import unknown_name_error

ALL_OBJECTS = (
    Metric, Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError,
    AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives, TruePositives,
    Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    F1Score, FBetaScore,
    IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
    R2Score, PearsonCorrelation, ConcordanceCorrelation,
)

# Names -> classes, as keras.metrics.get: class names, their snake_case forms, and the short aliases.
METRICS.register_all(ALL_OBJECTS, {to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
METRICS.register_all((), {
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "acc": Accuracy,  # kshim extra: keras.metrics.get("acc") fails, but compile(metrics=["acc"]) is common
})

# The function forms, by name (for MeanMetricWrapper configs).
METRIC_FUNCTIONS.register_all((
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy, mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, log_cosh, cosine_similarity, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy, kl_divergence, poisson, hinge, squared_hinge, categorical_hinge,
    pearson_correlation, concordance_correlation, binary_focal_crossentropy, categorical_focal_crossentropy, huber,
))
ALL_OBJECTS_DICT = dict(METRICS.items())  # read-only views, kept for backward compatibility
FUNCTIONS = dict(METRIC_FUNCTIONS.items())


def _suggestion_names(identifier):
    """The registry names in the spelling the user chose: class names for CamelCase, snake_case otherwise
    (so each suggestion appears once)."""
    camel = identifier != identifier.lower()
    return [k for k in METRICS.names() if (k != k.lower()) == camel]


def get(identifier):
    """A metric from a name ("accuracy", "mse", "AUC", ...), a config dict, a Metric or a function.

    Names give a new instance of the class with its default configuration; Metric instances and plain
    functions are returned as they are. Unknown names raise a ValueError with close suggestions.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = METRICS.find(identifier)
        if cls is None:
            raise unknown_name_error("metric", identifier, _suggestion_names(identifier), arg="metrics")
        return cls()
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, Metric) or callable(identifier):
        return identifier
    raise ValueError(f"get: could not interpret the metric identifier. Received: identifier={identifier!r}")


def _last_dim(shape):
    shape = tuple(shape)
    return shape[-1] if shape else None


def is_binary_or_sparse_categorical(y_true_shape, y_pred_shape):
    """(is_binary, is_sparse_categorical) from the label and prediction shapes, as Keras 3's compile decides.

    Binary: the predictions' last axis has size 1. Sparse categorical: the labels have lower rank than the
    predictions, or the labels' last axis has size 1 while the predictions' is larger.
    """
    t_rank, p_rank = len(tuple(y_true_shape)), len(tuple(y_pred_shape))
    t_last, p_last = _last_dim(y_true_shape), _last_dim(y_pred_shape)
    is_binary = p_last == 1
    is_sparse = t_rank < p_rank or (t_last == 1 and p_last is not None and p_last > 1)
    return is_binary, is_sparse


def resolve_accuracy(name, loss_identifier=None, y_true_shape=(), y_pred_shape=()):
    """The accuracy metric ``compile(metrics=["accuracy"])`` picks, named ``name`` as the user spelled it.

    Keras 3 decides from the shapes alone (``loss_identifier`` is accepted for callers that have it, but,
    as in Keras 3, it does not change the choice): BinaryAccuracy when the predictions' last axis is 1,
    SparseCategoricalAccuracy for integer labels (see `is_binary_or_sparse_categorical`), else
    CategoricalAccuracy. Returns None when ``name`` is not "accuracy"/"acc" (any letter case).
    """
    if not isinstance(name, str) or name.lower() not in ("accuracy", "acc"):
        return None
    is_binary, is_sparse = is_binary_or_sparse_categorical(y_true_shape, y_pred_shape)
    if is_binary:
        return BinaryAccuracy(name=name)
    if is_sparse:
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def compile_metric(identifier, y_true_shape, y_pred_shape):
    """The Metric that ``compile(metrics=[identifier])`` uses, as Keras 3's ``compile_utils.get_metric``.

    "accuracy"/"acc" go through `resolve_accuracy`; other identifiers through `get`. A plain function is
    wrapped in MeanMetricWrapper. A string identifier becomes the metric's name (so "mse" logs as "mse").
    """
    if identifier is None:
        raise ValueError("compile_metric: expected a metric. Received: identifier=None")
    metric = resolve_accuracy(identifier, None, y_true_shape, y_pred_shape) if isinstance(identifier, str) else None
    if metric is None:
        metric = get(identifier)
    if isinstance(identifier, str):
        name = identifier
    elif isinstance(metric, Metric):
        name = metric.name
    else:
        name = to_snake_case(getattr(metric, "__name__", None) or type(metric).__name__)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric)
    metric.name = name
    return metric


METRICS.bind(base=Metric, module="keras.metrics", serialize=lambda metric: with_registration(serialize(metric), metric),
             deserialize=deserialize, get=get)


__all__ = [cls.__name__ for cls in ALL_OBJECTS] + list(FUNCTIONS) + [
    "get", "serialize", "deserialize", "resolve_accuracy", "compile_metric", "is_binary_or_sparse_categorical",
    "ALL_OBJECTS", "ALL_OBJECTS_DICT",
]
