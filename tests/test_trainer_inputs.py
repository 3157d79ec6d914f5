"""What fit/evaluate/predict accept, and the errors they give for what they cannot use.

Every accepted input form is checked against the same fit on numpy arrays: the final weights must agree.
"""

import warnings

import numpy as np
import pytest

import kshim
from kshim import layers, ops

N, BATCH, EPOCHS = 20, 5, 2
W0 = np.array([[0.5], [-1.0], [2.0]], "float32")


def _data(n=N, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
    return x, y


def _model():
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(1)])
    model.set_weights([W0, np.array([0.1], "float32")])
    model.compile(kshim.optimizers.SGD(0.05, momentum=0.5), "mse")
    return model


def _numpy_reference(epochs=EPOCHS):
    """Weights after the plain numpy-array fit (computed once per backend session)."""
    x, y = _data()
    model = _model()
    h = model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=False, verbose=0)
    return model.get_weights(), h.history["loss"]


@pytest.fixture(scope="module")
def reference():
    weights, loss = _numpy_reference()
    # The reference itself must be what SGD with momentum computes in numpy.
    x, y = _data()
    w, b = W0.astype("float64"), np.array([0.1])
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(EPOCHS):
        for i in range(0, N, BATCH):
            xb, yb = x[i:i + BATCH], y[i:i + BATCH]
            err = xb @ w + b - yb
            gw, gb = 2 * xb.T @ err / BATCH, 2 * err.mean(0)
            vw, vb = 0.5 * vw - 0.05 * gw, 0.5 * vb - 0.05 * gb
            w, b = w + vw, b + vb
    np.testing.assert_allclose(weights[0], w, rtol=1e-5)
    np.testing.assert_allclose(weights[1], b, rtol=1e-5)
    return weights, loss


def _assert_matches(model, history, reference, rtol=1e-6):
    weights, loss = reference
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(history.history["loss"], loss, rtol=rtol)


