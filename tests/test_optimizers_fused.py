"""The fused optimizer path: SGD, Adam (and AdamW) and RMSprop update every variable at once with
`kshim.ops.foreach` (torch: ``torch._foreach_*``, in place inside a train step that donates its inputs). It must
give the per-variable ``update_step`` numbers bit for bit, and step aside whenever it cannot."""

import numpy as np
import pytest

import kshim
from kshim import ops
from kshim import optimizers as O
from kshim.optimizers import fused_update
from kshim.variables import Variable, read_values

_rng = np.random.default_rng(7)
SHAPES = [(5, 7), (7,), (7, 3), (3,)]
W0 = [_rng.normal(size=s).astype("float32") for s in SHAPES]
GRADS = [[_rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(5)]

CONFIGS = [
    ("Adam", {}), ("Adam", {"amsgrad": True}), ("AdamW", {"weight_decay": 0.05}),
    ("Adam", {"clipnorm": 0.5, "learning_rate": 0.01}), ("SGD", {}), ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}), ("RMSprop", {}), ("RMSprop", {"momentum": 0.3}),
    ("RMSprop", {"centered": True, "momentum": 0.5}), ("Adam", {"use_ema": True, "ema_overwrite_frequency": 2}),
    ("SGD", {"momentum": 0.5, "gradient_accumulation_steps": 2}),
]


def _run(name, kwargs, fused, donated, compiled, monkeypatch):
    with monkeypatch.context() as m:
        if not fused:
            m.setattr(fused_update, "applies", lambda opt, grads, variables: False)
        variables = [Variable(w) for w in W0]
        opt = getattr(O, name)(**kwargs)
        opt.build(variables)
        apply = opt._stateless_apply_donated if donated else opt.stateless_apply
        step = ops.compile_step(apply, donate_argnums=(0, 2) if donated else (),
                                jit_compile=None if compiled else False)
        trainable, state = read_values(variables), read_values(opt.variables)
        for grads in GRADS:
            trainable, state = step(state, [ops.convert_to_tensor(g) for g in grads], trainable)
        return [ops.convert_to_numpy(v) for v in trainable + state]


@pytest.mark.parametrize("name,kwargs", CONFIGS)
@pytest.mark.parametrize("donated", [False, True])
def test_fused_update_equals_the_per_variable_update_bit_for_bit(name, kwargs, donated, monkeypatch):
    reference = _run(name, kwargs, False, False, True, monkeypatch)
    fused = _run(name, kwargs, True, donated, True, monkeypatch)
    assert len(reference) == len(fused)
    for a, b in zip(reference, fused):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(reference[0], W0[0])  # the variables moved


@pytest.mark.parametrize("name,kwargs", [("Adam", {"amsgrad": True}), ("SGD", {"momentum": 0.9, "nesterov": True}),
                                         ("RMSprop", {"centered": True, "momentum": 0.5})])
def test_large_variables_updated_in_pieces_match_too(name, kwargs, monkeypatch):
    """A variable above the piece size (2**18 elements) is updated in slices (torch), next to small ones."""
    rng = np.random.default_rng(2)
    shapes = [(700, 400), (400,), (3, 5)]
    w0 = [rng.normal(size=s).astype("float32") for s in shapes]
    grads = [[rng.normal(size=s).astype("float32") for s in shapes] for _ in range(3)]
    results = []
    for fused in (False, True):
        if not fused:
            monkeypatch.setattr(fused_update, "applies", lambda opt, g, v: False)
        else:
            monkeypatch.undo()
        variables = [Variable(w) for w in w0]
        opt = getattr(O, name)(**kwargs)
        opt.build(variables)
        step = ops.compile_step(opt._stateless_apply_donated, donate_argnums=(0, 2))
        trainable, state = read_values(variables), read_values(opt.variables)
        for g in grads:
            trainable, state = step(state, [ops.convert_to_tensor(x) for x in g], trainable)
        results.append([ops.convert_to_numpy(v) for v in trainable + state])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_fused_path_is_taken_for_the_fused_optimizers_only():
    variables = [Variable(w) for w in W0]
    grads = [np.ones(s, "float32") for s in SHAPES]
    for cls, fused in ((O.Adam, True), (O.AdamW, True), (O.SGD, True), (O.RMSprop, True), (O.Nadam, False),
                       (O.Adagrad, False)):
        opt = cls()
        opt.build(variables)
        assert fused_update.applies(opt, grads, variables) is fused, cls.__name__

    class MyAdam(O.Adam):  # a subclass with its own math keeps it
        def update_step(self, gradient, variable, learning_rate):
            variable.assign(ops.subtract(variable.value, gradient))

    opt = MyAdam()
    opt.build(variables)
    assert not fused_update.applies(opt, grads, variables)
    opt.apply(grads, variables)
    np.testing.assert_array_equal(variables[1].numpy(), W0[1] - 1)


def test_a_gradient_of_another_shape_takes_the_per_variable_path(monkeypatch):
    bad = [np.full(s, 0.5, "float32") for s in SHAPES]
    bad[1] = np.full((1,), 0.5, "float32")  # broadcasts against its variable
    results = []
    for fused in (True, False):
        if not fused:
            monkeypatch.setattr(fused_update, "applies", lambda opt, grads, variables: False)
        variables = [Variable(w) for w in W0]
        opt = O.Adam()
        opt.build(variables)
        if fused:
            assert not fused_update.applies(opt, bad, variables)
        opt.apply(bad, variables)
        results.append([v.numpy() for v in variables])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_stateless_apply_leaves_its_inputs_alone_and_a_shared_tensor_is_updated_once():
    variables = [Variable(w) for w in W0]
    opt = O.Adam(learning_rate=0.1)
    opt.build(variables)
    trainable, state = read_values(variables), read_values(opt.variables)
    copies = [ops.convert_to_numpy(ops.copy(t)) for t in trainable + state]
    grads = [ops.convert_to_tensor(g) for g in GRADS[0]]
    opt.stateless_apply(state, grads, trainable)
    for t, c in zip(trainable + state, copies):
        np.testing.assert_array_equal(ops.convert_to_numpy(t), c)
    # Two variables holding one tensor: the donated path must not write it twice.
    a = Variable(np.ones((2,), "float32"))
    b = Variable(np.ones((2,), "float32"))
    b._value = a._value
    opt = O.SGD(learning_rate=0.5)
    opt.build([a, b])
    new, _ = opt._stateless_apply_donated(read_values(opt.variables), [np.ones(2, "float32")] * 2, [a.value, b.value])
    np.testing.assert_array_equal(ops.convert_to_numpy(new[0]), [0.5, 0.5])
    np.testing.assert_array_equal(ops.convert_to_numpy(new[1]), [0.5, 0.5])


def test_fit_with_the_fused_path_matches_the_per_variable_path(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 5)).astype("float32"), rng.normal(size=(64, 2)).astype("float32")

    def train():
        kshim.utils.set_random_seed(3)
        model = kshim.Sequential([kshim.Input((5,)), kshim.layers.Dense(4, activation="tanh"), kshim.layers.Dense(2)])
        model.compile(optimizer=O.Adam(0.01), loss="mse")
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        return model.get_weights() + [v.numpy() for v in model.optimizer.variables]

    fused = train()
    monkeypatch.setattr(fused_update, "applies", lambda opt, grads, variables: False)
    for a, b in zip(train(), fused):
        np.testing.assert_array_equal(a, b)
