"""The contract's elementwise family: numpy's remaining elementwise functions (Keras 3's ``keras.ops.numpy``
names). Implemented by ``kshim/backends/<backend>/elementwise.py``; bound by `kshim.ops.elementwise`.

Each primitive is numpy's function of the same name on tensors: integer and bool input to a float function gives
float32, Python scalars stay weak, binary functions broadcast. The stubs are generated from `UNARY` and `BINARY`
(name -> meaning) so that the list is the documentation."""

UNARY = {
    "arccos": "inverse cosine", "arccosh": "inverse hyperbolic cosine", "arcsin": "inverse sine",
    "arcsinh": "inverse hyperbolic sine", "arctanh": "inverse hyperbolic tangent", "cosh": "hyperbolic cosine",
    "sinh": "hyperbolic sine", "exp2": "2 ** x", "trunc": "rounding toward zero (integers unchanged)",
    "signbit": "True where the sign bit is set (-0.0 included), bool", "i0": "modified Bessel function of order 0",
    "sinc": "sin(pi x) / (pi x), 1 at 0",
}
BINARY = {
    "arctan2": "the angle of (x2, x1), quadrant-aware", "hypot": "sqrt(x1**2 + x2**2) without overflow",
    "fmod": "remainder with the sign of the dividend (C's fmod)", "logaddexp": "log(exp(x1) + exp(x2)), stably",
    "nextafter": "the next float after x1 toward x2", "gcd": "greatest common divisor of integers",
    "lcm": "least common multiple of integers", "fmax": "maximum, ignoring NaN", "fmin": "minimum, ignoring NaN",
}


def _stub(name, doc, arity):
    def unary(x):
        pass

    def binary(x1, x2):
        pass

    fn = unary if arity == 1 else binary
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"numpy's ``{name}``: {doc}."
    return fn


for _name, _doc in UNARY.items():
    globals()[_name] = _stub(_name, _doc, 1)
for _name, _doc in BINARY.items():
    globals()[_name] = _stub(_name, _doc, 2)
