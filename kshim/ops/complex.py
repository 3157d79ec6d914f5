"""Complex numbers: the parts of a complex tensor (Keras 3's ``keras.ops.numpy`` real, imag, conj, conjugate,
angle, isreal), and ``polar`` (``keras.ops.nn``), ``view_as_complex`` and ``view_as_real`` (``keras.ops``),
written here once over the contract's complex family.

A complex tensor is complex64 (or complex128 from float64 parts on torch): ``ops.convert_to_tensor`` of a numpy
complex array, or ``view_as_complex``/``polar`` of real ones. Real input counts as complex with a zero imaginary
part, as in numpy. Gradients flow through every op here to real inputs and outputs on both backends (the gradient
*with respect to* a complex tensor follows each framework's own convention: jax's and torch's differ by a
conjugate)."""

from kshim.backends import B
from kshim.ops import symbolic as _symbolic

real = B.real
imag = B.imag
conjugate = B.conjugate
conj = B.conjugate
angle = B.angle
isreal = B.isreal


def polar(abs_, angle):
    """The complex tensor ``abs_ * (cos(angle) + 1j * sin(angle))`` from magnitudes ``abs_`` and angles in
    radians (``torch.polar``; not scipy's polar decomposition)."""
    abs_, angle = B.convert_to_tensor(abs_), B.convert_to_tensor(angle)
    return B.complex(B.multiply(abs_, B.cos(angle)), B.multiply(abs_, B.sin(angle)))


def view_as_complex(x):
    """The complex tensor of shape ``x.shape[:-1]`` from a real ``x`` whose last axis (of size 2) holds the real and
    the imaginary part: complex64 (Keras 3's dtype, whatever the float width of ``x``)."""
    x = B.convert_to_tensor(x)
    shape = B.shape(x)
    if len(shape) < 1 or shape[-1] != 2:
        raise ValueError("view_as_complex: the last axis of `x` must have size 2 (the real and the imaginary part). "
                         f"Received: x.shape={tuple(shape)}")
    parts = [B.cast(p, "float32") for p in B.split(x, 2, axis=-1)]
    return B.complex(B.squeeze(parts[0], axis=-1), B.squeeze(parts[1], axis=-1))


def view_as_real(x):
    """The real tensor of shape ``x.shape + (2,)`` holding the real and the imaginary part of each element of the
    complex ``x`` along its new last axis."""
    x = B.convert_to_tensor(x)
    return B.stack([B.real(x), B.imag(x)], axis=-1)


__all__ = ["real", "imag", "conjugate", "conj", "angle", "isreal", "polar", "view_as_complex", "view_as_real"]

_symbolic.install(globals(), ["real", "imag", "conjugate", "conj", "angle", "isreal"], "keras.src.ops.numpy")
_symbolic.install(globals(), ["polar"], "keras.src.ops.nn")
_symbolic.install(globals(), ["view_as_complex", "view_as_real"], "keras.src.ops.math")
