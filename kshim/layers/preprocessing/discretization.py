"""`Discretization`: bucket numbers by boundaries, given or learned by ``adapt`` (Keras 3's quantile summary)."""

import numpy as np

from kshim import ops
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers.preprocessing.category_encoding import (check_not_sparse, check_output_mode, encode_categorical,
                                                          encoded_shape)
from kshim.layers.preprocessing.normalization import adapt_batches


def summarize(values, epsilon):
    """A (2, k) summary [boundaries, weights] of ``values`` with about ``1 / epsilon`` buckets."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(np.size(values) / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def compress_summary(summary, epsilon):
    """Interpolate ``summary`` down to about ``1 / epsilon`` buckets."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_weight_percents = cum_weights / cum_weights[-1]
    new_bins = np.interp(percents, cum_weight_percents, summary[0])
    cum_weights = np.interp(percents, cum_weight_percents, cum_weights)
    new_weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((new_bins, new_weights)).astype("float32")


def merge_summaries(a, b, epsilon):
    merged = np.concatenate((a, b), axis=1)
    merged = np.take(merged, np.argsort(merged[0]), axis=1)
    return compress_summary(merged, epsilon)


class Discretization(Layer):
    """Bucket index of each value: ``i`` such that ``boundaries[i-1] <= x < boundaries[i]`` (numpy's
    ``digitize``), then optionally one-hot, multi-hot or count encoded over ``len(boundaries) + 1`` buckets.
    Give ``bin_boundaries``, or ``num_bins`` and call ``adapt(data)`` for approximate quantiles."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 dtype=None, name=None, **kwargs):
        super().__init__(dtype=dtype, name=name, **kwargs)
        check_not_sparse("Discretization", sparse)
        self.output_mode = check_output_mode("Discretization", output_mode, ("int", "one_hot", "multi_hot",
                                                                               "count"))
        if num_bins is not None and (isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 0):
            raise ValueError(f"Discretization: `num_bins` must be an integer >= 0. Received: num_bins={num_bins!r}")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Discretization: set `num_bins` or `bin_boundaries`, not both. Received: "
                             f"num_bins={num_bins}, bin_boundaries={bin_boundaries}")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization: set either `num_bins` or `bin_boundaries`.")
        if bin_boundaries is not None:
            bounds = [float(b) for b in bin_boundaries]
            if any(b2 < b1 for b1, b2 in zip(bounds, bounds[1:])):
                raise ValueError(f"Discretization: `bin_boundaries` must be sorted. Received: "
                                 f"bin_boundaries={bin_boundaries}")
            bin_boundaries = bounds
        self.bin_boundaries = bin_boundaries
        self.num_bins = num_bins
        self.epsilon = float(epsilon)
        self.sparse = False
        self.summary = None if bin_boundaries else np.array([[], []], dtype="float32")
        self.built = True

    @property
    def output_dtype(self):
        return "int32" if self.output_mode == "int" else self.compute_dtype

    def adapt(self, data, steps=None):
        """Learn ``num_bins`` quantile buckets from ``data`` (an array, a tensor or an iterable of batches)."""
        if self.num_bins is None:
            raise ValueError("Discretization: cannot adapt a layer created with `bin_boundaries`; create it with "
                             "`num_bins` instead.")
        self.summary = np.array([[], []], dtype="float32")
        _, batches = adapt_batches(data, "Discretization")
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            self.summary = merge_summaries(summarize(np.asarray(batch, dtype="float32"), self.epsilon),
                                           self.summary, self.epsilon)
        self.bin_boundaries = compress_summary(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError("Discretization: pass `bin_boundaries`, or call `adapt(data)`, before using the layer.")
        x = ops.cast(inputs, "float32") if ops.dtype(inputs) != "float32" else inputs
        if self.bin_boundaries:
            bounds = np.asarray(self.bin_boundaries, dtype="float32")
            index = ops.sum(ops.cast(ops.greater_equal(ops.expand_dims(x, -1), bounds), "int32"), axis=-1)
        else:
            index = ops.zeros(ops.shape(x), dtype="int32")
        return encode_categorical(index, self.output_mode, len(self.bin_boundaries) + 1, self.output_dtype)

    def compute_output_shape(self, input_shape):
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        return encoded_shape(input_shape, self.output_mode, depth)

    def compute_output_spec(self, inputs_spec):
        return KerasTensor(self.compute_output_shape(inputs_spec.shape), self.output_dtype)

    def get_config(self):
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode, "sparse": self.sparse}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            bounds = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = bounds
            return layer
        return super().from_config(config)
