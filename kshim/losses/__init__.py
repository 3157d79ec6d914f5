"""kshim.losses: Keras 3's loss functions and classes, and the registry behind ``compile(loss=...)``.

``get(identifier)`` accepts what Keras 3's does: None, a function or class name ("mean_squared_error",
"MeanSquaredError"), a short alias ("mse", "mae", "mape", "msle", "kld", "bce" and their upper-case forms), a
config dict, a callable or a `Loss` instance. kshim also accepts the Keras 2 names "logcosh" and
"kullback_leibler_divergence". A class name gives an instance; a function name gives the function.
"""

from kshim.losses.classes import (  # noqa: F401
    CLASSES, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
    CategoricalHinge, CosineSimilarity, Hinge, Huber, KLDivergence, LogCosh, LossFunctionWrapper,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError, Poisson,
    SparseCategoricalCrossentropy, SquaredHinge,
)
from kshim.losses.functions import (  # noqa: F401
    FUNCTIONS, binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
    categorical_focal_crossentropy, categorical_hinge, cosine_similarity, hinge, huber, kl_divergence, kld,
    kullback_leibler_divergence, log_cosh, logcosh, mae, mape, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, mse, msle, poisson, sparse_categorical_crossentropy,
    squared_hinge,
)
from kshim.losses.loss import Loss, reduce_weighted_values  # noqa: F401
from kshim.losses.set_losses import (  # noqa: F401
    CTC, SET_CLASSES, SET_FUNCTIONS, CategoricalGeneralizedCrossEntropy, Circle, Dice, Tversky,
    categorical_generalized_cross_entropy, circle, ctc, dice, tversky,
)
from kshim.losses.serialization import deserialize, get, serialize
from kshim.registry import LOSSES

LOSSES.register_all(FUNCTIONS + CLASSES + SET_FUNCTIONS + SET_CLASSES + (Loss, LossFunctionWrapper), {
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "kld": kl_divergence, "KLD": kl_divergence,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "logcosh": log_cosh, "kullback_leibler_divergence": kl_divergence,
})
LOSSES.bind(base=Loss, module="keras.losses", serialize=serialize, deserialize=deserialize, get=get)


__all__ = [
    "Loss", "LossFunctionWrapper", "get", "serialize", "deserialize", "reduce_weighted_values",
    *(cls.__name__ for cls in CLASSES + SET_CLASSES), *(fn.__name__ for fn in FUNCTIONS + SET_FUNCTIONS),
    "kld", "kullback_leibler_divergence", "logcosh", "mae", "mape", "mse", "msle",
]
