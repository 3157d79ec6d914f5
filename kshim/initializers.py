"""Weight initializers with Keras 3's names, arguments and formulas.

Values are drawn on the host with numpy (from the initializer's ``seed``, or from kshim's global host generator
that `kshim.utils.set_random_seed` fixes) and then moved to the backend, so a seed gives bit-identical weights on
jax and torch.
"""

import math

import numpy as np

from kshim import config, ops
from kshim import random as krandom
from kshim.registry import INITIALIZERS, Configurable

_STDDEV_OF_TRUNCATED_UNIT_NORMAL = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) as Keras computes them: kernels are (..., in, out) with a receptive field in front,
    unless ``input_axes``/``output_axes`` name the axes of the input and output units."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(np.prod([shape[a] for a in input_axes])), int(np.prod([shape[a] for a in output_axes]))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _check_seed(cls_name, seed):
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
        raise ValueError(f"{cls_name}: `seed` must be an integer or None. Received: seed={seed!r}")
    return None if seed is None else int(seed)


def _to_backend(values, dtype):
    dtype = dtype or config.floatx()
    return ops.convert_to_tensor(np.asarray(values).astype(dtype if dtype != "bfloat16" else "float32"), dtype)


class Initializer(Configurable):
    """Base class: ``initializer(shape, dtype=None)`` returns a backend tensor."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError


class _Seeded(Initializer):
    def __init__(self, seed=None):
        self.seed = _check_seed(type(self).__name__, seed)

    def _rng(self):
        return krandom.host_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed}


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return ops.zeros(tuple(shape), dtype=dtype or config.floatx())


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return ops.ones(tuple(shape), dtype=dtype or config.floatx())


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return _to_backend(np.broadcast_to(np.asarray(self.value), tuple(shape)), dtype)

    def get_config(self):
        v = self.value
        return {"value": v.tolist() if isinstance(v, np.ndarray) else v}


class RandomNormal(_Seeded):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        return _to_backend(self._rng().normal(self.mean, self.stddev, size=tuple(shape)), dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Seeded):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype=None):
        return _to_backend(self._rng().uniform(self.minval, self.maxval, size=tuple(shape)), dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_unit_normal(rng, shape):
    """Unit normals, redrawing any value outside [-2, 2] (Keras's truncation)."""
    out = rng.standard_normal(size=shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out


class TruncatedNormal(_Seeded):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype=None):
        values = _truncated_unit_normal(self._rng(), tuple(shape)) * self.stddev + self.mean
        return _to_backend(values, dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(_Seeded):
    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        super().__init__(seed)
        name = type(self).__name__
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)
        mode = mode.lower() if isinstance(mode, str) else mode
        distribution = distribution.lower() if isinstance(distribution, str) else distribution
        if not scale > 0:
            raise ValueError(f"{name}: `scale` must be positive. Received: scale={scale!r}")
        if mode not in self._MODES:
            raise ValueError(f"{name}: `mode` must be one of {list(self._MODES)}. Received: mode={mode!r}")
        distribution = "truncated_normal" if distribution == "normal" else distribution  # Keras's alias
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"{name}: `distribution` must be one of {list(self._DISTRIBUTIONS)}. "
                f"Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            values = _truncated_unit_normal(rng, shape) * (math.sqrt(scale) / _STDDEV_OF_TRUNCATED_UNIT_NORMAL)
        elif self.distribution == "untruncated_normal":
            values = rng.standard_normal(size=shape) * math.sqrt(scale)
        else:
            limit = math.sqrt(3.0 * scale)
            values = rng.uniform(-limit, limit, size=shape)
        return _to_backend(values, dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    _ARGS = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(*self._ARGS, seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_FixedVarianceScaling):
    _ARGS = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    _ARGS = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    _ARGS = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    _ARGS = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    _ARGS = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    _ARGS = (1.0, "fan_in", "truncated_normal")


class Orthogonal(_Seeded):
    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: the shape must have at least 2 axes. Received: shape={shape}")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._rng().standard_normal(size=(max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return _to_backend(self.gain * q.reshape(shape), dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity: the shape must have exactly 2 axes. Received: shape={shape}")
        return _to_backend(self.gain * np.eye(*shape), dtype)

    def get_config(self):
        return {"gain": self.gain}


# -- STFT kernels -----------------------------------------------------------------------------------------------------
_COSINE_WINDOWS = {"hann": (0.5, 0.5), "hanning": (0.5, 0.5), "hamming": (0.54, 0.46),
                   "blackman": (0.42, 0.50, 0.08), "boxcar": (1.0,), "box": (1.0,), "ones": (1.0,),
                   "rectangular": (1.0,), "rect": (1.0,)}
_WINDOW_NAMES = sorted(_COSINE_WINDOWS) + ["bartlett", "triang"]


def _check_window_name(where, window):
    if isinstance(window, str) and window not in _WINDOW_NAMES:
        raise ValueError(f"{where}: `window` must be one of {_WINDOW_NAMES}, a 1-D array of values or None. "
                         f"Received: window={window!r}")


def window_values(name, length, periodic=False):
    """The window ``name`` of ``length`` samples as float64, with ``scipy.signal.get_window(name, length,
    fftbins=periodic)``'s values (a periodic window is the symmetric one of ``length + 1`` without its last)."""
    _check_window_name("window_values", name)
    m = length + 1 if periodic else length
    if m == 1:
        w = np.ones(1)
    elif name in _COSINE_WINDOWS:
        fac = np.linspace(-np.pi, np.pi, m)
        w = sum(a * np.cos(k * fac) for k, a in enumerate(_COSINE_WINDOWS[name]))
    elif name == "bartlett":
        n = np.arange(m)
        w = np.where(n <= (m - 1) / 2.0, 2.0 * n / (m - 1), 2.0 - 2.0 * n / (m - 1))
    else:  # "triang"
        n = np.arange(1, (m + 1) // 2 + 1)
        half = (2 * n - 1.0) / m if m % 2 == 0 else 2 * n / (m + 1.0)
        w = np.concatenate([half, half[-2::-1] if m % 2 else half[::-1]])
    return w[:length]


class STFT(Initializer):
    """Kernels of shape ``(frame_length, 1, fft_length // 2 + 1)`` whose convolution with a signal is the real
    (``side="real"``) or imaginary (``"imag"``) part of its short-time Fourier transform, windowed by ``window``
    (a name such as ``"hann"``, a 1-D array, or None) and divided by the window's L2 norm (``scaling="density"``)
    or L1 norm (``"spectrum"``), as Keras 3's ``STFTInitializer`` (the `STFTSpectrogram` kernels)."""

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT: `side` must be 'real' or 'imag'. Received: side={side!r}")
        _check_window_name("STFT", window)
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFT: `scaling` must be None, 'density' or 'spectrum'. Received: scaling={scaling!r}")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 3:
            raise ValueError("STFT: the shape must be (frame_length, input_channels, fft_length // 2 + 1). "
                             f"Received: shape={shape}")
        frame_length, _, bins = shape
        # float32 arithmetic in Keras 3's order, so the phases (up to 2*pi*frame_length) round as there
        f32 = np.float32
        freq = np.arange(bins, dtype=f32).reshape(1, 1, bins) / f32((bins - 1) * 2)
        time = np.arange(frame_length, dtype=f32).reshape(frame_length, 1, 1)
        phase = (f32(-2) * time * freq) * f32(np.pi)
        kernel = np.cos(phase) if self.side == "real" else np.sin(phase)
        if self.window is not None:
            win = self.window
            win = window_values(win, frame_length, self.periodic) if isinstance(win, str) else np.asarray(win)
            if win.shape != (frame_length,):
                raise ValueError(f"STFT: `window` must have shape ({frame_length},) (frame_length). Received: "
                                 f"window shape={win.shape}")
            win = win.astype(f32).reshape(frame_length, 1, 1)
            scale = f32(1)
            if self.scaling == "density":
                scale = np.sqrt(np.sum(np.square(win)))
            elif self.scaling == "spectrum":
                scale = np.sum(np.abs(win))
            kernel = (kernel * win) / scale
        return _to_backend(np.broadcast_to(kernel, shape), dtype)

    def get_config(self):
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {"side": self.side, "window": window, "periodic": self.periodic, "scaling": self.scaling}


_CLASSES = (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, GlorotUniform,
            GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal, Identity, STFT)
_ALIASES = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "normal": RandomNormal, "random_uniform": RandomUniform,
    "uniform": RandomUniform, "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity, "OrthogonalInitializer": Orthogonal,
    "IdentityInitializer": Identity, "STFTInitializer": STFT, "stft": STFT,
}
globals().update({k: v for k, v in _ALIASES.items() if k.islower() and k not in ("normal", "uniform", "zero", "one")})
IdentityInitializer, OrthogonalInitializer = _ALIASES["IdentityInitializer"], _ALIASES["OrthogonalInitializer"]
STFTInitializer = STFT
INITIALIZERS.register_all(_CLASSES, _ALIASES)
_CLASS_NAMES = [c.__name__ for c in _CLASSES]


def serialize(initializer):
    """The Keras 3 config of ``initializer``."""
    return INITIALIZERS.serialize(initializer)


def deserialize(config):
    cls = INITIALIZERS.lookup(config.get("class_name"), arg="class_name", known=_CLASS_NAMES)
    return cls.from_config(config.get("config", {}))


def get(identifier):
    """An initializer from a name ("glorot_uniform"), a class name, a config dict, a class, or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return INITIALIZERS.lookup(identifier, arg="identifier", known=list(_ALIASES) + _CLASS_NAMES)()
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")


INITIALIZERS.bind(base=Initializer, module="keras.initializers", serialize=serialize,
                  deserialize=lambda config, custom_objects=None: deserialize(config), get=get)
