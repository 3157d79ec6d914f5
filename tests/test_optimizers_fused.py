"""The fused optimizer path: every optimizer's `update` runs over all variables of one dtype at once with
`kshim.ops.foreach` (torch: ``torch._foreach_*``; SGD, Adam (AdamW) and RMSprop in place inside a train step that
donates its inputs). It must give the numbers of the single-tensor ops bit for bit: the reference runs the same
`update` with each list op replaced by a loop of the matching `kshim.ops` function, one variable at a time."""

import numpy as np
import pytest

import kshim
from kshim import ops
from kshim import optimizers as O
from kshim.ops import foreach
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
    ("SGD", {"momentum": 0.5, "gradient_accumulation_steps": 2}), ("Adamax", {}), ("Nadam", {}), ("Adagrad", {}),
    ("Adadelta", {"learning_rate": 1.0}), ("Ftrl", {"l1_regularization_strength": 0.01, "beta": 0.1}), ("Lion", {}),
]


def _single_tensor(op):
    def each(xs, ys=None, inplace=False):
        if ys is None:
            return [op(x) for x in xs]
        return [op(x, y) for x, y in zip(xs, ys if isinstance(ys, (list, tuple)) else [ys] * len(xs))]
    return each


def _per_variable(m):
    """Replace the list ops by loops of single-tensor ops, and run the update one variable at a time."""
    for name, op in (("add", ops.add), ("subtract", ops.subtract), ("multiply", ops.multiply),
                     ("divide", ops.divide), ("maximum", ops.maximum), ("sqrt", ops.sqrt)):
        m.setattr(foreach, name, _single_tensor(op))
    m.setattr(foreach, "blocked", lambda fn, lists, n: list(fn(*lists))[:n])
    real_groups = fused_update.groups
    m.setattr(fused_update, "groups", lambda opt, indices: [[x] for g in real_groups(opt, indices) for x in g])


def _run(name, kwargs, fused, donated, compiled, monkeypatch):
    with monkeypatch.context() as m:
        if not fused:
            _per_variable(m)
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
def test_fused_update_equals_the_single_tensor_ops_bit_for_bit(name, kwargs, donated, monkeypatch):
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
            _per_variable(monkeypatch)
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


def test_a_subclass_with_its_own_update_step_keeps_its_math():
    variables = [Variable(w) for w in W0]
    grads = [np.ones(s, "float32") for s in SHAPES]
    for cls in (O.Adam, O.AdamW, O.SGD, O.RMSprop, O.Nadam, O.Adagrad, O.Ftrl):
        assert not fused_update.has_own_update_step(cls()), cls.__name__

    class MyAdam(O.Adam):  # a subclass written the Keras way keeps its math
        def update_step(self, gradient, variable, learning_rate):
            variable.assign(ops.subtract(variable.value, gradient))

    opt = MyAdam()
    opt.build(variables)
    assert fused_update.has_own_update_step(opt)
    opt.apply(grads, variables)
    np.testing.assert_array_equal(variables[1].numpy(), W0[1] - 1)
    trainable, _ = opt.stateless_apply(read_values(opt.variables), grads, read_values(variables))
    np.testing.assert_array_equal(ops.convert_to_numpy(trainable[1]), W0[1] - 2)
    np.testing.assert_array_equal(variables[1].numpy(), W0[1] - 1)  # stateless: the variable kept its value


def test_a_gradient_of_another_shape_is_broadcast_to_its_variable():
    bad = [np.full(s, 0.5, "float32") for s in SHAPES]
    bad[1] = np.full((1,), 0.5, "float32")  # broadcasts against its variable
    results = []
    for grads in (bad, [np.broadcast_to(g, s).copy() for g, s in zip(bad, SHAPES)]):
        variables = [Variable(w) for w in W0]
        opt = O.Adam()
        opt.build(variables)
        opt.apply(grads, variables)
        results.append([v.numpy() for v in variables])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(results[0][1], W0[1])


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
    _per_variable(monkeypatch)
    for a, b in zip(train(), fused):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["Adam", "Nadam", "RMSprop"])
def test_variables_of_several_dtypes_are_updated_by_dtype_like_one_at_a_time(name, monkeypatch):
    """float64 variables (float16 where a backend has no float64) between float32 ones: one update per dtype,
    each with its own scalars (Nadam's running product is advanced once per step, not once per group). Not
    float16 on torch: its in-place ``_foreach_mul_`` by a Python number rounds the number to float16 first."""
    other = "float64" if Variable(np.zeros(1), dtype="float64").dtype == "float64" else "float16"
    dtypes = ["float32", other, "float32", other]
    results = []
    for per_variable in (False, True):
        with monkeypatch.context() as m:
            if per_variable:
                _per_variable(m)
            variables = [Variable(w.astype(d), dtype=d) for w, d in zip(W0, dtypes)]
            opt = getattr(O, name)(learning_rate=0.01)
            for grads in GRADS:
                opt.apply([g.astype(d) for g, d in zip(grads, dtypes)], variables)
            results.append([v.numpy() for v in variables + opt.variables])
    for a, b in zip(*results):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert results[0][1].dtype == other and not np.array_equal(results[0][1], W0[1].astype(other))