# -- accepted input forms --------------------------------------------------------------------------------------------
def test_python_lists(reference):
    x, y = _data()
    model = _model()
    h = model.fit(x.tolist(), y.tolist(), batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    _assert_matches(model, h, reference)
    assert all(w.dtype == np.float32 for w in model.get_weights())


def test_backend_tensors(reference):
    x, y = _data()
    tx, ty = ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    assert ops.is_tensor(tx)
    model = _model()
    h = model.fit(tx, ty, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    _assert_matches(model, h, reference)
    np.testing.assert_allclose(model.predict(tx, verbose=0), model.predict(x, verbose=0), rtol=0)


def test_float64_numpy_is_cast_to_float32(reference):
    x, y = _data()
    model = _model()
    h = model.fit(x.astype("float64"), y.astype("float64"), batch_size=BATCH, epochs=EPOCHS, shuffle=False,
                  verbose=0)
    _assert_matches(model, h, reference)
    assert all(w.dtype == np.float32 for w in model.get_weights())


def test_generator_with_steps_per_epoch(reference):
    x, y = _data()
    pulled = []

    def batches():
        while True:
            for i in range(0, N, BATCH):
                pulled.append(i)
                yield x[i:i + BATCH], y[i:i + BATCH]

    model = _model()
    h = model.fit(batches(), steps_per_epoch=N // BATCH, epochs=EPOCHS, verbose=0)
    _assert_matches(model, h, reference)
    assert len(pulled) == EPOCHS * N // BATCH
    # evaluate on a generator with `steps`
    loss = model.evaluate(batches(), steps=N // BATCH, verbose=0)
    np.testing.assert_allclose(loss, model.evaluate(x, y, batch_size=BATCH, verbose=0), rtol=1e-6)


class _Batches(kshim.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epoch_ends = 0
        self.requested = []

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, i):
        self.requested.append(i)
        sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[sl], self.y[sl]

    def on_epoch_end(self):
        self.epoch_ends += 1


def test_py_dataset(reference):
    x, y = _data()
    ds = _Batches(x, y, BATCH)
    model = _model()
    h = model.fit(ds, epochs=EPOCHS, verbose=0)
    _assert_matches(model, h, reference)
    assert ds.epoch_ends == EPOCHS
    assert ds.requested == list(range(N // BATCH)) * EPOCHS
    np.testing.assert_allclose(model.predict(_Batches(x, y, 7), verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    d = model.evaluate(ds, verbose=0, return_dict=True)
    np.testing.assert_allclose(d["loss"], model.evaluate(x, y, verbose=0), rtol=1e-6)


def test_py_dataset_with_sample_weights():
    x, y = _data()

    class Weighted(_Batches):
        def __getitem__(self, i):
            xb, yb = super().__getitem__(i)
            return xb, yb, np.full(len(xb), 2.0, "float32")

    a = _model()
    ha = a.fit(Weighted(x, y, BATCH), epochs=1, verbose=0)
    b = _model()
    b.compile(kshim.optimizers.SGD(0.1, momentum=0.5), "mse")  # weight 2 doubles the gradient
    b.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)
    c = _model()
    hc = c.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert ha.history["loss"][0] > 1.5 * hc.history["loss"][0]  # the logged loss is weighted too


def test_keras2_sequence_warns_and_trains(reference):
    x, y = _data()
    with pytest.warns(DeprecationWarning, match="PyDataset"):
        class OldStyle(kshim.utils.Sequence):
            def __init__(self):
                self.ends = 0

            def __len__(self):
                return N // BATCH

            def __getitem__(self, i):
                return x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH]

            def on_epoch_end(self):
                self.ends += 1

    seq = OldStyle()
    model = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # using it does not warn again
        h = model.fit(seq, epochs=EPOCHS, verbose=0)
    _assert_matches(model, h, reference)
    assert seq.ends == EPOCHS


def test_reiterable_iterable_is_iterated_once_per_epoch(reference):
    x, y = _data()

    class Loader:
        def __init__(self):
            self.iterations = 0

        def __iter__(self):
            self.iterations += 1
            for i in range(0, N, BATCH):
                yield x[i:i + BATCH], y[i:i + BATCH]

    loader = Loader()
    model = _model()
    h = model.fit(loader, epochs=EPOCHS, verbose=0)
    _assert_matches(model, h, reference)
    assert loader.iterations == EPOCHS


def test_torch_dataloader(reference):
    if kshim.config.backend() != "torch":
        pytest.skip("a torch DataLoader is only accepted on the torch backend")
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    x, y = _data()
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=BATCH, shuffle=False)
    model = _model()
    h = model.fit(loader, epochs=EPOCHS, verbose=0)
    _assert_matches(model, h, reference)
    val = model.evaluate(loader, verbose=0)
    np.testing.assert_allclose(val, model.evaluate(x, y, verbose=0), rtol=1e-6)


# -- errors ----------------------------------------------------------------------------------------------------------
def test_x_and_y_of_different_lengths():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="same number of samples") as e:
        model.fit(x, y[:-1], verbose=0)
    assert "20" in str(e.value) and "19" in str(e.value)
    with pytest.raises(ValueError, match="same number of samples"):
        model.evaluate(x[:-2], y, verbose=0)


def test_feature_shape_the_model_does_not_accept():
    x, y = _data()
    model = _model()
    bad = np.concatenate([x, x[:, :1]], axis=1)
    with pytest.raises(ValueError) as e:
        model.fit(bad, y, verbose=0)
    msg = str(e.value)
    assert "(None, 3)" in msg and "(None, 4)" in msg, msg
    with pytest.raises(ValueError) as e:
        model.predict(bad, verbose=0)
    assert "(None, 3)" in str(e.value) and "(None, 4)" in str(e.value)
    with pytest.raises(ValueError) as e:
        model.evaluate(x[:, :2], y, verbose=0)
    assert "(None, 3)" in str(e.value) and "(None, 2)" in str(e.value)


def test_integer_labels_with_categorical_crossentropy_hint_at_sparse():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3)).astype("float32")
    labels = rng.integers(0, 4, size=(12,))
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(4, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy")
    for y in (labels, labels[:, None]):
        with pytest.raises(ValueError, match="sparse_categorical_crossentropy") as e:
            model.fit(x, y, verbose=0)
        assert "(12, 4)" in str(e.value) or "(None, 4)" in str(e.value), str(e.value)


def test_sparse_labels_of_the_wrong_shape():
    x = np.zeros((12, 3), "float32")
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(4, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="integer class labels"):
        model.fit(x, np.zeros((12, 2), "int32"), verbose=0)


def test_fit_and_evaluate_before_compile():
    x, y = _data()
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(1)])
    for method in (model.fit, model.evaluate, model.train_on_batch, model.test_on_batch):
        with pytest.raises(ValueError, match=r"compile\(\)"):
            method(x, y)


@pytest.mark.parametrize("kwargs, wrong, suggestion", [
    (dict(loss="mean_squared_eror"), "mean_squared_eror", "mean_squared_error"),
    (dict(loss="mse", optimizer="adma"), "adma", "adam"),
    (dict(loss="mse", metrics=["accuracy", "precison"]), "precison", "precision"),
    (dict(loss="mse", metrics=["mean_absolute_eror"]), "mean_absolute_eror", "mean_absolute_error"),
])
def test_unknown_names_raise_at_compile_time(kwargs, wrong, suggestion):
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(1)])
    with pytest.raises(ValueError) as e:
        model.compile(**kwargs)
    msg = str(e.value)
    assert repr(wrong) in msg and "did you mean" in msg.lower() and repr(suggestion) in msg, msg
    assert not model.compiled


