"""The contract's complex family: complex tensors (complex64, complex128) and their parts (Keras 3's
``real``, ``imag``, ``conjugate``, ``angle``, ``isreal``). Implemented by ``kshim/backends/<backend>/complex.py``;
bound by `kshim.ops.complex`, which writes ``polar``, ``view_as_complex`` and ``view_as_real`` on top.

Real (float, int, bool) input is a complex number with a zero imaginary part, as in numpy: ``real`` gives it back,
``imag`` gives zeros of its dtype, ``conjugate`` gives it back, ``isreal`` gives True everywhere."""


def complex(real, imag):
    """The complex tensor ``real + 1j * imag`` (broadcast): complex64 from float32 (or narrower) parts, complex128
    from float64 ones. Differentiable in both parts."""


def real(x):
    """The real part of ``x`` (float32 for complex64, float64 for complex128; real input unchanged)."""


def imag(x):
    """The imaginary part of ``x`` (float32 for complex64, float64 for complex128; zeros of real input's dtype)."""


def conjugate(x):
    """The complex conjugate of ``x`` (real input unchanged)."""


def angle(x):
    """The argument of each element, in radians (``arctan2(imag, real)``): float32 for complex64, float32 and
    integer input, float64 for float64/complex128 input."""


def isreal(x):
    """A bool tensor: True where the imaginary part of ``x`` is zero (everywhere for real input)."""
