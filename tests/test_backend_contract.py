"""The backend contract (`kshim.backends.interface`) is mirrored: one family name in the contract, in each backend
package and in `kshim.ops`, and the loader binds every primitive of the selected backend."""

import importlib
import inspect
import os

import pytest

from kshim import ops
from kshim.ops import foreach
from kshim.backends import B, BACKENDS, interface

KSHIM = os.path.dirname(os.path.dirname(os.path.dirname(interface.__file__)))
# The families whose frontend is not in kshim.ops: kshim/random.py, kshim/distribution/, kshim/export/, kshim/layers/.
FRONTEND_OUTSIDE_OPS = {"random": "kshim.random", "distribution": "kshim.distribution", "export": "kshim.export",
                        "layer": "kshim.layers.layer"}


def test_the_contract_has_the_families_of_kshim_ops():
    assert interface.FAMILIES == ("complex", "control_flow", "convolution", "core", "distribution", "dynamic",
                                  "elementwise", "export", "foreach", "image", "layer", "linalg", "math", "nn",
                                  "numpy", "random", "rnn")


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_every_backend_has_one_module_per_family(name):
    package_dir = os.path.join(KSHIM, "backends", name)
    for family in interface.FAMILIES:
        assert os.path.isfile(os.path.join(package_dir, f"{family}.py")), (name, family)


def test_every_family_has_its_frontend_module_of_the_same_name():
    for family in interface.FAMILIES:
        module = FRONTEND_OUTSIDE_OPS.get(family, f"kshim.ops.{family}")
        assert importlib.util.find_spec(module) is not None, family


def test_the_selected_backend_implements_every_primitive_with_the_contract_signature():
    assert B.MISSING == ()
    assert len(interface.PRIMITIVES) > 130
    for name, stub in interface.PRIMITIVES.items():
        assert inspect.signature(getattr(B, name)) == inspect.signature(stub), name


def test_ops_binds_the_backend_functions_themselves():
    # One hop: kshim.ops.add is the backend's add, or its symbolic twin (kshim/ops/symbolic.py: the backend's add
    # called directly, which also builds a graph node when given a KerasTensor); each primitive is bound in its
    # family's ops module.
    def bound(op):
        return getattr(op, "__wrapped__", op)

    # (ops.scan and ops.scatter_update are Keras 3's signatures, written in kshim.ops over B.scan and
    # B.scatter_update/B.scatter; ops.cond, ops.slice, ... are one hop.)
    for name in ("add", "matmul", "reshape", "relu", "softmax", "cast", "zeros", "cond", "while_loop", "slice"):
        family = interface.family_of(name)
        assert bound(getattr(importlib.import_module(f"kshim.ops.{family}"), name)) is getattr(B, name), name
        assert bound(getattr(ops, name)) is getattr(B, name), name
    assert foreach.add is B.foreach_add and foreach.blocked is B.foreach_blocked


def test_a_missing_primitive_raises_naming_it_and_its_contract_file():
    missing = interface._missing("numpy", "conv")
    with pytest.raises(NotImplementedError, match=r"numpy backend does not implement `conv`.*interface/convolution"):
        missing(1, 2)


def test_capabilities_answer_for_the_selected_backend():
    assert ops.auto_jit_compile() in (True, None, False)
    assert ops.standardize_dtype("float32") == "float32"
    assert ops.standardize_dtype(ops.convert_to_tensor([1, 2], "int32").dtype) == "int32"
    assert ops.standardize_dtype(ops.zeros((1,), "bool").dtype) == "bool"
