"""`Layer.path` and `Variable.path` against real Keras 3: the same model code, written once, gives the same paths
for Sequential, subclassed and Functional models and their nestings (a Sequential's and a subclassed model's layers
are prefixed by the model's name, a Functional model's are not)."""

import os

import numpy as np
import pytest

import kshim

os.environ.setdefault("KERAS_BACKEND", "jax")  # as the other parity tests: one Keras backend per pytest run
keras = pytest.importorskip("keras")


def _sequential_with_input(k):
    return k.Sequential([k.Input((3,)), k.layers.Dense(4, name="d1"), k.layers.Dense(2, name="d2")], name="seq")


def _sequential_built_by_call(k):
    model = k.Sequential([k.layers.Dense(4, name="d1"), k.layers.Dense(2, name="d2")], name="late")
    model(np.ones((1, 3), "float32"))
    return model


def _nested_sequential(k):
    inner = k.Sequential([k.layers.Dense(4, name="d1")], name="inner")
    return k.Sequential([k.Input((3,)), inner, k.layers.Dense(2, name="d2")], name="outer")


def _subclassed(k):
    class Block(k.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d1 = k.layers.Dense(4, name="d1")
            self.d2 = k.layers.Dense(3, name="d2")

        def call(self, x):
            return self.d2(self.d1(x))

    class Net(k.Model):
        def __init__(self):
            super().__init__(name="net")
            self.blk = Block(name="blk")
            self.head = k.Sequential([k.layers.Dense(2, name="h")], name="head")
            self.mha = k.layers.MultiHeadAttention(num_heads=2, key_dim=2, name="mha")

        def call(self, x):
            h = self.blk(x)
            return self.head(self.mha(h[:, None, :], h[:, None, :])[:, 0])

    model = Net()
    model(np.ones((2, 3), "float32"))
    return model


def _functional_with_nested_models(k):
    inner = _sequential_with_input(k)
    x = k.Input((3,), name="x")
    h = k.layers.Dense(3, name="pre")(x)
    h = inner(h)
    out = k.layers.Dense(1, name="post")(k.layers.LayerNormalization(name="norm")(h))
    return k.Model(x, out, name="fn")


MODELS = [_sequential_with_input, _sequential_built_by_call, _nested_sequential, _subclassed,
          _functional_with_nested_models]


def _paths(module, build):
    module.utils.set_random_seed(0)
    model = build(module)
    layer_paths = {}

    def walk(layer):
        for sub in getattr(layer, "layers", None) or getattr(layer, "_layers", None) or ():
            layer_paths[sub.name] = sub.path
            walk(sub)

    walk(model)
    return [w.path for w in model.weights], layer_paths


@pytest.mark.parametrize("build", MODELS, ids=lambda f: f.__name__.strip("_"))
def test_weight_paths_match_keras(build):
    ours, _ = _paths(kshim, build)
    theirs, _ = _paths(keras, build)
    assert ours == theirs


@pytest.mark.parametrize("build", [_sequential_with_input, _nested_sequential, _functional_with_nested_models],
                         ids=lambda f: f.__name__.strip("_"))
def test_layer_paths_match_keras(build):
    _, ours = _paths(kshim, build)
    _, theirs = _paths(keras, build)
    # Keras 3's path is None until a layer is built (an InputLayer never is); kshim's is defined from the start,
    # so a DTypePolicyMap can be looked up before building.
    unbuilt = {name for name, path in theirs.items() if path is None}
    assert unbuilt <= {"x"}
    assert {n: p for n, p in ours.items() if n not in unbuilt} == {n: p for n, p in theirs.items() if n not in unbuilt}


def test_a_policy_map_reaches_the_layers_of_a_sequential_by_their_keras_paths():
    policy_map = kshim.dtype_policies.DTypePolicyMap(default_policy="float32")
    policy_map["seq/d1"] = "bfloat16"
    model = kshim.Sequential([kshim.Input((3,)), kshim.layers.Dense(4, name="d1", dtype=policy_map),
                              kshim.layers.Dense(2, name="d2", dtype=policy_map)], name="seq")
    assert [layer.compute_dtype for layer in model.layers] == ["bfloat16", "float32"]
