"""Attention layers, EinsumDense and RMSNormalization against real Keras 3.

Each case is one builder that both libraries run unchanged (``build(K)`` with ``K`` = kshim or keras). Keras runs
in a subprocess with ``KERAS_BACKEND`` set to kshim's backend; the two sides exchange weights only through
``.weights.h5`` files that each writes: Keras predicts with kshim's weights, and kshim with Keras's own initial
weights, and the outputs must agree at rtol 1e-5.

Run as a script (``python tests/test_layers_attention.py --keras DIR``) it is the Keras side.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

RTOL, ATOL = 1e-5, 1e-6
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tokens(rng, batch, steps, vocab=20):
    toks = rng.integers(1, vocab, size=(batch, steps))
    for i in range(batch):  # trailing padding, a different length per row (row 0 unpadded)
        toks[i, steps - i % steps:] = 0 if i else toks[i, steps:]
    return toks.astype("int32")


def _float(rng, *shape):
    return rng.normal(size=shape).astype("float32")


# name -> (builder, inputs(rng))
def _mha_self(K):
    x = K.Input((6, 8))
    return K.Model(x, K.layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x))


def _mha_cross(K):
    q, v, k = K.Input((5, 8)), K.Input((7, 6)), K.Input((7, 3))
    y = K.layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=5, output_shape=9, dropout=0.1)(q, v, k)
    return K.Model([q, v, k], y)


def _mha_causal(K):
    x = K.Input((6, 8))
    return K.Model(x, K.layers.MultiHeadAttention(2, 4)(x, x, use_causal_mask=True))


def _mha_scores(K):
    x = K.Input((6, 8))
    out, scores = K.layers.MultiHeadAttention(2, 4, use_bias=False)(x, x, return_attention_scores=True)
    return K.Model(x, [out, scores])


def _mha_embedding_mask(K):
    t = K.Input((7,), dtype="int32")
    e = K.layers.Embedding(20, 8, mask_zero=True)(t)
    y = K.layers.MultiHeadAttention(2, 4)(e, e)
    return K.Model(t, K.layers.GlobalAveragePooling1D()(y))


def _mha_embedding_mask_causal_scores(K):
    t = K.Input((7,), dtype="int32")
    e = K.layers.Embedding(20, 8, mask_zero=True)(t)
    out, scores = K.layers.MultiHeadAttention(2, 4)(e, e, use_causal_mask=True, return_attention_scores=True)
    return K.Model(t, [out, scores])


def _mha_masking_layer(K):
    x = K.Input((6, 5))
    m = K.layers.Masking(0.0)(x)
    y = K.layers.MultiHeadAttention(2, 3, dropout=0.2)(m, m)
    return K.Model(x, y)


def _mha_axes(K):
    x = K.Input((3, 4, 8))
    return K.Model(x, K.layers.MultiHeadAttention(2, 4, attention_axes=(1, 2))(x, x))


def _mha_gate(K):
    x = K.Input((6, 8))
    return K.Model(x, K.layers.MultiHeadAttention(2, 4, use_gate=True)(x, x))


def _gqa(K):
    x = K.Input((6, 8))
    return K.Model(x, K.layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)(x, x))


def _gqa_causal_scores(K):
    q, v = K.Input((5, 8)), K.Input((6, 8))
    out, s = K.layers.GroupQueryAttention(3, 4, 1)(q, v, use_causal_mask=True, return_attention_scores=True)
    return K.Model([q, v], [out, s])


def _gqa_embedding_mask(K):
    t = K.Input((7,), dtype="int32")
    e = K.layers.Embedding(20, 8, mask_zero=True)(t)
    return K.Model(t, K.layers.GroupQueryAttention(4, 4, 2)(e, e))


def _luong(K):
    q, v = K.Input((5, 4)), K.Input((6, 4))
    return K.Model([q, v], K.layers.Attention()([q, v]))


def _luong_scale_causal_scores(K):
    q, v, k = K.Input((6, 4)), K.Input((6, 3)), K.Input((6, 4))
    out, s = K.layers.Attention(use_scale=True)([q, v, k], use_causal_mask=True, return_attention_scores=True)
    return K.Model([q, v, k], [out, s])


def _luong_concat_masks(K):
    t = K.Input((7,), dtype="int32")
    e = K.layers.Embedding(20, 4, mask_zero=True)(t)
    return K.Model(t, K.layers.Attention(use_scale=True, score_mode="concat")([e, e]))


def _additive(K):
    q, v, k = K.Input((5, 4)), K.Input((6, 3)), K.Input((6, 4))
    out, s = K.layers.AdditiveAttention()([q, v, k], return_attention_scores=True)
    return K.Model([q, v, k], [out, s])


def _additive_masks_causal(K):
    t = K.Input((7,), dtype="int32")
    e = K.layers.Embedding(20, 4, mask_zero=True)(t)
    return K.Model(t, K.layers.AdditiveAttention()([e, e], use_causal_mask=True))


def _einsum(K):
    x = K.Input((5, 6))
    a = K.layers.EinsumDense("abc,cde->abde", output_shape=(None, 3, 4), bias_axes="de", activation="relu")(x)
    b = K.layers.EinsumDense("...b,bc->...c", output_shape=7, bias_axes="c")(x)
    c = K.layers.EinsumDense("ab...,bc->ac...", output_shape=(4, 6), bias_axes="c")(x)
    return K.Model(x, [a, b, c])


def _rms(K):
    x = K.Input((5, 6))
    a = K.layers.RMSNormalization()(x)
    b = K.layers.RMSNormalization(axis=[1, 2], epsilon=1e-3)(x)
    return K.Model(x, [a, b])


def _block(K):
    """A transformer encoder block, as the keras-io text classification example builds it."""
    t = K.Input((8,), dtype="int32")
    e = K.layers.Embedding(30, 16, mask_zero=True)(t)
    a = K.layers.MultiHeadAttention(num_heads=2, key_dim=16)(e, e)
    x = K.layers.LayerNormalization(epsilon=1e-6)(K.layers.Add()([e, a]))
    f = K.layers.Dense(16)(K.layers.Dense(32, activation="relu")(x))
    x = K.layers.LayerNormalization(epsilon=1e-6)(K.layers.Add()([x, f]))
    return K.Model(t, K.layers.Dense(2, activation="softmax")(K.layers.GlobalAveragePooling1D()(x)))


CASES = {
    "mha_self": (_mha_self, lambda r: [_float(r, 3, 6, 8)]),
    "mha_cross": (_mha_cross, lambda r: [_float(r, 3, 5, 8), _float(r, 3, 7, 6), _float(r, 3, 7, 3)]),
    "mha_causal": (_mha_causal, lambda r: [_float(r, 3, 6, 8)]),
    "mha_scores": (_mha_scores, lambda r: [_float(r, 3, 6, 8)]),
    "mha_embedding_mask": (_mha_embedding_mask, lambda r: [_tokens(r, 4, 7)]),
    "mha_embedding_mask_causal_scores": (_mha_embedding_mask_causal_scores, lambda r: [_tokens(r, 4, 7)]),
    "mha_masking_layer": (_mha_masking_layer,
                          lambda r: [np.where(np.arange(6)[None, :, None] < np.array([6, 4, 2])[:, None, None],
                                              _float(r, 3, 6, 5), 0.0).astype("float32")]),
    "mha_axes": (_mha_axes, lambda r: [_float(r, 2, 3, 4, 8)]),
    "mha_gate": (_mha_gate, lambda r: [_float(r, 3, 6, 8)]),
    "gqa": (_gqa, lambda r: [_float(r, 3, 6, 8)]),
    "gqa_causal_scores": (_gqa_causal_scores, lambda r: [_float(r, 3, 5, 8), _float(r, 3, 6, 8)]),
    "gqa_embedding_mask": (_gqa_embedding_mask, lambda r: [_tokens(r, 4, 7)]),
    "luong": (_luong, lambda r: [_float(r, 3, 5, 4), _float(r, 3, 6, 4)]),
    "luong_scale_causal_scores": (_luong_scale_causal_scores,
                                  lambda r: [_float(r, 3, 6, 4), _float(r, 3, 6, 3), _float(r, 3, 6, 4)]),
    "luong_concat_masks": (_luong_concat_masks, lambda r: [_tokens(r, 4, 7)]),
    "additive": (_additive, lambda r: [_float(r, 3, 5, 4), _float(r, 3, 6, 3), _float(r, 3, 6, 4)]),
    "additive_masks_causal": (_additive_masks_causal, lambda r: [_tokens(r, 4, 7)]),
    "einsum_dense": (_einsum, lambda r: [_float(r, 3, 5, 6)]),
    "rms_normalization": (_rms, lambda r: [_float(r, 3, 5, 6)]),
    "transformer_block": (_block, lambda r: [_tokens(r, 4, 8, vocab=30)]),
}


def _outputs(y):
    return [np.asarray(v) for v in (y if isinstance(y, (list, tuple)) else [y])]


def _inputs(name):
    x = CASES[name][1](np.random.default_rng(sorted(CASES).index(name)))
    return x[0] if len(x) == 1 else x


# -- the Keras side (a subprocess) -----------------------------------------------------------------------------------
def keras_side(workdir):
    import keras

    for name, (build, _) in CASES.items():
        try:
            _keras_case(keras, workdir, name, build)
        except Exception as e:  # reported by the case's test
            with open(os.path.join(workdir, f"{name}.error.txt"), "w") as f:
                f.write(f"{type(e).__name__}: {e}")


def _keras_case(keras, workdir, name, build):
    if True:
        x = _inputs(name)
        model = build(keras)
        model.save_weights(os.path.join(workdir, f"{name}.keras.weights.h5"))
        own = _outputs(model.predict(x, verbose=0))
        model.load_weights(os.path.join(workdir, f"{name}.kshim.weights.h5"))
        theirs = _outputs(model.predict(x, verbose=0))
        np.savez(os.path.join(workdir, f"{name}.out.npz"), *own, *theirs)
        with open(os.path.join(workdir, f"{name}.names.json"), "w") as f:
            json.dump([[w.path, list(w.shape)] for w in model.weights], f)
        keras.utils.clear_session()


# -- the kshim side -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keras_run(tmp_path_factory):
    import importlib.util

    import kshim

    if importlib.util.find_spec("keras") is None:
        pytest.skip("Keras 3 is not installed")

    workdir = str(tmp_path_factory.mktemp("attention_parity"))
    models = {}
    for i, (name, (build, _)) in enumerate(CASES.items()):
        kshim.utils.set_random_seed(100 + i)
        model = build(kshim)
        rng = np.random.default_rng(i)  # non-zero biases and scales, so that every weight matters
        model.set_weights([w + rng.normal(scale=0.3, size=w.shape).astype(w.dtype) for w in model.get_weights()])
        model.save_weights(os.path.join(workdir, f"{name}.kshim.weights.h5"))
        models[name] = model
    env = dict(os.environ, KERAS_BACKEND=kshim.backend.backend(), PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--keras", workdir], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir, models


@pytest.mark.parametrize("name", list(CASES))
def test_matches_keras_both_ways(keras_run, name):
    workdir, models = keras_run
    model = models[name]
    error = os.path.join(workdir, f"{name}.error.txt")
    if os.path.exists(error):
        with open(error) as f:
            pytest.fail(f"the Keras side failed: {f.read()[:3000]}")
    x = _inputs(name)
    with np.load(os.path.join(workdir, f"{name}.out.npz")) as f:
        arrays = [f[f"arr_{i}"] for i in range(len(f.files))]
    n = len(arrays) // 2
    keras_own, keras_with_ours = arrays[:n], arrays[n:]
    ours = _outputs(model.predict(x, verbose=0))
    assert len(ours) == n
    for a, b in zip(ours, keras_with_ours):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"{name}: kshim's weights")
    model.load_weights(os.path.join(workdir, f"{name}.keras.weights.h5"))
    for a, b in zip(_outputs(model.predict(x, verbose=0)), keras_own):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"{name}: Keras's weights")
    with open(os.path.join(workdir, f"{name}.names.json")) as f:
        keras_weights = json.load(f)
    assert [list(w.shape) for w in model.weights] == [s for _, s in keras_weights]
    assert [w.path.rsplit("/", 1)[-1] for w in model.weights] == [p.rsplit("/", 1)[-1] for p, _ in keras_weights]


if __name__ == "__main__" and sys.argv[1:2] == ["--keras"]:
    keras_side(sys.argv[2])
