"""Dice, Tversky, Circle and CategoricalGeneralizedCrossEntropy against Keras 3 itself (function and class, with
sample weights), their configs, and their argument checks."""

import os
import warnings

import numpy as np
import pytest

import kshim
from kshim import ops

rs = np.random.default_rng(0)
SEG_TRUE = (rs.uniform(size=(4, 5, 3)) > 0.5).astype("float32")
SEG_PRED = rs.uniform(0.05, 0.95, size=(4, 5, 3)).astype("float32")
EMB = rs.normal(size=(8, 6)).astype("float32")
EMB /= np.linalg.norm(EMB, axis=1, keepdims=True)
EMB_LABELS = np.array([0, 1, 0, 2, 1, 2, 0, 3], "int32")
PROBS = rs.uniform(0.1, 1.0, size=(6, 4)).astype("float32")
PROBS /= PROBS.sum(axis=1, keepdims=True)
LABELS = np.array([0, 3, 1, 2, 2, 0], "int32")
WEIGHTS = np.array([1.0, 0.5, 2.0, 0.0, 1.0, 1.5, 1.0, 0.25], "float32")
CTC_TRUE = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [2, 0, 0, 0]], "int32")
CTC_PRED = rs.normal(size=(3, 7, 4)).astype("float32")

# name -> (function name, class name, class kwargs (function kwargs too), y_true, y_pred, sample weight)
CASES = {
    "dice": ("dice", "Dice", {}, SEG_TRUE, SEG_PRED, None),
    "dice.axis": ("dice", "Dice", {"axis": (1, 2)}, SEG_TRUE, SEG_PRED, WEIGHTS[:4]),
    "tversky": ("tversky", "Tversky", {"alpha": 0.3, "beta": 0.7}, SEG_TRUE, SEG_PRED, None),
    "tversky.axis": ("tversky", "Tversky", {"alpha": 0.6, "beta": 0.2, "axis": -1}, SEG_TRUE, SEG_PRED, None),
    "circle": ("circle", "Circle", {"gamma": 10.0, "margin": 0.3}, EMB_LABELS, EMB, WEIGHTS),
    "circle.keep_diagonal": ("circle", "Circle", {"remove_diagonal": False}, EMB_LABELS, EMB, None),
    "gce": ("categorical_generalized_cross_entropy", "CategoricalGeneralizedCrossEntropy", {"q": 0.7}, LABELS,
            PROBS, WEIGHTS[:6]),
    "ctc": ("ctc", "CTC", {}, CTC_TRUE, CTC_PRED, WEIGHTS[:3]),
}


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("keras")


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), np.float64)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_keras(keras, name):
    fn, cls, kwargs, y_true, y_pred, weight = CASES[name]
    np.testing.assert_allclose(_np(getattr(kshim.losses, fn)(y_true, y_pred, **kwargs)),
                               np.asarray(getattr(keras.losses, fn)(y_true, y_pred, **kwargs)), rtol=1e-5, atol=1e-6)
    ours, theirs = getattr(kshim.losses, cls)(**kwargs), getattr(keras.losses, cls)(**kwargs)
    np.testing.assert_allclose(_np(ours(y_true, y_pred, sample_weight=weight)),
                               np.asarray(theirs(y_true, y_pred, sample_weight=weight)), rtol=1e-5, atol=1e-6)
    theirs_config = {k: v for k, v in theirs.get_config().items() if k != "dtype"}
    assert ours.get_config() == {k: (tuple(v) if isinstance(v, list) else v) for k, v in theirs_config.items()}
    again = kshim.losses.deserialize(kshim.losses.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


def test_names_and_argument_checks():
    assert kshim.losses.get("dice") is kshim.losses.dice
    assert isinstance(kshim.losses.get("Tversky"), kshim.losses.Tversky)
    with pytest.raises(ValueError, match=r"`q` must be in the open interval \(0, 1\). Received: q=1.5"):
        kshim.losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match="`alpha` must be a float"):
        kshim.losses.Tversky(alpha="a")


def test_dice_trains_a_segmentation_head():
    kshim.utils.set_random_seed(1)
    model = kshim.Sequential([kshim.Input((5, 3)), kshim.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer=kshim.optimizers.Adam(0.05), loss=kshim.losses.Dice(axis=(1, 2)))
    history = model.fit(SEG_TRUE, SEG_TRUE, epochs=5, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
