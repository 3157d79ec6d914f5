"""R2Score, PearsonCorrelation and ConcordanceCorrelation against Keras 3 itself: several batches with sample
weights, the function forms, configs, and the stateless API; and the loss functions keras.metrics re-exports."""

import os
import warnings

import numpy as np
import pytest

import kshim
from kshim import ops

rs = np.random.default_rng(3)
Y_TRUE = rs.normal(size=(3, 8, 4)).astype("float32")  # three batches
Y_PRED = (Y_TRUE + rs.normal(scale=0.7, size=Y_TRUE.shape)).astype("float32")
W = rs.uniform(0.2, 2.0, size=(3, 8)).astype("float32")

# name -> (class name, kwargs, sample weights?)
CASES = {
    "r2": ("R2Score", {}, True),
    "r2.variance_weighted": ("R2Score", {"class_aggregation": "variance_weighted_average"}, False),
    "r2.raw": ("R2Score", {"class_aggregation": None}, True),
    "r2.adjusted": ("R2Score", {"num_regressors": 3}, False),
    "pearson": ("PearsonCorrelation", {}, True),
    "pearson.axis0": ("PearsonCorrelation", {"axis": 0}, False),
    "concordance": ("ConcordanceCorrelation", {}, True),
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
    cls, kwargs, weighted = CASES[name]
    ours, theirs = getattr(kshim.metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs)
    for i in range(3):
        sw = W[i] if weighted and not (cls != "R2Score" and kwargs.get("axis") == 0) else None
        ours.update_state(Y_TRUE[i], Y_PRED[i], sample_weight=sw)
        theirs.update_state(Y_TRUE[i], Y_PRED[i], sample_weight=sw)
        np.testing.assert_allclose(_np(ours.result()), np.asarray(theirs.result()), rtol=1e-5, atol=1e-6)
    assert ours.get_config() == theirs.get_config()
    values = [v.value for v in ours.variables]
    np.testing.assert_allclose(_np(ours.stateless_result(values)), _np(ours.result()), rtol=1e-6)
    ours.reset_state()
    again = type(ours).from_config(ours.get_config())
    assert again.get_config() == ours.get_config()


def test_functions_match_keras(keras):
    for fn in ("pearson_correlation", "concordance_correlation", "huber", "binary_focal_crossentropy",
               "categorical_focal_crossentropy"):
        t, p = (Y_TRUE[0], Y_PRED[0]) if fn in ("pearson_correlation", "concordance_correlation", "huber") else \
            ((Y_TRUE[0] > 0).astype("float32"), 1 / (1 + np.exp(-Y_PRED[0])))
        np.testing.assert_allclose(_np(getattr(kshim.metrics, fn)(t, p)), np.asarray(getattr(keras.metrics, fn)(t, p)),
                                   rtol=1e-5, atol=1e-6)


def test_argument_checks_and_names():
    with pytest.raises(ValueError, match="class_aggregation"):
        kshim.metrics.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match="num_regressors"):
        kshim.metrics.R2Score(num_regressors=-1)
    with pytest.raises(ValueError, match="2-D"):
        kshim.metrics.R2Score().update_state(np.zeros(3, "float32"), np.zeros(3, "float32"))
    assert isinstance(kshim.metrics.get("r2_score"), kshim.metrics.R2Score)
    assert isinstance(kshim.metrics.get("PearsonCorrelation"), kshim.metrics.PearsonCorrelation)


def test_r2_score_in_fit():
    kshim.utils.set_random_seed(2)
    model = kshim.Sequential([kshim.Input((4,)), kshim.layers.Dense(4)])
    model.compile(optimizer="adam", loss="mse", metrics=[kshim.metrics.R2Score(), kshim.metrics.PearsonCorrelation()])
    logs = model.evaluate(Y_TRUE[0], Y_PRED[0], verbose=0, return_dict=True)
    reference = kshim.metrics.R2Score()
    reference.update_state(Y_PRED[0], model.predict(Y_TRUE[0], verbose=0))
    np.testing.assert_allclose(logs["r2_score"], _np(reference.result()), rtol=1e-5)
