"""Keras 3 ``keras.ops`` names kshim does not have (yet), each with the reason: ``kshim.ops.<name>`` raises an
AttributeError that says so, never something else silently. Each namespace module installs `module_getattr`."""

_COMPLEX = "kshim tensors are real: complex values cross kshim.ops as (real, imag) pairs (see ops.fft)"
_HOST_SHAPE = ("its output shape depends on the values, which neither jax.jit nor the torch replay allows; "
               "not implemented in kshim yet")
_LATER = "not implemented in kshim yet (issue 16)"

ABSENT = {
    "angle": _COMPLEX, "conj": _COMPLEX, "conjugate": _COMPLEX, "imag": _COMPLEX, "real": _COMPLEX,
    "isreal": _COMPLEX, "polar": _COMPLEX, "view_as_complex": _COMPLEX, "view_as_real": _COMPLEX,
    "nonzero": _HOST_SHAPE, "unique": _HOST_SHAPE,
    "vectorize": "use ops.vectorized_map (kshim does not wrap numpy's vectorize)",
}


def module_getattr(module_name):
    """A module ``__getattr__`` for ``module_name`` that explains the `ABSENT` names."""

    def __getattr__(name):
        if name in ABSENT:
            keras_path = module_name.replace("kshim", "keras", 1)
            raise AttributeError(f"{module_name}.{name}: Keras 3 has `{keras_path}.{name}`, kshim does not: "
                                 f"{ABSENT[name]}.")
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__
