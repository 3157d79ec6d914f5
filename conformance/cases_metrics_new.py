"""Cases for the metrics Keras 3 added: R2Score (each aggregation, adjusted), PearsonCorrelation and
ConcordanceCorrelation, with numpy references of Keras 3's formulas over the batches seen so far."""

import numpy as np

from conformance.cases_metrics import _regression, _sw, metric_case, wmean

EPS = 1e-7
BATCHES = [(*_regression(b), _sw(b)) for b in range(2)]


def _r2(aggregation="uniform_average", num_regressors=0):
    def ref(t, p, sw):
        w = np.ones_like(t) if sw is None else np.broadcast_to(sw[:, None], t.shape)
        s, sq, res, count = (t * w).sum(0), (t * t * w).sum(0), ((t - p) ** 2 * w).sum(0), w.sum(0)
        total = sq - s * (s / count)
        raw = 1 - res / total
        if aggregation == "uniform_average":
            score = raw.mean()
        elif aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        n = t.size
        if num_regressors and num_regressors < n - 1:
            score = 1 - (1 - score) * (n - 1) / (n - num_regressors - 1)
        return score
    return ref


def _pearson(t, p):
    tn, pn = t - t.mean(-1, keepdims=True), p - p.mean(-1, keepdims=True)
    return np.mean(tn / tn.std(-1, keepdims=True) * pn / pn.std(-1, keepdims=True), axis=-1)


def _concordance(t, p):
    tm, pm = t.mean(-1, keepdims=True), p.mean(-1, keepdims=True)
    norm = (t - tm).var(-1, keepdims=True) + (p - pm).var(-1, keepdims=True) + (tm - pm) ** 2
    return np.mean(2 * (t - pm) * (p - pm) / (norm + EPS), axis=-1)


metric_case("r2_score", "R2Score", BATCHES, _r2())
metric_case("r2_score.variance_weighted", "R2Score", BATCHES, _r2("variance_weighted_average"),
            {"class_aggregation": "variance_weighted_average"})
metric_case("r2_score.raw_adjusted", "R2Score", BATCHES, _r2(None, 2), {"class_aggregation": None,
                                                                        "num_regressors": 2})
metric_case("pearson_correlation", "PearsonCorrelation", BATCHES, wmean(_pearson))
metric_case("concordance_correlation", "ConcordanceCorrelation", BATCHES,
            wmean(_concordance))
