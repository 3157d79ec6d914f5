"""The STFT initializer and the audio layers `STFTSpectrogram` and `MelSpectrogram` against Keras 3 (installed):
kernels, outputs, shapes, configs and ``.weights.h5`` files both ways."""

import os

import numpy as np
import pytest

import kshim
from kshim import initializers, layers, ops

os.environ.setdefault("KERAS_BACKEND", os.environ.get("KSHIM_BACKEND", "jax"))
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(16)
AUDIO = RNG.normal(size=(2, 120, 2)).astype("float32")  # (batch, time, channels)
SIGNAL = RNG.normal(size=(2, 400)).astype("float32")


def np_(x):
    return np.asarray(ops.convert_to_numpy(x))


def kn(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def wrap(lib, layer, x):
    """A model around ``layer``: its ``predict`` is one compiled call (on jax far cheaper than op by op)."""
    return lib.Sequential([lib.Input(x.shape[1:]), layer])


def run(lib, layer, x):
    return np.asarray(wrap(lib, layer, x).predict(x, verbose=0, batch_size=len(x)))


@pytest.mark.parametrize("side, window, scaling, periodic", [
    ("real", "hann", "density", False), ("imag", "hamming", "spectrum", True), ("real", None, None, False),
    ("imag", "blackman", "density", True), ("real", "bartlett", "spectrum", False), ("imag", "triang", None, True),
    ("real", "triang", "density", False), ("imag", np.linspace(0.1, 1.0, 12), "density", False),
])
def test_stft_initializer_equals_keras(side, window, scaling, periodic):
    shape = (12, 1, 9)
    got = np_(initializers.STFT(side, window, scaling, periodic)(shape))
    want = kn(keras.initializers.STFT(side, window, scaling, periodic)(shape))
    assert got.dtype == np.float32
    # float32 phases in Keras 3's order; cos/sin themselves may differ by an ulp between numpy and the backend
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert initializers.get("STFTInitializer") is not None and initializers.STFTInitializer is initializers.STFT
    cfg = initializers.serialize(initializers.STFT(side, "hann", scaling, periodic))
    assert cfg["class_name"] == "STFT" and cfg["config"] == keras.initializers.STFT(
        side, "hann", scaling, periodic).get_config()


STFT_CASES = [
    dict(mode="log", frame_length=16, frame_step=5),
    dict(mode="magnitude", frame_length=15, fft_length=32, padding="same", frame_step=7, window="hamming"),
    dict(mode="psd", frame_length=16, scaling="spectrum", periodic=True),
    dict(mode="stft", frame_length=16, expand_dims=True, window=None),
    dict(mode="angle", frame_length=16, data_format="channels_first"),
    dict(mode="real", frame_length=16, expand_dims=True, data_format="channels_first", window="blackman"),
    dict(mode="imag", frame_length=10, window="bartlett", padding="same"),
]


@pytest.mark.parametrize("kwargs", STFT_CASES, ids=[c["mode"] + str(i) for i, c in enumerate(STFT_CASES)])
def test_stft_spectrogram_equals_keras(kwargs):
    x = np.transpose(AUDIO, (0, 2, 1)) if kwargs.get("data_format") == "channels_first" else AUDIO
    ours, theirs = layers.STFTSpectrogram(**kwargs), keras.layers.STFTSpectrogram(**kwargs)
    sides = [s for s in ("real", "imag") if kwargs["mode"] != ("imag" if s == "real" else "real")]
    want = run(keras, theirs, x)
    model = wrap(kshim, ours, x)
    got = np.asarray(model.predict(x, verbose=0, batch_size=2))
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights] == [k + "_kernel" for k in sides]
    for a, b in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(np_(a.value), kn(b.value), rtol=1e-5, atol=1e-7)
    assert got.shape == want.shape == tuple(ours.compute_output_shape(x.shape))
    # with the same kernels, the same numbers
    ours.set_weights([kn(w.value) for w in theirs.weights])
    np.testing.assert_allclose(model.predict(x, verbose=0, batch_size=2), want, rtol=1e-5, atol=1e-6)
    # with its own kernels, within the kernels' ulps (the log of a magnitude near 0 magnifies them)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


