"""Audio spectrogram layers: `STFTSpectrogram` (a short-time Fourier transform computed as two 1-D convolutions
whose kernels are the `kshim.initializers.STFT` Fourier bases, trainable like any kernel) and `MelSpectrogram`
(``ops.stft`` magnitudes warped to the mel scale, optionally in decibels), with Keras 3's arguments, weight names
and numbers.
"""

import math
import warnings

import numpy as np

from kshim import config, initializers, ops
from kshim.layers.core import _data_format
from kshim.layers.input_spec import InputSpec
from kshim.layers.layer import Layer

_STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """The spectrogram of each channel of ``(batch, time, channels)`` audio (``channels_first``: ``(batch,
    channels, time)``), one frame of ``frame_length`` samples every ``frame_step`` (default ``frame_length // 2``).

    ``mode`` picks the output: ``"log"`` (log magnitude, the default), ``"magnitude"``, ``"psd"`` (power, doubled
    for the bins that stand for two), ``"real"``, ``"imag"``, ``"angle"`` or ``"stft"`` (real and imaginary parts
    concatenated along the frequency axis). The kernels ``real_kernel``/``imag_kernel`` have shape
    ``(frame_length, 1, fft_length // 2 + 1)`` as in Keras 3, so ``.weights.h5`` files interoperate. Output
    ``(batch, frames, channels * bins)``, or with ``expand_dims=True`` ``(batch, frames, bins, channels)``."""

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None, window="hann",
                 periodic=False, scaling="density", padding="valid", expand_dims=False, data_format=None, **kwargs):
        if isinstance(frame_length, bool) or not isinstance(frame_length, (int, np.integer)) or frame_length < 1:
            raise ValueError("STFTSpectrogram: `frame_length` must be a positive integer. Received: "
                             f"frame_length={frame_length!r}")
        if frame_step is not None and not 1 <= frame_step <= frame_length:
            raise ValueError("STFTSpectrogram: `frame_step` must be a positive integer not greater than "
                             f"`frame_length`. Received: frame_step={frame_step}, frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError("STFTSpectrogram: `fft_length` must be at least `frame_length`. Received: "
                             f"fft_length={fft_length}, frame_length={frame_length}")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(f"STFTSpectrogram: `fft_length` is best a power of two. Received: fft_length={fft_length}",
                          stacklevel=2)
        if mode not in _STFT_MODES:
            raise ValueError(f"STFTSpectrogram: `mode` must be one of {list(_STFT_MODES)}. Received: mode={mode!r}")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError("STFTSpectrogram: `scaling` must be None, 'density' or 'spectrum'. Received: "
                             f"scaling={scaling!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"STFTSpectrogram: `padding` must be 'valid' or 'same'. Received: padding={padding!r}")
        initializers.STFT("real", window, scaling, periodic)  # checks the window
        super().__init__(**kwargs)
        self.mode, self.frame_length, self.frame_step, self.fft_length = mode, int(frame_length), frame_step, fft_length
        self._frame_step = frame_step or self.frame_length // 2
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window, self.periodic, self.scaling, self.padding = window, periodic, scaling, padding
        self.expand_dims = expand_dims
        self.data_format = _data_format("STFTSpectrogram", data_format)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        for side in ("real", "imag"):
            if self.mode != ("imag" if side == "real" else "real"):
                setattr(self, side + "_kernel", self.add_weight(
                    name=side + "_kernel", shape=shape,
                    initializer=initializers.STFT(side, self.window, self.scaling, self.periodic)))
        self.built = True

    def _transform(self, inputs, kernel):
        """(batch, channels, bins, frames): one convolution over every channel as its own signal."""
        shape = ops.shape(inputs)
        last = self.data_format == "channels_last"
        channels, steps = (shape[2], shape[1]) if last else (shape[1], shape[2])
        signals = ops.reshape(ops.transpose(inputs, (0, 2, 1)) if last else inputs,
                              (-1, steps, 1) if last else (-1, 1, steps))
        out = ops.conv(signals, ops.cast(kernel, inputs.dtype), strides=self._frame_step, padding=self.padding,
                       data_format=self.data_format)
        if last:
            out = ops.transpose(out, (0, 2, 1))
        bins, frames = ops.shape(out)[1], ops.shape(out)[2]
        return ops.reshape(out, (-1, channels, bins, frames))

    def _layout(self, x):
        """(batch, channels, bins, frames) to the layer's output layout."""
        _, channels, bins, frames = ops.shape(x)
        last = self.data_format == "channels_last"
        if self.expand_dims:
            return ops.transpose(x, (0, 3, 2, 1) if last else (0, 1, 3, 2))
        x = ops.reshape(x, (-1, channels * bins, frames))
        return ops.transpose(x, (0, 2, 1)) if last else x

    def call(self, inputs):
        dtype = ops.standardize_dtype(inputs.dtype)
        if dtype not in ("float16", "float32", "float64", "bfloat16"):
            raise TypeError("STFTSpectrogram: the input must be float16, float32 or float64. Received: "
                            f"input dtype={dtype}")
        real = self._transform(inputs, self.real_kernel.value) if self.mode != "imag" else None
        imag = self._transform(inputs, self.imag_kernel.value) if self.mode != "real" else None
        if self.mode == "real":
            return self._layout(real)
        if self.mode == "imag":
            return self._layout(imag)
        if self.mode == "angle":
            return self._layout(ops.arctan2(imag, real))
        if self.mode == "stft":
            return self._layout(ops.concatenate([real, imag], axis=2))
        power = ops.add(ops.square(real), ops.square(imag))
        if self.mode == "psd":  # every bin but the first and the last stands for itself and its mirror
            return self._layout(ops.add(power, ops.pad(power[:, :, 1:-1, :], [(0, 0), (0, 0), (1, 1), (0, 0)])))
        magnitude = self._layout(ops.sqrt(ops.maximum(power, config.epsilon())))
        if self.mode == "magnitude":
            return magnitude
        return ops.log(ops.maximum(magnitude, config.epsilon()))

    def compute_output_shape(self, input_shape):
        last = self.data_format == "channels_last"
        batch, steps, channels = ((input_shape[0], input_shape[1], input_shape[2]) if last
                                  else (input_shape[0], input_shape[2], input_shape[1]))
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        if steps is None:
            frames = None
        elif self.padding == "valid":
            frames = (steps - self.frame_length) // self._frame_step + 1
        else:
            frames = (steps - 1) // self._frame_step + 1
        if self.expand_dims:
            return (batch, frames, bins, channels) if last else (batch, channels, frames, bins)
        flat = None if channels is None else bins * channels
        return (batch, frames, flat) if last else (batch, flat, frames)

    def get_config(self):
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}


