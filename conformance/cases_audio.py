"""Cases for the audio names added for issue 16: the STFT initializer and the layers `STFTSpectrogram` and
`MelSpectrogram` (and the image layer `ContrastLimitedAdaptiveHistogramEqualization`, added with them), each on
one small input (every new op and shape costs a compile on jax)."""

import numpy as np

from conformance.case import _Lazy, case, kshim, rng
from conformance.cases_layers_misc import _cov

L = _Lazy("kshim.layers")
I = _Lazy("kshim.initializers")  # noqa: E741
WAVE = rng(1700).normal(size=(1, 16, 1)).astype(np.float32)
SIGNAL = rng(1701).normal(size=(1, 48)).astype(np.float32)


def _predict(layer, x):
    """``layer(x)`` as one compiled call (on jax several times cheaper than compiling op by op)."""
    return kshim.Sequential([kshim.Input(x.shape[1:]), layer]).predict(x, verbose=0)


def _np_stft_kernel(side, length, bins):
    """float64 Fourier basis windowed by the symmetric hann window, divided by the window's L2 norm."""
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / (length - 1))
    phase = -2 * np.pi * np.arange(length)[:, None] * np.arange(bins)[None, :] / ((bins - 1) * 2)
    kernel = (np.cos(phase) if side == "real" else np.sin(phase)) * win[:, None] / np.sqrt(np.sum(win ** 2))
    return kernel[:, None, :]


@case("initializers.s_t_f_t", family="initializers", rtol=1e-6, atol=1e-7, ref_rtol=1e-5, ref_atol=5e-7,
      covers=("initializers.s_t_f_t_initializer", "initializers.stft"),
      reference=lambda: {"real": _np_stft_kernel("real", 8, 5), "imag": _np_stft_kernel("imag", 8, 5)})
def _stft_initializer():
    """The STFT kernels (host-computed, float32 in Keras 3's order) against the float64 formula (the float32
    phases, up to 2*pi*8, put sin(k*pi) ~2.5e-7 off 0)."""
    return {"real": I.STFT("real")((8, 1, 5)), "imag": I.STFTInitializer("imag")((8, 1, 5))}


def _np_magnitude(x):
    real, imag = _np_stft_kernel("real", 8, 5), _np_stft_kernel("imag", 8, 5)
    frames = np.stack([x[0, i:i + 8, 0] for i in range(0, 9, 4)])  # (3 frames, 8)
    re, im = frames @ real[:, 0, :], frames @ imag[:, 0, :]
    return np.sqrt(np.maximum(re ** 2 + im ** 2, 1e-7))[None]


@case("layers.s_t_f_t_spectrogram", family="layers", rtol=1e-5, atol=1e-5, ref_rtol=1e-5, ref_atol=1e-6,
      covers=_cov("MelSpectrogram"), reference=lambda: {"stft": _np_magnitude(WAVE.astype(np.float64))})
def _spectrograms():
    """Forward only, compiled (a gradient doubles the compiles on jax): STFTSpectrogram's magnitudes against numpy frames
    times the float64 Fourier basis; MelSpectrogram's decibels across backends (its Keras 3 parity is in
    tests/test_audio_layers.py)."""
    stft = _predict(L.STFTSpectrogram(mode="magnitude", frame_length=8, frame_step=4), WAVE)
    mel = _predict(L.MelSpectrogram(fft_length=16, sequence_stride=8, num_mel_bins=4, sampling_rate=1000), SIGNAL)
    return {"stft": stft, "mel": mel}


@case("layers.contrast_limited_adaptive_histogram_equalization", family="layers", rtol=1e-5, atol=1e-4)
def _clahe():
    """CLAHE on one small padded image (cross-backend; Keras 3 parity in tests/test_audio_layers.py)."""
    image = rng(1702).uniform(0, 255, size=(1, 6, 10, 1)).astype(np.float32)
    return {"out": _predict(L.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 3), clip_limit=2.0),
                            image)}