def test_stft_spectrogram_weights_files_both_ways(tmp_path):
    def build(K):
        return K.Sequential([K.Input((120, 2)), K.layers.STFTSpectrogram(mode="log", frame_length=16),
                             K.layers.GlobalAveragePooling1D(), K.layers.Dense(3)])

    kshim.utils.set_random_seed(1)
    ours, theirs = build(kshim), build(keras)
    theirs.save_weights(str(tmp_path / "keras.weights.h5"))
    ours.load_weights(str(tmp_path / "keras.weights.h5"))
    np.testing.assert_allclose(np_(ours.predict(AUDIO, verbose=0)), kn(theirs.predict(AUDIO, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    ours.layers[-1].set_weights([np.full((18, 3), 0.1, "float32"), np.arange(3, dtype="float32")])
    ours.save_weights(str(tmp_path / "kshim.weights.h5"))
    theirs.load_weights(str(tmp_path / "kshim.weights.h5"))
    np.testing.assert_allclose(kn(theirs.predict(AUDIO, verbose=0)), np_(ours.predict(AUDIO, verbose=0)),
                               rtol=1e-5, atol=1e-6)


def test_stft_spectrogram_trains_and_round_trips(tmp_path):
    kshim.utils.set_random_seed(2)
    model = kshim.Sequential([kshim.Input((120, 2)), layers.STFTSpectrogram(mode="magnitude", frame_length=16),
                              layers.GlobalAveragePooling1D(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    before = np_(model.layers[0].real_kernel.value).copy()  # torch may share memory with the updated weight
    model.fit(AUDIO, np.ones((2, 1), "float32"), epochs=1, verbose=0)
    assert not np.allclose(np_(model.layers[0].real_kernel.value), before)  # the Fourier kernels are trainable
    path = str(tmp_path / "stft.keras")
    model.save(path)
    loaded = kshim.saving.load_model(path)
    np.testing.assert_allclose(np_(loaded.predict(AUDIO, verbose=0)), np_(model.predict(AUDIO, verbose=0)),
                               rtol=1e-6)


def test_stft_spectrogram_rejects_bad_arguments():
    with pytest.raises(ValueError, match="frame_step"):
        layers.STFTSpectrogram(frame_length=8, frame_step=9)
    with pytest.raises(ValueError, match="fft_length"):
        layers.STFTSpectrogram(frame_length=8, fft_length=4)
    with pytest.raises(ValueError, match="mode"):
        layers.STFTSpectrogram(mode="power")
    with pytest.raises(ValueError, match="window"):
        layers.STFTSpectrogram(window="kaiser_bessel_nope")
    with pytest.raises(ValueError, match="side"):
        initializers.STFT(side="both")
    with pytest.raises(TypeError, match="float"):
        layers.STFTSpectrogram(frame_length=8)(np.ones((1, 16, 1), "int32"))


MEL_CASES = [  # one frame layout for all (each new shape costs a compile on jax)
    dict(fft_length=32, sequence_stride=8, num_mel_bins=8, sampling_rate=8000, power_to_db=False, window="hamming",
         mag_exp=1.0),
    dict(fft_length=32, sequence_stride=8, num_mel_bins=8, top_db=20.0, ref_power=2.0, min_freq=100.0,
         max_freq=3000.0),
]


@pytest.mark.parametrize("kwargs", MEL_CASES)
def test_mel_spectrogram_equals_keras(kwargs):
    ours, theirs = layers.MelSpectrogram(**kwargs), keras.layers.MelSpectrogram(**kwargs)
    got, want = run(kshim, ours, SIGNAL), run(keras, theirs, SIGNAL)
    assert got.shape == want.shape == tuple(ours.compute_output_shape(SIGNAL.shape))
    assert not ours.weights
    if kwargs.get("power_to_db", True):
        # decibels: Keras 3 rounds its float32 mel matrix (~1e-6 off the exact one kshim uses, and not the same on
        # its two backends); that is ~3e-5 dB, and values near 0 dB make a relative tolerance meaningless
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    args = (10, 33, 8000, 20.0, 4000.0)
    np.testing.assert_allclose(np_(ours.linear_to_mel_weight_matrix(*args)),
                               kn(theirs.linear_to_mel_weight_matrix(*args)), atol=2e-6)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


@pytest.mark.slow  # eager on jax: ~1.5 s of compiles; the Keras 3 parity above runs in CI
def test_mel_spectrogram_equals_numpy_reference():
    layer = layers.MelSpectrogram(fft_length=32, sequence_stride=8, num_mel_bins=8, power_to_db=False,
                                  sampling_rate=1000, min_freq=0.0)
    got = np_(layer(SIGNAL))
    # numpy reference: centred reflect-padded frames, periodic hann, |rfft|^2, HTK triangles
    padded = np.pad(SIGNAL.astype("float64"), [(0, 0), (16, 16)], mode="reflect")
    frames = np.stack([padded[:, i:i + 32] for i in range(0, padded.shape[1] - 31, 8)], axis=1)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(32) / 32)
    power = np.abs(np.fft.rfft(frames * hann, axis=-1)) ** 2
    mel = lambda f: 1127.0 * np.log1p(np.asarray(f) / 700.0)  # noqa: E731
    edges = np.linspace(mel(0.0), mel(500.0), 10)
    bins = mel(np.linspace(0.0, 500.0, 17))[1:, None]
    tri = np.maximum(0, np.minimum((bins - edges[None, :-2]) / (edges[1:-1] - edges[:-2]),
                                   (edges[None, 2:] - bins) / (edges[2:] - edges[1:-1])))
    want = np.swapaxes(power @ np.pad(tri, [(1, 0), (0, 0)]), 1, 2)
    assert got.shape == (2, 8, 51) == tuple(layer.compute_output_shape(SIGNAL.shape))
    assert tuple(layer.compute_output_shape((400,))) == (8, 51)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


# -- ContrastLimitedAdaptiveHistogramEqualization (an image layer; its parity test shares this file's Keras) -------
CLAHE_CASES = [  # (kwargs, shape, value range of the data, whether Keras 3 on torch computes the same)
    (dict(tile_grid_size=(2, 2), clip_limit=32.0), (2, 8, 8, 3), (0, 255), True),  # limit 32 * 16 / 256 = 2
    pytest.param(dict(tile_grid_size=(3, 2), clip_limit=0, data_format="channels_first"), (2, 2, 6, 8), (0, 255),
                 True, marks=pytest.mark.slow),
    # 6x10 in a 2x3 grid: padded (symmetric) to 6x12, and a fractional limit
    (dict(value_range=(0, 1), tile_grid_size=(2, 3), clip_limit=2.0), (1, 6, 10, 1), (0, 1), False),
]


@pytest.mark.parametrize("kwargs, shape, value_range, torch_too", CLAHE_CASES)
def test_clahe_equals_keras(kwargs, shape, value_range, torch_too):
    x = RNG.uniform(*value_range, size=shape).astype("float32")
    ours = layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)
    theirs = keras.layers.ContrastLimitedAdaptiveHistogramEqualization(**kwargs)
    got, want = run(kshim, ours, x), run(keras, theirs, x)
    assert got.shape == want.shape == x.shape and got.dtype == np.float32
    assert np.all(got >= value_range[0]) and np.all(got <= value_range[1] + 1e-4)
    # Keras 3 on torch counts its histograms in integers (torch's one_hot), so it rounds a fractional clip limit
    # (clip_limit * tile_pixels / 256) down, and its "symmetric" padding differs from numpy's; kshim computes
    # what Keras 3 on jax does, on both backends.
    if torch_too or keras.config.backend() == "jax":
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name,
                                 "value_range": list(theirs.get_config()["value_range"]),
                                 "tile_grid_size": list(theirs.get_config()["tile_grid_size"])}


def test_clahe_checks_arguments():
    with pytest.raises(ValueError, match="tile_grid_size"):
        layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(0, 2))
    with pytest.raises(ValueError, match="rank"):
        layers.ContrastLimitedAdaptiveHistogramEqualization()(np.ones((4, 4), "float32"))


@pytest.mark.slow  # eager on jax: ~3 s of op-by-op compiles on both sides
def test_clahe_keeps_integer_images():
    x = RNG.integers(0, 256, size=(8, 8, 1)).astype("int32")  # one image, integers: the dtype stays
    got = layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2), clip_limit=0)(x)
    assert ops.standardize_dtype(got.dtype) == "int32" and tuple(got.shape) == (8, 8, 1)
    np.testing.assert_array_equal(
        np_(got), kn(keras.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2),
                                                                                 clip_limit=0)(x)))
