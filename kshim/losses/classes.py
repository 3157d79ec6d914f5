"""Loss classes: `LossFunctionWrapper` and one class per loss function, with Keras 3's arguments and names."""

from kshim.losses import functions as F
from kshim.losses.loss import Loss, squeeze_or_expand_to_same_rank
from kshim.losses.serialization import deserialize, serialize

_SUM = "sum_over_batch_size"


class LossFunctionWrapper(Loss):
    """A `Loss` around a per-sample function ``fn(y_true, y_pred, **kwargs)``."""

    def __init__(self, fn, reduction=_SUM, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise ValueError(f"{type(self).__name__}: `fn` must be a callable. Received: fn={fn!r}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs
        self._integer_targets = getattr(fn, "_kshim_integer_targets", False)

    def _call_with_mask(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        with_mask = getattr(self.fn, "_kshim_with_mask", None)
        if with_mask is not None:
            return with_mask(y_true, y_pred, **self._fn_kwargs)
        return self.fn(y_true, y_pred, **self._fn_kwargs), None

    def call(self, y_true, y_pred):
        return self._call_with_mask(y_true, y_pred)[0]

    def get_config(self):
        config = super().get_config()
        config["fn"] = serialize(self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config and not callable(config["fn"]):
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__}({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


class _Plain(LossFunctionWrapper):
    """A wrapper whose only configuration is name and reduction (its function is fixed by the class)."""

    _fn = None

    def __init__(self, reduction=_SUM, name=None, dtype=None):
        super().__init__(type(self)._fn, reduction=reduction, name=name or type(self)._default_name, dtype=dtype)

    def get_config(self):
        return Loss.get_config(self)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MeanSquaredError(_Plain):
    """mean((y_true - y_pred) ** 2) over the last axis."""
    _fn = staticmethod(F.mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_Plain):
    """mean(|y_true - y_pred|) over the last axis."""
    _fn = staticmethod(F.mean_absolute_error)
    _default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_Plain):
    """100 * mean(|(y_true - y_pred) / y_true|) over the last axis."""
    _fn = staticmethod(F.mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_Plain):
    """mean((log(y_pred + 1) - log(y_true + 1)) ** 2) over the last axis."""
    _fn = staticmethod(F.mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


class LogCosh(_Plain):
    """mean(log(cosh(y_pred - y_true))) over the last axis."""
    _fn = staticmethod(F.log_cosh)
    _default_name = "log_cosh"


class Poisson(_Plain):
    """mean(y_pred - y_true * log(y_pred + epsilon)) over the last axis."""
    _fn = staticmethod(F.poisson)
    _default_name = "poisson"


class KLDivergence(_Plain):
    """sum(y_true * log(y_true / y_pred)) over the last axis."""
    _fn = staticmethod(F.kl_divergence)
    _default_name = "kl_divergence"


class Hinge(_Plain):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis; 0/1 labels become -1/1."""
    _fn = staticmethod(F.hinge)
    _default_name = "hinge"


class SquaredHinge(_Plain):
    """mean(max(1 - y_true * y_pred, 0) ** 2) over the last axis; 0/1 labels become -1/1."""
    _fn = staticmethod(F.squared_hinge)
    _default_name = "squared_hinge"


class CategoricalHinge(_Plain):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)."""
    _fn = staticmethod(F.categorical_hinge)
    _default_name = "categorical_hinge"


class CosineSimilarity(LossFunctionWrapper):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over ``axis``."""

    def __init__(self, axis=-1, reduction=_SUM, name="cosine_similarity", dtype=None):
        axis = F.check_axis("CosineSimilarity", axis)
        super().__init__(F.cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        # Keras 3 leaves `axis` out of this config; kshim keeps it so a round trip loses nothing.
        return {**Loss.get_config(self), "axis": self.axis}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Huber(LossFunctionWrapper):
    """0.5 e**2 where |e| <= delta, else delta * |e| - 0.5 delta**2, averaged over the last axis."""

    def __init__(self, delta=1.0, reduction=_SUM, name="huber_loss", dtype=None):
        if not F._is_number(delta) or delta < 0:
            raise ValueError(f"Huber: `delta` must be a non-negative float. Received: delta={delta!r}")
        super().__init__(F.huber, name=name, reduction=reduction, dtype=dtype, delta=delta)
        self.delta = delta

    def get_config(self):
        # Keras 3 leaves `delta` out of this config; kshim keeps it so a round trip loses nothing.
        return {**Loss.get_config(self), "delta": self.delta}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _Crossentropy(LossFunctionWrapper):
    """Shared storage and config of the crossentropy classes: ``_fn``, ``_args`` (the config keys beyond name and
    reduction, in order)."""

    _args = ()

    def __init__(self, fn, reduction, name, dtype, **kwargs):
        owner = type(self).__name__
        if "label_smoothing" in kwargs:
            kwargs["label_smoothing"] = F.check_label_smoothing(owner, kwargs["label_smoothing"])
        if "axis" in kwargs:
            kwargs["axis"] = F.check_axis(owner, kwargs["axis"])
        if "gamma" in kwargs:
            F.check_gamma(owner, kwargs["gamma"])
        if not isinstance(kwargs.get("from_logits", False), bool):
            raise ValueError(f"{owner}: `from_logits` must be a bool. Received: from_logits={kwargs['from_logits']!r}")
        super().__init__(fn, name=name, reduction=reduction, dtype=dtype, **kwargs)
        for key in self._args:
            setattr(self, key, kwargs[key])

    def get_config(self):
        config = Loss.get_config(self)
        config.update({key: getattr(self, key) for key in self._args})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class BinaryCrossentropy(_Crossentropy):
    """Crossentropy of binary (0/1) labels against probabilities or logits (``from_logits``)."""

    _args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_SUM,
                 name="binary_crossentropy", dtype=None):
        super().__init__(F.binary_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(_Crossentropy):
    """Binary crossentropy down-weighting easy examples by ``(1 - p_t) ** gamma``."""

    _args = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha", "gamma")

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                 axis=-1, reduction=_SUM, name="binary_focal_crossentropy", dtype=None):
        super().__init__(F.binary_focal_crossentropy, reduction, name, dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(_Crossentropy):
    """Crossentropy of one-hot labels against class probabilities or logits (``from_logits``)."""

    _args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_SUM,
                 name="categorical_crossentropy", dtype=None):
        super().__init__(F.categorical_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(_Crossentropy):
    """Categorical crossentropy scaled by ``alpha * (1 - p) ** gamma``."""

    _args = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1, reduction=_SUM,
                 name="categorical_focal_crossentropy", dtype=None):
        super().__init__(F.categorical_focal_crossentropy, reduction, name, dtype, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_Crossentropy):
    """Crossentropy of integer labels against class probabilities or logits. Labels equal to ``ignore_class``
    are masked: they add 0 and are left out of the "sum_over_batch_size" divisor."""

    _args = ("from_logits", "ignore_class", "axis")

    def __init__(self, from_logits=False, ignore_class=None, reduction=_SUM, axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, int)):
            raise ValueError(
                "SparseCategoricalCrossentropy: `ignore_class` must be an integer or None. "
                f"Received: ignore_class={ignore_class!r}"
            )
        super().__init__(F.sparse_categorical_crossentropy, reduction, name, dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)


CLASSES = (
    BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy, CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Poisson, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh, Hinge,
    SquaredHinge, CategoricalHinge,
)
