"""`SpectralNormalization`: a wrapper that divides a layer's kernel by its largest singular value, estimated by
power iteration (Miyato et al., 2018), Keras 3's arguments, weights and numbers."""

from kshim import initializers, ops
from kshim.layers.input_spec import InputSpec
from kshim.layers.wrapper import Wrapper
from kshim.variables import STRUCTURE


def _unit(x, epsilon=1e-7):
    """``x`` over its L2 norm (all axes), as Keras's ``normalize(x, axis=None)``: ``x * min(rsqrt(sum x^2),
    1 / epsilon)``."""
    inv = ops.minimum(ops.divide(1.0, ops.sqrt(ops.sum(ops.square(x)))), 1.0 / epsilon)
    return ops.multiply(x, inv)


class SpectralNormalization(Wrapper):
    """In training, runs ``power_iterations`` steps of power iteration on the wrapped layer's ``kernel`` (or
    ``embeddings``) reshaped to (-1, last axis), keeps the vector ``vector_u`` (a non-trainable (1, last axis)
    weight), and stores ``kernel / sigma`` as the kernel before calling the layer. At inference the layer runs with
    the kernel it has."""

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) or power_iterations <= 0:
            raise ValueError("SpectralNormalization: `power_iterations` must be a positive integer. Received: "
                             f"power_iterations={power_iterations!r}")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        if hasattr(self.layer, "kernel"):
            self.kernel = self.layer.kernel
        elif hasattr(self.layer, "embeddings"):
            self.kernel = self.layer.embeddings
        else:
            raise ValueError(f"SpectralNormalization: {type(self.layer).__name__} has no `kernel` nor `embeddings` "
                             "weight to normalize.")
        self.kernel_shape = tuple(self.kernel.shape)
        # Keras 3 tracks the kernel as this layer's own weight too (it is an attribute), before `vector_u`: the
        # weights read kernel, vector_u, then the wrapped layer's others, and a .keras file stores it twice.
        (self._own_trainable if self.kernel.trainable else self._own_non_trainable).append(self.kernel)
        STRUCTURE[0] += 1  # a variable tracked by hand: eager calls re-check the model
        self.vector_u = self.add_weight(shape=(1, self.kernel_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02), trainable=False,
                                        name="vector_u", dtype=self.kernel.dtype)

    def normalized_weights(self):
        """``(new vector_u, kernel / sigma)``."""
        weights = ops.reshape(self.kernel.value, (-1, self.kernel_shape[-1]))
        u = self.vector_u.value
        for _ in range(self.power_iterations):
            v = _unit(ops.matmul(u, ops.transpose(weights)))
            u = _unit(ops.matmul(v, weights))
        u, v = ops.stop_gradient(u), ops.stop_gradient(v)
        sigma = ops.matmul(ops.matmul(v, weights), ops.transpose(u))
        return u, ops.reshape(ops.divide(weights, sigma), self.kernel_shape)

    def call(self, inputs, training=False):
        if training:
            u, kernel = self.normalized_weights()
            untouched = ops.all(ops.equal(self.kernel.value, 0))  # an all-zero kernel stays as it is
            self.vector_u.assign(ops.where(untouched, self.vector_u.value, u))
            self.kernel.assign(ops.where(untouched, self.kernel.value, kernel))
        output = self.layer(inputs)
        return ops.cast(output, ops.dtype(inputs))

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
