"""Keras 3's public names outside ops and layers: the top level, `kshim.tree`, utils, config and backend names.

`kshim.tree` is checked against Keras 3's own ``keras.tree`` (when installed) on a table of structures."""

import collections
import os
import warnings

import numpy as np
import pytest

import kshim
from kshim import tree

Point = collections.namedtuple("Point", ["x", "y"])
STRUCTURES = {
    "leaf": 3,
    "none": None,
    "list": [1, [2, 3], (4,)],
    "dict_sorted": {"b": 1, "a": [2, 3], "c": {"z": 4, "y": 5}},
    "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
    "namedtuple": Point(x=[1, 2], y={"k": 3}),
    "with_none": [None, (1, None), {"a": None}],
    "empty": [(), {}, []],
}


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("keras")


# Keras 3 documents sorted-key order for dicts at every depth. Keras on its torch backend flattens a nested dict in
# insertion order instead ([2, 3, 1, 4, 5] here), so when an earlier test file imported Keras with torch, the dict
# cases are checked against the documented order rather than against that Keras.
SORTED_FLAT = {"dict_sorted": [2, 3, 1, 5, 4]}


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_tree_matches_keras(keras, name):
    s = STRUCTURES[name]
    if name in SORTED_FLAT:
        assert tree.flatten(s) == SORTED_FLAT[name]
        if keras.backend.backend() != "jax":
            pytest.skip("Keras on torch flattens nested dicts in insertion order; checked against the documented order")
    assert tree.flatten(s) == keras.tree.flatten(s)
    assert tree.flatten_with_path(s) == keras.tree.flatten_with_path(s)
    assert tree.is_nested(s) == keras.tree.is_nested(s)
    flat = [f"v{i}" for i in range(len(tree.flatten(s)))]
    ours, theirs = tree.pack_sequence_as(s, flat), keras.tree.pack_sequence_as(s, flat)
    assert ours == theirs and type(ours) is type(theirs)
    if isinstance(ours, dict):
        assert list(ours) == list(theirs)
    assert tree.map_structure(lambda v: ("m", v), s) == keras.tree.map_structure(lambda v: ("m", v), s)
    assert tree.map_structure(str, s, none_is_leaf=False) == keras.tree.map_structure(str, s, none_is_leaf=False)
    assert tree.lists_to_tuples(s) == keras.tree.lists_to_tuples(s)
    for top_down in (True, False):
        seen_ours, seen_theirs = [], []
        tree.traverse(seen_ours.append, s, top_down=top_down)
        keras.tree.traverse(seen_theirs.append, s, top_down=top_down)
        assert seen_ours == seen_theirs


def test_tree_traverse_replaces_and_map_to_none(keras):
    s = [(1, 2), [3], {"a": 4}]
    for fn in (lambda x: "T" if isinstance(x, tuple) else None,
               lambda x: tree.MAP_TO_NONE if x == 3 else None):
        k_fn = (lambda x, fn=fn: keras.tree.MAP_TO_NONE if fn(x) is tree.MAP_TO_NONE else fn(x))
        assert tree.traverse(fn, s) == keras.tree.traverse(k_fn, s)
        assert tree.traverse(fn, s, top_down=False) == keras.tree.traverse(k_fn, s, top_down=False)


def test_tree_structure_checks_and_shapes(keras):
    same = [([1, (2, 3)], [4, (5, 6)]), ({"a": 1}, collections.OrderedDict(a=2))]
    differ = [([1, 2], (1, 2)), ([1, [2]], [1, 2]), ({"a": 1}, {"b": 1}), (Point(1, 2), (1, 2))]
    for a, b in same:
        tree.assert_same_structure(a, b)
        keras.tree.assert_same_structure(a, b)
    for a, b in differ:
        with pytest.raises(ValueError):
            tree.assert_same_structure(a, b)
        with pytest.raises(ValueError):
            keras.tree.assert_same_structure(a, b)
    tree.assert_same_paths([1, (2, 3)], ((1, [2, 3])))
    with pytest.raises(ValueError, match="Only in the first"):
        tree.assert_same_paths({"a": 1, "b": 2}, {"a": 1})
    shapes = {"x": (None, 3), "y": [(2,), (4, 5)]}
    fn = lambda s: None if s is None else tuple(d or 0 for d in s)  # noqa: E731
    assert tree.map_shape_structure(fn, shapes) == keras.tree.map_shape_structure(fn, shapes)
    shallow, deep = [1, {"a": 2}], [[1, 2], {"a": (3, 4)}]
    assert tree.map_structure_up_to(shallow, lambda s, d: (s, d), shallow, deep) == \
        keras.tree.map_structure_up_to(shallow, lambda s, d: (s, d), shallow, deep)
    assert tree.map_structure(lambda a, b: a + b, [1, (2,)], [10, (20,)]) == [11, (22,)]
    with pytest.raises(ValueError, match="needs"):
        tree.pack_sequence_as([1, 2], [1])


