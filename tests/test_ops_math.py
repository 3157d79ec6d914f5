"""kshim.ops math names (segments, top-k, FFTs, stft/istft, special functions) against Keras 3."""

import numpy as np
import pytest

from kshim import ops
from tests.keras_ops_parity import parity_tests

from conformance.table_ops_math import *  # noqa: F401,F403  (the table and its inputs)
from conformance.table_ops_math import CASES


keras_results, test_matches_keras = parity_tests(__name__, CASES, ops, atol=1e-5)


def test_segments_against_numpy_and_empty_segments():
    out = ops.convert_to_numpy(ops.segment_max(DATA, IDS, num_segments=4))
    np.testing.assert_allclose(out[0], DATA[:2].max(0))
    assert np.all(out[2] == -np.inf)  # an empty segment holds the identity of max
    np.testing.assert_allclose(ops.convert_to_numpy(ops.segment_sum(DATA, IDS)), [DATA[:2].sum(0), DATA[2],
                               np.zeros(3), DATA[3:].sum(0)], rtol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(ops.segment_prod(DATA, IDS, 4))[3], DATA[3:].prod(0), rtol=1e-6)


def test_stft_against_numpy_and_istft_inverts_it():
    real, imag = (ops.convert_to_numpy(t) for t in ops.stft(SIG, 16, 4, 16, center=False))
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(16) / 16)
    frames = np.stack([SIG[:, i:i + 16] * win for i in range(0, 40 - 15, 4)], axis=1)
    ref = np.fft.rfft(frames.astype("float64"), axis=-1)
    np.testing.assert_allclose(real, ref.real, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(imag, ref.imag, rtol=1e-4, atol=1e-4)
    back = ops.convert_to_numpy(ops.istft(ops.stft(SIG, 16, 4, 16), 16, 4, 16))
    np.testing.assert_allclose(back, SIG[:, :back.shape[-1]], atol=1e-5)


def test_gradients_of_rsqrt_erfinv_and_segment_sum():
    x = np.array([0.5, 1.0, 2.0], "float32")
    g = ops.value_and_grad(lambda p: ops.sum(ops.rsqrt(p[0])))([ops.convert_to_tensor(x)])[1][0]
    np.testing.assert_allclose(ops.convert_to_numpy(g), -0.5 * x ** -1.5, rtol=1e-5)
    y = np.array([-0.5, 0.1, 0.7], "float32")
    g = ops.value_and_grad(lambda p: ops.sum(ops.erfinv(p[0])))([ops.convert_to_tensor(y)])[1][0]
    # d/dy erfinv(y) = sqrt(pi) / 2 * exp(erfinv(y) ** 2)
    e = ops.convert_to_numpy(ops.erfinv(y)).astype("float64")
    np.testing.assert_allclose(ops.convert_to_numpy(g), np.sqrt(np.pi) / 2 * np.exp(e ** 2), rtol=1e-5)
    g = ops.value_and_grad(lambda p: ops.sum(ops.multiply(ops.segment_sum(p[0], IDS, 4), 2.0)))(
        [ops.convert_to_tensor(DATA)])[1][0]
    np.testing.assert_allclose(ops.convert_to_numpy(g), np.full(DATA.shape, 2.0))