def test_unknown_compile_argument():
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="metric"):
        model.compile(loss="mse", metric=["mae"])


@pytest.mark.parametrize("kwargs, name", [
    (dict(epochs=0), "epochs"), (dict(epochs=-1), "epochs"), (dict(epochs=1.5), "epochs"), (dict(epochs="3"), "epochs"),
    (dict(batch_size=0), "batch_size"), (dict(batch_size=-4), "batch_size"), (dict(batch_size=2.5), "batch_size"),
    (dict(verbose=3), "verbose"), (dict(verbose="loud"), "verbose"),
    (dict(steps_per_epoch=0), "steps_per_epoch"),
])
def test_bad_fit_arguments(kwargs, name):
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match=f"`{name}`") as e:
        model.fit(x, y, **kwargs)
    assert repr(list(kwargs.values())[0]) in str(e.value)
    np.testing.assert_array_equal(model.get_weights()[0], W0)  # nothing was trained


def test_bad_evaluate_and_predict_arguments():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="`batch_size`"):
        model.evaluate(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="`batch_size`"):
        model.predict(x, batch_size=-1, verbose=0)
    with pytest.raises(ValueError, match="`steps`"):
        model.predict(x, steps=0, verbose=0)


def test_targets_passed_next_to_a_dataset():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="do not pass `y`"):
        model.fit(_Batches(x, y, BATCH), y, verbose=0)


def test_nan_inputs_do_not_crash_fit_and_the_history_holds_nan():
    x, y = _data()
    x = x.copy()
    x[3, 1] = np.nan
    model = _model()
    h = model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    assert len(h.history["loss"]) == 2
    assert all(np.isnan(v) for v in h.history["loss"])
    assert np.isnan(model.get_weights()[0]).all()


def test_a_one_shot_generator_that_runs_out_stops_fit_with_a_warning():
    x, y = _data()
    model = _model()
    batches = ((x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, N, BATCH))
    with pytest.warns(UserWarning, match="ran out"):
        h = model.fit(batches, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 1
    ref = _model()
    ref.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(ValueError, match="no batches"):
        model.fit(batches, epochs=1, verbose=0)  # already exhausted


def test_validation_split_with_a_generator_is_refused():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(((x[:5], y[:5]) for _ in range(3)), validation_split=0.2, verbose=0)


def test_fit_without_targets_names_y():
    x, _ = _data()
    model = _model()
    with pytest.raises(ValueError, match="`y`"):
        model.fit(x, verbose=0)
