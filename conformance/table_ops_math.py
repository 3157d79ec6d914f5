"""The math table of kshim.ops cases: ``(id, source, inputs[, options])``, shared by
tests/test_ops_math.py (Keras 3 parity) and conformance/cases_ops_tables.py (backend against backend).
Imports numpy only."""

import numpy as np

R = np.random.default_rng(17)
DATA = R.normal(size=(6, 3)).astype("float32")
IDS = np.array([0, 0, 1, 3, 3, 3], "int32")
SIG = R.normal(size=(2, 40)).astype("float32")
RE, IM = R.normal(size=(3, 8)).astype("float32"), R.normal(size=(3, 8)).astype("float32")
PRED = R.normal(size=(4, 5)).astype("float32")
PRED[1, 2] = PRED[1, 4]  # a tie at the target
SPD = (lambda m: (m @ m.T + 3 * np.eye(3)).astype("float32"))(R.normal(size=(3, 3)))

CASES = [
    ("segment_sum", "lambda d, i: ops.segment_sum(d, i, num_segments=4)", [DATA, IDS]),
    ("segment_sum.sorted", "lambda d, i: ops.segment_sum(d, i, num_segments=4, sorted=True)", [DATA, IDS]),
    ("segment_max", "lambda d, i: ops.segment_max(d, i, num_segments=4)", [DATA, IDS]),
    ("segment_sum.int", "lambda d, i: ops.segment_sum(d, i, num_segments=5)", [np.arange(12, dtype="int32")
                                                                              .reshape(6, 2), IDS]),
    # kshim's indices are int32 on both backends (Keras 3 on torch gives int64)
    ("top_k", "lambda x: ops.top_k(x, 3)", [PRED], {"check_dtype": False, "keras": "jax"}),
    ("in_top_k", "lambda t, p: ops.in_top_k(t, p, 2)", [np.array([0, 2, 4, 1], "int32"), PRED]),
    ("in_top_k.k1_tie", "lambda t, p: ops.in_top_k(t, p, 1)", [np.array([0, 4, 4, 1], "int32"), PRED]),
    ("logsumexp", "lambda x: ops.logsumexp(x, axis=1, keepdims=True)", [PRED]),
    ("fft", "lambda a, b: ops.fft((a, b))", [RE, IM]),
    ("fft2", "lambda a, b: ops.fft2((a, b))", [RE, IM]),
    ("ifft2", "lambda a, b: ops.ifft2((a, b))", [RE, IM]),
    ("rfft", "lambda x: ops.rfft(x)", [SIG]),
    ("rfft.length", "lambda x: ops.rfft(x, fft_length=16)", [SIG]),
    ("irfft", "lambda a, b: ops.irfft((a, b))", [RE, IM]),
    ("irfft.length", "lambda a, b: ops.irfft((a, b), fft_length=10)", [RE, IM]),
    ("stft.hann", "lambda x: ops.stft(x, 12, 5, 16)", [SIG]),
    ("stft.hamming_nocenter", "lambda x: ops.stft(x, 16, 4, 16, window='hamming', center=False)", [SIG]),
    ("stft.no_window", "lambda x: ops.stft(x, 8, 8, 8, window=None)", [SIG]),
    ("istft", "lambda x: ops.istft(ops.stft(x, 16, 4, 16), 16, 4, 16)", [SIG]),
    # Where the window's overlap is tiny (the ends) Keras 3's torch istft (torch.istft) and jax istft (scipy's)
    # differ; kshim computes scipy's on both backends.
    ("istft.length", "lambda x: ops.istft(ops.stft(x, 12, 3, 16), 12, 3, 16, length=30)", [SIG],
     {"backends": ("jax",)}),
    ("istft.nocenter", "lambda x: ops.istft(ops.stft(x, 16, 8, 16, center=False), 16, 8, 16, center=False)",
     [SIG], {"backends": ("jax",)}),
    ("rsqrt", "lambda x: ops.rsqrt(x)", [np.abs(DATA) + 0.1]),
    ("erf", "lambda x: ops.erf(x)", [DATA]),
    ("erfc", "lambda x: ops.erfc(x * 3.0)", [DATA]),
    ("erfinv", "lambda x: ops.erfinv(x)", [np.tanh(DATA)]),
    ("logdet", "lambda x: ops.logdet(x)", [SPD]),
    ("cdist", "lambda x, y: ops.cdist(x, y)", [DATA, DATA[:4] * 2]),
    ("extract_sequences", "lambda x: ops.extract_sequences(x, 7, 3)", [SIG]),
    ("segment_min", "lambda d, i: ops.segment_min(d, i, num_segments=4)", [DATA, IDS], {"keras": "jax"}),
    ("segment_prod", "lambda d, i: ops.segment_prod(d, i, num_segments=4)", [DATA, IDS], {"keras": "jax"}),
]
