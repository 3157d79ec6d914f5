"""``model(x)`` on a built model runs a compiled forward from the second call of a signature on backends that
offer one (jax; `kshim.models.eager_call`), and is never stale: new weights, a changed structure, a changed
``trainable`` flag or ``training`` value, and the non-trainable state a call updates. On torch the cache is off
and the same tests check the eager calls."""

import numpy as np
import pytest

import kshim
from kshim import layers
from kshim.models import eager_call

RTOL, ATOL = 1e-5, 1e-6
X = np.random.RandomState(0).rand(8, 4).astype("float32")


def _mlp():
    kshim.utils.set_random_seed(1)
    return kshim.Sequential([kshim.Input((4,)), layers.Dense(4, activation="relu"), layers.Dense(4)])


def _reference(weights, x, relu_out=False):
    h = np.maximum(x @ weights[0] + weights[1], 0)
    y = h @ weights[2] + weights[3]
    return np.maximum(y, 0) if relu_out else y


def _call(model, x=X, **kwargs):
    """``model(x)`` on a backend tensor (a new one each call), the input of the cache's fast path; lists of
    arrays go in as numpy arrays."""
    if isinstance(x, np.ndarray):
        x = kshim.ops.convert_to_tensor(x)
    return kshim.ops.convert_to_numpy(model(x, **kwargs))


def _fast(model):
    """Whether the last call left the fast path armed (jax), or None where there is no cache (torch)."""
    calls = eager_call._BY_MODEL[model]
    return calls.last is not None if calls.enabled else None


def _warm(model, x=X, **kwargs):
    """Enough calls for the compiled forward to be used (where there is one) from the next call."""
    for _ in range(eager_call.EAGER_CALLS):
        _call(model, x, **kwargs)


def _compiled(model):
    calls = eager_call._BY_MODEL[model]
    return calls.compiled if calls.enabled else None


def test_backend_offers_the_cache_where_expected():
    model = _mlp()
    _call(model)
    assert eager_call._BY_MODEL[model].enabled == (kshim.backend.backend() == "jax")


def test_repeated_calls_use_the_compiled_forward_and_see_new_weights():
    model = _mlp()
    for _ in range(eager_call.EAGER_CALLS + 2):
        np.testing.assert_allclose(_call(model), _reference(model.get_weights(), X), rtol=RTOL, atol=ATOL)
    assert _compiled(model) in (1, None)
    new = [w + 0.5 for w in model.get_weights()]
    model.set_weights(new)
    np.testing.assert_allclose(_call(model), _reference(new, X), rtol=RTOL, atol=ATOL)
    model.layers[1].kernel.assign(np.eye(4, dtype="float32"))
    new[2] = np.eye(4, dtype="float32")
    np.testing.assert_allclose(_call(model), _reference(new, X), rtol=RTOL, atol=ATOL)
    assert _compiled(model) in (1, None)  # values are arguments: no new trace for new weights


def test_fit_is_seen_and_new_shapes_get_their_own_forward():
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    _warm(model)
    model.fit(X, X, epochs=2, batch_size=4, verbose=0)
    np.testing.assert_allclose(_call(model), _reference(model.get_weights(), X), rtol=RTOL, atol=ATOL)
    x3 = X[:3]
    for _ in range(eager_call.EAGER_CALLS + 1):
        np.testing.assert_allclose(_call(model, x3), _reference(model.get_weights(), x3), rtol=RTOL, atol=ATOL)
    assert _compiled(model) in (2, None)


def test_added_and_popped_layers_are_seen():
    model = _mlp()
    _warm(model), _call(model)
    model.add(layers.Activation("relu"))  # no weights: only the structure tells
    for _ in range(eager_call.EAGER_CALLS + 1):
        np.testing.assert_allclose(_call(model), _reference(model.get_weights(), X, relu_out=True), rtol=RTOL,
                                   atol=ATOL)
    model.pop()
    np.testing.assert_allclose(_call(model), _reference(model.get_weights(), X), rtol=RTOL, atol=ATOL)
    assert _compiled(model) in (2, None)


def test_a_changed_trainable_flag_is_seen():
    model = _mlp()
    _warm(model), _call(model)
    model.layers[0].trainable = False  # the values move from the trainable list to the non-trainable one
    new = [w * 2 - 0.3 for w in model.get_weights()]
    model.set_weights(new)
    for _ in range(eager_call.EAGER_CALLS + 1):
        np.testing.assert_allclose(_call(model), _reference(new, X), rtol=RTOL, atol=ATOL)


def test_training_flag_dropout_and_batch_norm_state():
    kshim.utils.set_random_seed(2)
    model = kshim.Sequential([kshim.Input((4,)), layers.BatchNormalization(momentum=0.5), layers.Dropout(0.5)])
    x = X * 4 + 1
    for _ in range(eager_call.EAGER_CALLS + 1):
        np.testing.assert_allclose(_call(model, x, training=False), _call(model, x), rtol=RTOL, atol=ATOL)
    masks = []
    for i in range(eager_call.EAGER_CALLS + 2):
        out = _call(model, x, training=True)
        bn = model.layers[0]
        # moving statistics follow every training call, through the compiled forward too
        mean = np.asarray(bn.moving_mean.numpy())
        expected = x.mean(0)
        np.testing.assert_allclose(mean, expected * (1 - 0.5 ** (i + 1)), rtol=1e-5, atol=1e-6)
        masks.append(out == 0)
    assert not np.array_equal(masks[-1], masks[-2])  # the seed state advances: a new mask each call
    assert _compiled(model) in (3, None)  # training None, False and True: three forwards
    for m in masks:
        assert 0.2 < m.mean() < 0.8


