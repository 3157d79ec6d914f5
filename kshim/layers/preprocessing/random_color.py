"""Random photometric augmentation: `RandomContrast`, `RandomBrightness` (one random factor per image)."""

from kshim import ops
from kshim.layers.preprocessing.image_layer import RandomImageLayer, check_number, factor_pair


def _value_range(cls, value_range):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(f"{cls}: `value_range` must be a pair of numbers (low, high). "
                         f"Received: value_range={value_range!r}")
    low, high = sorted(check_number(cls, "value_range", v) for v in value_range)
    return low, high


class RandomContrast(RandomImageLayer):
    """``(x - mean) * c + mean`` per image and channel (mean over height and width), with ``c`` drawn in
    [1 - lower, 1 + upper]; a number ``factor`` f gives lower = upper = f (Keras's documented range). The result
    is clipped to ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(factor, (tuple, list)):
            self.factor = factor_pair("RandomContrast", "factor", factor, 0.0, 1.0)
        else:
            f = factor_pair("RandomContrast", "factor", factor, 0.0, 1.0, symmetric_low=0.0)[1]
            self.factor = (f, f)
        self.value_range = _value_range("RandomContrast", value_range)

    def transform(self, images):
        batch = ops.shape(images)[0]
        factor = self.uniform((batch, 1, 1, 1), 1.0 - self.factor[0], 1.0 + self.factor[1])
        h_axis, w_axis = self._hw_axes(4)
        mean = ops.mean(images, axis=(h_axis, w_axis), keepdims=True)
        out = ops.add(ops.multiply(ops.subtract(images, mean), factor), mean)
        return ops.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomBrightness(RandomImageLayer):
    """Adds ``delta * (high - low)`` to each image, ``delta`` drawn in ``factor`` ([-f, f] for a number f, or a
    pair in [-1, 1]), then clips to ``value_range`` = (low, high)."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = factor_pair("RandomBrightness", "factor", factor, -1.0, 1.0)
        self.value_range = _value_range("RandomBrightness", value_range)

    def transform(self, images):
        batch = ops.shape(images)[0]
        low, high = self.value_range
        delta = ops.multiply(self.uniform((batch, 1, 1, 1), self.factor[0], self.factor[1]), high - low)
        return ops.clip(ops.add(images, delta), low, high)

    def get_config(self):
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}