def test_top_level_names_are_the_classes():
    assert kshim.Loss is kshim.losses.Loss and kshim.Metric is kshim.metrics.Metric
    assert kshim.Optimizer is kshim.optimizers.Optimizer and kshim.Initializer is kshim.initializers.Initializer
    assert kshim.Regularizer is kshim.regularizers.Regularizer and kshim.Constraint is kshim.constraints.Constraint
    assert kshim.InputSpec is kshim.layers.InputSpec and kshim.tree is tree
    assert issubclass(kshim.optimizers.Adam, kshim.Optimizer)
    for name in ("Function", "device", "remat", "RematScope", "SymbolicScope"):
        with pytest.raises(AttributeError, match="kshim does not provide kshim." + name):
            getattr(kshim, name)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        kshim.Nope  # noqa: B018
    with pytest.raises(AttributeError, match="start a new process"):
        kshim.config.set_backend  # noqa: B018
    with pytest.raises(AttributeError, match="tensorflow-io"):
        kshim.utils.audio_dataset_from_directory  # noqa: B018


def test_stateless_scope_keeps_variables_unchanged():
    a = kshim.Variable(np.array([1.0, 2.0], "float32"))
    b = kshim.Variable(np.array([5.0], "float32"))
    with kshim.StatelessScope(state_mapping=[(a, np.array([10.0, 20.0], "float32"))]) as scope:
        np.testing.assert_array_equal(np.asarray(a.numpy()), [10.0, 20.0])
        a.assign_add(np.array([1.0, 1.0], "float32"))
        b.assign(np.array([7.0], "float32"))
        np.testing.assert_array_equal(np.asarray(scope.get_current_value(a)), [11.0, 21.0])
    np.testing.assert_array_equal(a.numpy(), [1.0, 2.0])  # neither variable changed
    np.testing.assert_array_equal(b.numpy(), [5.0])
    np.testing.assert_array_equal(np.asarray(scope.get_current_value(a)), [11.0, 21.0])
    np.testing.assert_array_equal(np.asarray(scope.get_current_value(b)), [7.0])
    assert scope.get_current_value(kshim.Variable(np.zeros(1, "float32"))) is None
    with pytest.raises(ValueError, match="shape"):
        kshim.StatelessScope(state_mapping=[(a, np.zeros(3, "float32"))])


def test_name_scope_prefixes_variable_paths():
    with kshim.name_scope("outer"):
        with kshim.name_scope("inner"):
            v = kshim.Variable(np.zeros(2, "float32"), name="w")
    assert v.path == "outer/inner/w" and v.name == "w"
    assert kshim.Variable(np.zeros(2, "float32"), name="u").path == "u"
    with pytest.raises(ValueError, match="name"):
        kshim.name_scope("a/b")


def test_utils_names():
    u = kshim.utils
    c = u.Config(lr=0.1, sizes=[2, 3])
    assert c.lr == 0.1 and c["sizes"] == [2, 3] and sorted(c.keys()) == ["lr", "sizes"]
    c.momentum = 0.9
    c.freeze()
    with pytest.raises(AttributeError, match="frozen"):
        c.lr = 0.2
    c.unfreeze()
    c.lr = 0.2
    assert c.as_dict() == {"lr": 0.2, "sizes": [2, 3], "momentum": 0.9}

    x = kshim.Input((3,), name="x")
    y = kshim.Input((3,), name="y")
    out = kshim.layers.Dense(2)(kshim.layers.Add()([x, kshim.layers.Dense(3)(y)]))
    assert u.get_source_inputs(out) == [x, y] and u.is_keras_tensor(out) and not u.is_keras_tensor(np.zeros(1))

    @u.register_keras_serializable(package="names16")
    def my_fn(v):
        return v

    assert u.get_registered_name(my_fn) == "names16>my_fn" and u.get_registered_object("names16>my_fn") is my_fn
    with u.custom_object_scope({"other": my_fn}):
        assert u.get_registered_object("other") is my_fn
    assert u.get_registered_object("other") is None
    cfg = kshim.regularizers.serialize(kshim.regularizers.L2(0.5))
    assert u.deserialize_keras_object(cfg).get_config() == {"l2": 0.5}
    assert kshim.regularizers.deserialize(cfg).get_config() == {"l2": 0.5}
    assert isinstance(kshim.constraints.deserialize({"class_name": "NonNeg", "config": {}}), kshim.constraints.NonNeg)
    assert u.standardize_dtype(None) == "float32" and u.standardize_dtype(np.dtype("int64")) == "int64"


def test_backend_and_config_names():
    kshim.utils.clear_session()
    assert [kshim.backend.get_uid("p"), kshim.backend.get_uid("p"), kshim.backend.get_uid("q")] == [1, 2, 1]
    assert kshim.backend.is_float_dtype("bfloat16") and kshim.backend.is_int_dtype("uint8")
    assert not kshim.config.is_traceback_filtering_enabled() and not kshim.config.is_nnx_enabled()
    with pytest.raises(NotImplementedError, match="does not filter tracebacks"):
        kshim.config.enable_traceback_filtering()
    assert kshim.config.is_flash_attention_enabled() is None
    try:
        kshim.config.disable_flash_attention()
        assert kshim.layers.MultiHeadAttention(2, 4)._flash_attention is False
    finally:
        kshim.config._SWITCHES["flash_attention"] = None


def test_enable_unsafe_deserialization_lets_lambdas_load():
    from kshim import registry

    assert registry.in_safe_mode()
    try:
        kshim.config.enable_unsafe_deserialization()
        with registry.loading_scope(safe_mode=True):
            assert not registry.in_safe_mode()
    finally:
        kshim.config._SWITCHES["unsafe_deserialization"] = False
    assert registry.in_safe_mode()