def test_activity_losses_keep_the_eager_call():
    kshim.utils.set_random_seed(3)
    model = kshim.Sequential([kshim.Input((4,)), layers.Dense(2, activity_regularizer="l2")])
    for scale in (1.0, 2.0, 3.0, 4.0, 5.0):
        out = _call(model, X * scale)
        expected = 0.01 * np.sum(out ** 2) / len(out)  # Keras divides by the batch size
        np.testing.assert_allclose(float(kshim.ops.convert_to_numpy(model.losses[0])), expected, rtol=1e-5)
    assert _compiled(model) in (0, None)


def test_functional_two_inputs():
    kshim.utils.set_random_seed(4)
    a, b = kshim.Input((4,)), kshim.Input((4,))
    model = kshim.Model([a, b], layers.Dense(3)(layers.Concatenate()([a, b])))
    w = model.get_weights()
    for _ in range(eager_call.EAGER_CALLS + 1):
        out = _call(model, [X, X * 2])
        np.testing.assert_allclose(out, np.concatenate([X, X * 2], 1) @ w[0] + w[1], rtol=RTOL, atol=ATOL)
    assert _compiled(model) in (1, None)


def test_numpy_inputs_use_the_compiled_forward_too():
    model = _mlp()
    for _ in range(eager_call.EAGER_CALLS + 2):
        out = kshim.ops.convert_to_numpy(model(X))
        np.testing.assert_allclose(out, _reference(model.get_weights(), X), rtol=RTOL, atol=ATOL)
    assert _compiled(model) in (1, None)


def test_the_fast_path_sees_a_variable_trainable_flag_and_a_replaced_sublayer():
    # The fast path skips walking the model while nothing that could change it happened (kshim.variables.STRUCTURE).
    class Net(kshim.Model):
        def __init__(self):
            super().__init__()
            self.body = layers.Dense(4, activation="relu")
            self.head = layers.Dense(4)

        def call(self, x):
            return self.head(self.body(x))

    kshim.utils.set_random_seed(5)
    model = Net()
    _call(model)  # builds it
    _warm(model), _call(model), _call(model)  # eager calls, the trace, then a call that arms the fast path
    assert _fast(model) in (True, None)
    np.testing.assert_allclose(_call(model), _reference(model.get_weights(), X), rtol=RTOL, atol=ATOL)
    model.body.kernel.trainable = False  # one variable moves to the non-trainable list
    for _ in range(eager_call.EAGER_CALLS + 1):
        np.testing.assert_allclose(_call(model), _reference(model.get_weights(), X), rtol=RTOL, atol=ATOL)
    assert [v.name for v in model.non_trainable_variables] == ["kernel"]
    model.head = layers.Dense(4, activation="relu")  # a new sub-layer, built by the next call
    _call(model)
    model.head.set_weights([np.eye(4, dtype="float32") * 2, np.full(4, -0.1, "float32")])
    weights = [model.body.kernel.numpy(), model.body.bias.numpy(), *model.head.get_weights()]
    for _ in range(eager_call.EAGER_CALLS + 1):
        np.testing.assert_allclose(_call(model), _reference(weights, X, relu_out=True), rtol=RTOL, atol=ATOL)
    _call(model)
    assert _fast(model) in (True, None)
    # another shape or training value leaves the fast path, and comes back to it
    np.testing.assert_allclose(_call(model, X[:2]), _reference(weights, X[:2], relu_out=True), rtol=RTOL,
                               atol=ATOL)
    np.testing.assert_allclose(_call(model, training=True), _reference(weights, X, relu_out=True), rtol=RTOL,
                               atol=ATOL)


def test_the_fast_path_sees_a_frozen_batch_norm():
    # A BatchNormalization whose `trainable` is False runs in inference mode even in a training call (Keras 3):
    # freezing it after the fast path is armed must change what the next call computes.
    kshim.utils.set_random_seed(6)
    model = kshim.Sequential([kshim.Input((4,)), layers.BatchNormalization(momentum=0.0)])
    x = X * 3 + 2
    for _ in range(eager_call.EAGER_CALLS + 3):
        out = _call(model, x, training=True)
    assert _fast(model) in (True, None)
    np.testing.assert_allclose(out.mean(0), np.zeros(4), atol=1e-5)  # normalized with the batch's statistics
    bn = model.layers[0]
    bn.trainable = False
    mean, var = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    frozen = _call(model, x, training=True)
    np.testing.assert_allclose(frozen, (x - mean) / np.sqrt(var + bn.epsilon), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mean)  # and its statistics stay
