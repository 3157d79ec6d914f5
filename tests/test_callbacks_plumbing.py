"""The callback plumbing of fit/evaluate/predict: hook order and counts, logs, params, stop_training, and what
the progress bar prints."""

import re

import numpy as np
import pytest

import kshim
from kshim import layers, ops

W0 = np.array([[0.5], [-1.0], [2.0]], "float32")


def _data(n=15, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (x @ np.array([[1.5], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
    return x, y


def _model(metrics=None, lr=0.05):
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(1)])
    model.set_weights([W0, np.array([0.1], "float32")])
    model.compile(kshim.optimizers.SGD(lr), "mse", metrics=metrics)
    return model


def _to_numpy(v):
    return ops.convert_to_numpy(v) if ops.is_tensor(v) else np.asarray(v)


class Recorder(kshim.callbacks.Callback):
    """Records every Keras 3 hook with its arguments."""

    def __init__(self):
        super().__init__()
        self.events = []
        self.logs = {}

    def _rec(self, name, *args, logs=None):
        self.events.append((name,) + args)
        self.logs.setdefault(name, []).append(None if logs is None else dict(logs))

    def on_train_begin(self, logs=None): self._rec("on_train_begin", logs=logs)
    def on_train_end(self, logs=None): self._rec("on_train_end", logs=logs)
    def on_epoch_begin(self, epoch, logs=None): self._rec("on_epoch_begin", epoch, logs=logs)
    def on_epoch_end(self, epoch, logs=None): self._rec("on_epoch_end", epoch, logs=logs)
    def on_train_batch_begin(self, batch, logs=None): self._rec("on_train_batch_begin", batch)
    def on_train_batch_end(self, batch, logs=None): self._rec("on_train_batch_end", batch, logs=logs)
    def on_test_begin(self, logs=None): self._rec("on_test_begin")
    def on_test_end(self, logs=None): self._rec("on_test_end", logs=logs)
    def on_test_batch_begin(self, batch, logs=None): self._rec("on_test_batch_begin", batch)
    def on_test_batch_end(self, batch, logs=None): self._rec("on_test_batch_end", batch, logs=logs)
    def on_predict_begin(self, logs=None): self._rec("on_predict_begin")
    def on_predict_end(self, logs=None): self._rec("on_predict_end")
    def on_predict_batch_begin(self, batch, logs=None): self._rec("on_predict_batch_begin", batch)

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("on_predict_batch_end", batch))
        self.logs.setdefault("on_predict_batch_end", []).append(_to_numpy(logs["outputs"]))


def _expected_fit_events(epochs, train_steps, val_steps, initial_epoch=0):
    ev = [("on_train_begin",)]
    for e in range(initial_epoch, epochs):
        ev.append(("on_epoch_begin", e))
        for b in range(train_steps):
            ev += [("on_train_batch_begin", b), ("on_train_batch_end", b)]
        if val_steps:
            ev.append(("on_test_begin",))
            for b in range(val_steps):
                ev += [("on_test_batch_begin", b), ("on_test_batch_end", b)]
            ev.append(("on_test_end",))
        ev.append(("on_epoch_end", e))
    ev.append(("on_train_end",))
    return ev


# -- hooks during fit ------------------------------------------------------------------------------------------------
def test_fit_hook_sequence_logs_and_params():
    x, y = _data()
    model = _model(metrics=[kshim.metrics.MeanAbsoluteError()])
    rec = Recorder()
    h = model.fit(x, y, batch_size=4, epochs=2, validation_data=(x[:10], y[:10]), validation_batch_size=5,
                  shuffle=False, callbacks=[rec], verbose=0)
    assert rec.events == _expected_fit_events(epochs=2, train_steps=4, val_steps=2)
    assert rec.model is model
    assert rec.params["epochs"] == 2 and rec.params["steps"] == 4 and rec.params["verbose"] == 0

    epoch_logs = rec.logs["on_epoch_end"]
    for logs in epoch_logs:
        assert set(logs) == {"loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error"}
        assert all(type(v) is float for v in logs.values()), {k: type(v) for k, v in logs.items()}
    for k in h.history:
        assert h.history[k] == [logs[k] for logs in epoch_logs]
    assert rec.logs["on_train_end"][-1] == epoch_logs[-1]

    batch_logs = rec.logs["on_train_batch_end"]
    assert len(batch_logs) == 8
    for logs in batch_logs:
        assert type(logs["loss"]) is float and type(logs["mean_absolute_error"]) is float
    # The batch logs are running means over the epoch: the last batch's equal the epoch's training logs.
    assert batch_logs[3]["loss"] == pytest.approx(epoch_logs[0]["loss"], rel=1e-6)
    assert batch_logs[7]["loss"] == pytest.approx(epoch_logs[1]["loss"], rel=1e-6)
    # The first batch's loss is the mse of the initial weights on the first 4 samples.
    err = x[:4] @ W0 + 0.1 - y[:4]
    assert batch_logs[0]["loss"] == pytest.approx(float(np.mean(err ** 2)), rel=1e-6)
    # The validation batch logs are running means as well; the last one is the epoch's val_ value.
    test_batch_logs = rec.logs["on_test_batch_end"]
    assert len(test_batch_logs) == 4
    assert test_batch_logs[1]["loss"] == pytest.approx(epoch_logs[0]["val_loss"], rel=1e-6)


def test_fit_hooks_with_initial_epoch_and_no_validation():
    x, y = _data(n=12)
    rec = Recorder()
    _model().fit(x, y, batch_size=6, epochs=3, initial_epoch=1, callbacks=[rec], verbose=0)
    assert rec.events == _expected_fit_events(epochs=3, train_steps=2, val_steps=0, initial_epoch=1)
    assert all("val_loss" not in logs for logs in rec.logs["on_epoch_end"])


def test_self_model_sees_current_weights_in_batch_hooks():
    x, y = _data(n=8)
    kernels = []

    class Watch(kshim.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            kernels.append(self.model.get_weights()[0].copy())

    model = _model(lr=0.1)
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, callbacks=[Watch()], verbose=0)
    w, b = W0.copy(), np.float32(0.1)
    for i, sl in enumerate((slice(0, 4), slice(4, 8))):
        err = x[sl] @ w + b - y[sl]
        w, b = w - 0.1 * 2 * x[sl].T @ err / 4, b - 0.1 * 2 * err.mean()
        np.testing.assert_allclose(kernels[i], w, rtol=1e-5)


def test_keras2_batch_hook_names():
    x, y = _data(n=12)

    class Old(kshim.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begins, self.ends = [], []

        def on_batch_begin(self, batch, logs=None):
            self.begins.append(batch)

        def on_batch_end(self, batch, logs=None):
            self.ends.append((batch, type(logs["loss"])))

    cb = Old()
    _model().fit(x, y, batch_size=4, epochs=2, validation_data=(x, y), callbacks=[cb], verbose=0)
    assert cb.begins == [0, 1, 2] * 2  # training batches only, not validation ones
    assert cb.ends == [(b, float) for b in [0, 1, 2] * 2]


def test_overriding_both_batch_hook_names_calls_only_the_keras3_one():
    x, y = _data(n=8)

    class Both(kshim.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_train_batch_end(self, batch, logs=None):
            self.calls.append("train_batch_end")

        def on_batch_end(self, batch, logs=None):
            self.calls.append("batch_end")

    cb = Both()
    _model().fit(x, y, batch_size=4, epochs=1, callbacks=[cb], verbose=0)
    assert cb.calls == ["train_batch_end", "train_batch_end"]


def test_on_test_end_during_validation_gets_unprefixed_logs():
    x, y = _data()
    rec = Recorder()
    _model().fit(x, y, batch_size=5, epochs=1, validation_data=(x, y), callbacks=[rec], verbose=0)
    logs = rec.logs["on_test_end"][0]
    assert set(logs) == {"loss"}
    assert logs["loss"] == pytest.approx(rec.logs["on_epoch_end"][0]["val_loss"], rel=1e-7)


def test_batch_logs_kept_by_a_callback_stay_readable():
    x, y = _data(n=20)

    class Keep(kshim.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.kept = []

        def on_train_batch_end(self, batch, logs=None):
            self.kept.append(logs)

        def on_test_batch_end(self, batch, logs=None):
            self.kept.append(logs)

    class ReadNow(kshim.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.read_now = []

        def on_train_batch_end(self, batch, logs=None):
            self.read_now.append(dict(logs))

        def on_test_batch_end(self, batch, logs=None):
            self.read_now.append(dict(logs))

    keep, now = Keep(), ReadNow()  # in separate runs: the callbacks of one run share each logs object
    _model().fit(x, y, batch_size=5, epochs=2, shuffle=False, validation_data=(x, y), callbacks=[now], verbose=0)
    _model().fit(x, y, batch_size=5, epochs=2, shuffle=False, validation_data=(x, y), callbacks=[keep], verbose=0)
    assert len(keep.kept) == 16
    assert [dict(l) for l in keep.kept] == now.read_now


# -- stop_training ---------------------------------------------------------------------------------------------------
def test_stop_training_in_on_epoch_end_stops_after_that_epoch():
    x, y = _data()

    class StopAt(kshim.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    rec = Recorder()
    h = _model().fit(x, y, batch_size=5, epochs=6, callbacks=[StopAt(), rec], verbose=0)
    assert len(h.history["loss"]) == 2
    assert [e[1] for e in rec.events if e[0] == "on_epoch_begin"] == [0, 1]
    assert rec.events[-1] == ("on_train_end",)


def _second_batch_loss(x, y):
    """The mse of the second batch after one SGD(0.1) step on the first."""
    err = x[:5] @ W0 + 0.1 - y[:5]
    w = W0 - 0.1 * 2 * x[:5].T @ err / 5
    b = 0.1 - 0.1 * 2 * err.mean()
    return float(np.mean((x[5:10] @ w + b - y[5:10]) ** 2))


def test_stop_training_in_on_batch_end_stops_within_the_epoch():
    x, y = _data(n=20)

    class StopAt(kshim.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    rec = Recorder()
    model = _model(lr=0.1)
    h = model.fit(x, y, batch_size=5, epochs=3, shuffle=False, validation_data=(x, y), callbacks=[StopAt(), rec],
                  verbose=0)
    assert len(h.history["loss"]) == 1
    assert [e[1] for e in rec.events if e[0] == "on_train_batch_end"] == [0, 1]
    names = [e[0] for e in rec.events]
    assert names[-2:] == ["on_epoch_end", "on_train_end"]
    # Exactly two SGD steps were taken.
    ref = _model(lr=0.1)
    ref.train_on_batch(x[:5], y[:5])
    ref.train_on_batch(x[5:10], y[5:10])
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    # The logged epoch loss covers the two batches that ran.
    e1 = x[:5] @ W0 + 0.1 - y[:5]
    assert h.history["loss"][0] == pytest.approx(float(np.mean(e1 ** 2) + _second_batch_loss(x, y)) / 2, rel=1e-5)


def test_stop_training_is_reset_by_the_next_fit():
    x, y = _data()

    class StopNow(kshim.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    model = _model()
    model.fit(x, y, epochs=3, callbacks=[StopNow()], verbose=0)
    assert model.stop_training
    h = model.fit(x, y, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3


# -- evaluate and predict hooks --------------------------------------------------------------------------------------
def test_evaluate_hooks():
    x, y = _data()
    rec = Recorder()
    model = _model()
    result = model.evaluate(x, y, batch_size=4, callbacks=[rec], verbose=0)
    expected = [("on_test_begin",)]
    for b in range(4):
        expected += [("on_test_batch_begin", b), ("on_test_batch_end", b)]
    assert rec.events == expected + [("on_test_end",)]
    assert rec.logs["on_test_end"][0] == {"loss": result}
    assert result == pytest.approx(float(np.mean((x @ W0 + 0.1 - y) ** 2)), rel=1e-5)
    assert rec.model is model and rec.params["steps"] == 4


def test_predict_hooks_and_batch_outputs():
    x, _ = _data()
    rec = Recorder()
    model = _model()
    out = model.predict(x, batch_size=4, callbacks=[rec], verbose=0)
    expected = [("on_predict_begin",)]
    for b in range(4):
        expected += [("on_predict_batch_begin", b), ("on_predict_batch_end", b)]
    assert rec.events == expected + [("on_predict_end",)]
    outs = rec.logs["on_predict_batch_end"]
    assert [o.shape for o in outs] == [(4, 1), (4, 1), (4, 1), (3, 1)]
    np.testing.assert_array_equal(np.concatenate(outs), out)
    np.testing.assert_allclose(out, x @ W0 + 0.1, rtol=1e-5, atol=1e-6)


def test_callbacks_must_be_callback_instances():
    x, y = _data()
    with pytest.raises(TypeError, match="Callback"):
        _model().fit(x, y, callbacks=[lambda *a: None], verbose=0)


# -- printing --------------------------------------------------------------------------------------------------------
def test_verbose_0_prints_nothing(capsys):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=5, epochs=2, validation_split=0.2, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def _num(line, name):
    m = re.search(rf"(?<![\w]){name}: ([-+0-9.e]+)", line)
    assert m, (name, line)
    return float(m.group(1))


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = _data()
    model = _model(metrics=[kshim.metrics.MeanAbsoluteError(name="mae")])
    h = model.fit(x, y, batch_size=4, epochs=3, validation_data=(x[:10], y[:10]), verbose=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [l for l in lines if l.startswith("Epoch")] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    metric_lines = [l for l in lines if "loss:" in l]
    assert len(metric_lines) == 3 and len(lines) == 6
    for i, line in enumerate(metric_lines):
        assert line.startswith("4/4 ") and "step" in line
        for k in ("loss", "mae", "val_loss", "val_mae"):
            assert _num(line, k) == pytest.approx(h.history[k][i], abs=1e-4), (k, line)


def test_verbose_1_without_a_terminal_prints_the_final_bar(capsys):
    x, y = _data()
    model = _model()
    h = model.fit(x, y, batch_size=4, epochs=2, validation_data=(x[:10], y[:10]), verbose=1)
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out  # plain lines when stdout is not a terminal
    lines = out.strip().splitlines()
    assert lines[0] == "Epoch 1/2"
    # Without a terminal, intermediate bars are printed at most every 30 s: a short epoch prints its final bar only.
    assert len(lines) == 4 and lines[2] == "Epoch 2/2"
    bars = [l for l in lines if l.startswith("4/4 ")]
    assert bars == [lines[1], lines[3]]
    for i, line in enumerate(bars):
        assert line.startswith("4/4 ") and "step" in line
        assert _num(line, "loss") == pytest.approx(h.history["loss"][i], abs=1e-4)
        assert _num(line, "val_loss") == pytest.approx(h.history["val_loss"][i], abs=1e-4)

    loss = model.evaluate(x, y, batch_size=5, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[-1].startswith("3/3 ") and "step" in lines[-1]
    assert _num(lines[-1], "loss") == pytest.approx(loss, abs=1e-4)

    model.predict(x, batch_size=5, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[-1].startswith("3/3 ") and "step" in lines[-1]
    assert "loss" not in lines[-1]


@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_bar_reads_metrics_only_when_it_draws(verbose, monkeypatch, capsys):
    from kshim.trainer import trainer as trainer_module

    reads = []
    original = trainer_module.Trainer._metric_results

    def counting(self, values):
        reads.append(1)
        return original(self, values)

    monkeypatch.setattr(trainer_module.Trainer, "_metric_results", counting)
    x, y = _data(n=60)
    _model().fit(x, y, batch_size=3, epochs=2, verbose=verbose)  # 20 batches per epoch
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) <= 6
    assert len(reads) <= 8, f"{len(reads)} metric reads for {len(lines)} printed lines"


def test_progbar_update_and_add(capsys):
    bar = kshim.utils.Progbar(10)
    bar.update(3, values=[("loss", 2.0)])
    assert capsys.readouterr().out == ""  # not a terminal: nothing until the end (or 30 s)
    bar.update(6, values=[("loss", 3.0)])
    bar.update(10, values=[("loss", 4.0)])  # reaching the target finalizes
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("10/10 ") and "step" in lines[0]
    # Non-stateful values are averaged over the steps they cover: (2*3 + 3*3 + 4*4) / 10.
    assert _num(lines[0], "loss") == pytest.approx(3.1, abs=1e-4)
    bar.update(10, values=[("loss", 100.0)])  # a finished bar prints nothing more
    assert capsys.readouterr().out == ""

    bar = kshim.utils.Progbar(4, verbose=1)
    bar.add(2, values=[("acc", 1.0)])
    capsys.readouterr()
    bar.add(2, values=[("acc", 0.0)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("4/4 ")
    assert _num(lines[0], "acc") == pytest.approx(0.5, abs=1e-4)
    assert bar.seen == 4

    bar = kshim.utils.Progbar(5, verbose=2, stateful_metrics=["lr"])
    for i in range(1, 6):
        bar.update(i, values={"lr": 0.1 * i})
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("5/5 - ")
    assert _num(lines[0], "lr") == pytest.approx(0.5, abs=1e-4)  # stateful: the last value, not the mean

    bar = kshim.utils.Progbar(5, verbose=0)
    bar.update(5, values={"loss": 1.0})
    assert capsys.readouterr().out == ""

    bar = kshim.utils.Progbar(None)
    bar.update(3, finalize=True)
    assert capsys.readouterr().out.strip().startswith("3 ")
