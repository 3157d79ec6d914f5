"""Cases for the losses Keras 3 added: Dice, Tversky, Circle, CategoricalGeneralizedCrossEntropy, CTC (function,
class, sample weights, gradient), with numpy references of Keras 3's formulas."""

import numpy as np

from conformance.case import rng
from conformance.cases_losses import loss_case

EPS = 1e-7
SEG_TRUE = (rng(600).uniform(size=(6, 4)) > 0.5).astype(np.float32)
SEG_PRED = rng(601).uniform(0.05, 0.95, size=(6, 4)).astype(np.float32)
_emb = rng(602).normal(size=(6, 5))
EMB = (_emb / np.linalg.norm(_emb, axis=1, keepdims=True)).astype(np.float32)
EMB_LABELS = np.array([0, 1, 0, 2, 1, 2], np.int32)
_p = rng(603).uniform(0.1, 1.0, size=(6, 4))
PROBS = (_p / _p.sum(axis=1, keepdims=True)).astype(np.float32)
LABELS = np.array([0, 3, 1, 2, 2, 0], np.int32)
CTC_TRUE = np.array([[1, 2, 2], [3, 1, 0], [2, 0, 0], [1, 1, 0], [3, 2, 1], [0, 0, 0]], np.int32)
CTC_PRED = rng(604).normal(size=(6, 6, 4)).astype(np.float32)


def np_dice(t, p, axis=None):
    return 1 - 2 * np.sum(t * p, axis=axis) / (np.sum(t, axis=axis) + np.sum(p, axis=axis) + EPS)


def np_tversky(t, p, alpha=0.5, beta=0.5, axis=None):
    tp = np.sum(t * p, axis=axis)
    fp, fn = np.sum((1 - p) * t, axis=axis), np.sum(p * (1 - t), axis=axis)
    return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


def _logsumexp(x, where):
    out = np.full(x.shape[0], -np.inf)
    for i in range(x.shape[0]):
        v = x[i][where[i]]
        if v.size:
            m = v.max()
            out[i] = m + np.log(np.sum(np.exp(v - m)))
    return out


def np_circle(labels, emb, gamma=80.0, margin=0.4, remove_diagonal=True):
    d = np.maximum(1 - emb @ emb.T, 0.0)
    pos = labels[:, None] == labels[None, :]
    neg = ~pos
    if remove_diagonal:
        pos = pos & ~np.eye(len(labels), dtype=bool)
    pw = np.maximum((margin + d) * pos, 0.0)
    nw = np.maximum((1 + margin - d) * neg, 0.0)
    p_loss = _logsumexp(-gamma * pw * (margin - d), pos)
    n_loss = _logsumexp(gamma * nw * (1 - margin - d), neg)
    return np.logaddexp(0.0, p_loss + n_loss)


def np_ctc(labels, logits):
    """-log p(labels | logits) by the CTC forward recursion in probability space, blank 0 and label padding 0."""
    out = []
    for lab, z in zip(labels, logits):
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        lab = [int(v) for v in lab if v != 0]
        ext = [0]
        for v in lab:
            ext += [v, 0]
        alpha = np.zeros(len(ext))
        alpha[0] = p[0, 0]
        if len(ext) > 1:
            alpha[1] = p[0, ext[1]]
        for t in range(1, len(z)):
            new = alpha.copy()
            new[1:] += alpha[:-1]
            for s in range(2, len(ext)):
                if ext[s] != 0 and ext[s] != ext[s - 2]:
                    new[s] += alpha[s - 2]
            alpha = new * p[t, ext]
        out.append(-np.log(alpha[-1] + (alpha[-2] if len(ext) > 1 else 0.0)))
    return np.array(out)


def np_gce(labels, probs, q):
    return (1 - probs[np.arange(len(labels)), labels] ** q) / q


loss_case("dice", "dice", "Dice", np_dice, SEG_TRUE, SEG_PRED, {"axis": -1})
loss_case("tversky", "tversky", "Tversky", np_tversky, SEG_TRUE, SEG_PRED, {"alpha": 0.3, "beta": 0.7, "axis": -1})
loss_case("circle", "circle", "Circle", np_circle, EMB_LABELS, EMB, {"gamma": 10.0, "margin": 0.3}, rtol=1e-4,
          atol=1e-5, ref_rtol=1e-4, ref_atol=1e-5)
loss_case("categorical_generalized_cross_entropy", "categorical_generalized_cross_entropy",
          "CategoricalGeneralizedCrossEntropy", np_gce, LABELS, PROBS, {"q": 0.7})
loss_case("ctc", "ctc", "CTC", np_ctc, CTC_TRUE, CTC_PRED, grad=False, rtol=1e-5, atol=1e-5, ref_rtol=1e-4, ref_atol=1e-5)