_MEL_BREAK_HZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def _hertz_to_mel(hertz):
    return _MEL_HIGH_FREQUENCY_Q * np.log1p(np.asarray(hertz, np.float64) / _MEL_BREAK_HZ)


class MelSpectrogram(Layer):
    """The mel spectrogram of ``(batch, samples)`` (or ``(samples,)``) audio: the magnitude of ``ops.stft``
    (``center=True``) raised to ``mag_exp``, warped onto ``num_mel_bins`` HTK mel bands between ``min_freq`` and
    ``max_freq`` (default ``sampling_rate / 2``), and with ``power_to_db`` in decibels relative to ``ref_power``,
    clipped ``top_db`` below the loudest value of the whole batch. Output ``(batch, num_mel_bins, frames)``. No
    weights; Keras 3's arguments and numbers."""

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None, window="hann",
                 sampling_rate=16000, num_mel_bins=128, min_freq=20.0, max_freq=None, power_to_db=True,
                 top_db=80.0, mag_exp=2.0, min_power=1e-10, ref_power=1.0, **kwargs):
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError("MelSpectrogram: `fft_length` must be at least `sequence_length`. Received: "
                             f"sequence_length={self.sequence_length}, fft_length={self.fft_length}")
        if isinstance(window, str) and window not in ("hann", "hamming"):
            raise ValueError("MelSpectrogram: `window` must be 'hann', 'hamming', a 1-D array or None. "
                             f"Received: window={window!r}")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db, self.top_db, self.mag_exp = power_to_db, top_db, mag_exp
        self.min_power, self.ref_power = min_power, ref_power
        super().__init__(**kwargs)

    def call(self, inputs):
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") else "float32"
        x = ops.cast(inputs, dtype)
        real, imag = ops.stft(x, sequence_length=self.sequence_length, sequence_stride=self.sequence_stride,
                              fft_length=self.fft_length, window=self.window, center=True)
        spec = ops.power(ops.sqrt(ops.add(ops.square(real), ops.square(imag))), self.mag_exp)
        matrix = self.linear_to_mel_weight_matrix(self.num_mel_bins, ops.shape(spec)[-1], self.sampling_rate,
                                                  self.min_freq, self.max_freq, dtype)
        out = ops.tensordot(spec, matrix, axes=1)
        if self.power_to_db:
            out = self._to_db(out)
        return ops.cast(ops.swapaxes(out, -1, -2), self.compute_dtype)

    def _to_db(self, power):
        db = ops.multiply(10.0, ops.log10(ops.maximum(power, self.min_power)))
        f32 = np.float32
        ref = f32(10.0) * np.log10(np.maximum(np.abs(f32(self.ref_power)), f32(self.min_power)))
        db = ops.subtract(db, ops.convert_to_tensor(np.asarray(ref).astype(ops.standardize_dtype(db.dtype))))
        if self.top_db is None:
            return db
        return ops.maximum(db, ops.subtract(ops.max(db), self.top_db))

    def linear_to_mel_weight_matrix(self, num_mel_bins=20, num_spectrogram_bins=129, sampling_rate=8000,
                                    lower_edge_hertz=125.0, upper_edge_hertz=3800.0, dtype="float32"):
        """The ``(num_spectrogram_bins, num_mel_bins)`` matrix that maps linear frequency bins (from 0 to
        ``sampling_rate / 2``) onto triangular HTK mel bands (``mel(f) = 1127 ln(1 + f / 700)``) peaking at 1,
        with the DC bin left out."""
        # on the host in float64, so both backends get the same matrix (Keras 3 computes it with float32 backend
        # ops, whose rounding of the mel values, ~1e3, differs by backend: ~1e-6 apart from this one)
        bins_mel = _hertz_to_mel(np.linspace(0.0, float(sampling_rate) / 2.0, int(num_spectrogram_bins))[1:])
        edges = np.linspace(_hertz_to_mel(float(lower_edge_hertz)), _hertz_to_mel(float(upper_edge_hertz)),
                            num_mel_bins + 2)
        lower, center, upper = (edges[None, i:i + num_mel_bins] for i in range(3))
        bins_mel = bins_mel[:, None]
        slopes = np.minimum((bins_mel - lower) / (center - lower), (upper - bins_mel) / (upper - center))
        weights = np.pad(np.maximum(slopes, 0.0), [(1, 0), (0, 0)])  # the DC bin gets no weight
        return ops.convert_to_tensor(weights.astype(dtype), dtype)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        samples = input_shape[-1]
        pad = 2 * (self.fft_length // 2)  # ops.stft(center=True) pads fft_length // 2 on each side
        frames = None if samples is None else 1 + (samples + pad - self.fft_length) // self.sequence_stride
        return input_shape[:-1] + (self.num_mel_bins, frames)

    def get_config(self):
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
                "min_power": self.min_power, "ref_power": self.ref_power}
