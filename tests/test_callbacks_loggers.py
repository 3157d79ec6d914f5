"""CSVLogger (header and rows), TerminateOnNaN (stops at the first NaN batch, history kept), LambdaCallback (every
hook), BaseLogger (a Keras 2 no-op) and RemoteMonitor (the logs arrive at a loopback HTTP server)."""

import contextlib
import csv
import http.server
import json
import math
import socket
import threading
import urllib.parse

import numpy as np
import pytest

import kshim
from kshim import callbacks, layers

X = np.random.default_rng(3).normal(size=(40, 3)).astype("float32")
Y = (X @ np.array([[1.0], [2.0], [-1.0]], "float32")).astype("float32")
_CACHE = {}


def _model():
    """One compiled model, reset to the same initial weights for every test (the compiled step is reused)."""
    if "model" not in _CACHE:
        model = kshim.Sequential([kshim.Input((3,)), layers.Dense(1)])
        model.compile(kshim.optimizers.SGD(0.05), "mse", metrics=["mae"])
        _CACHE["model"] = model
    model = _CACHE["model"]
    model.set_weights([np.array([[0.1], [0.2], [0.3]], "float32"), np.zeros(1, "float32")])
    return model


# -- CSVLogger ----------------------------------------------------------------------------------------------------
def _read_csv(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_csv_logger_header_and_rows(tmp_path):
    path = tmp_path / "log.csv"
    history = _model().fit(X, Y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
                           callbacks=[callbacks.CSVLogger(str(path))])
    rows = _read_csv(path)
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    for i, row in enumerate(rows[1:]):
        for name, cell in zip(rows[0][1:], row[1:]):
            assert float(cell) == history.history[name][i]  # written exactly (repr of the float)


def test_csv_logger_separator_append_and_missing_validation(tmp_path):
    path = tmp_path / "log.csv"
    model = _model()
    h1 = model.fit(X, Y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(str(path), separator=";")])
    h2 = model.fit(X, Y, epochs=1, verbose=0,
                   callbacks=[callbacks.CSVLogger(str(path), separator=";", append=True)])
    rows = _read_csv(path, ";")
    # Without validation the val_ columns are there anyway, filled with NA; the appended run adds no header.
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert len(rows) == 4 and [r[0] for r in rows[1:]] == ["0", "1", "0"]
    assert rows[1][3:] == ["NA", "NA"]
    assert float(rows[2][1]) == h1.history["loss"][1] and float(rows[3][1]) == h2.history["loss"][0]
    # Without append the file is overwritten.
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(str(path))])
    assert len(_read_csv(path)) == 2


def test_csv_logger_appends_header_to_an_empty_file(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("")
    _model().fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(str(path), append=True)])
    assert _read_csv(path)[0][0] == "epoch"


# -- TerminateOnNaN -----------------------------------------------------------------------------------------------
def _batches_with_nan_at(global_batch, total=20, batch_size=4):
    for i in range(total):
        start = (i * batch_size) % 40
        x = X[start:start + batch_size].copy()
        if i == global_batch:
            x[1, 0] = np.nan
        yield x, Y[start:start + batch_size]


class _CountBatches(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.per_epoch = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[self.epoch] = self.per_epoch.get(self.epoch, 0) + 1


def test_terminate_on_nan_stops_at_the_first_nan_batch(capsys):
    counter = _CountBatches()
    # 4 batches per epoch; global batch 9 (epoch 2, batch 1) has a NaN input, so its loss is NaN.
    history = _model().fit(_batches_with_nan_at(9), epochs=5, steps_per_epoch=4, verbose=0,
                           callbacks=[counter, callbacks.TerminateOnNaN()])
    assert counter.per_epoch == {0: 4, 1: 4, 2: 2}
    assert history.epoch == [0, 1, 2]
    losses = history.history["loss"]
    assert all(math.isfinite(v) for v in losses[:2]) and math.isnan(losses[2])
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_inf_and_raise_error():
    counter = _CountBatches()
    model = _model()
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 2"):
        model.fit(_batches_with_nan_at(2), epochs=2, steps_per_epoch=4, verbose=0,
                  callbacks=[counter, callbacks.TerminateOnNaN(raise_error=True)])
    assert counter.per_epoch == {0: 3}

    # An infinite loss stops training as well; a finite one does not.
    cb = callbacks.TerminateOnNaN()
    cb.set_model(model)
    model.stop_training = False
    cb.on_train_batch_end(0, {"loss": float("inf")})
    assert model.stop_training
    model.stop_training = False
    cb.on_train_batch_end(0, {"loss": 1.5})
    assert not model.stop_training


# -- LambdaCallback -----------------------------------------------------------------------------------------------
def test_lambda_callback_runs_every_hook():
    calls = []
    rec = lambda name: (lambda *args: calls.append((name,) + tuple(  # noqa: E731
        a if isinstance(a, int) else "logs" if a is not None else None for a in args)))
    cb = callbacks.LambdaCallback(
        on_epoch_begin=rec("epoch_begin"), on_epoch_end=rec("epoch_end"), on_train_begin=rec("train_begin"),
        on_train_end=rec("train_end"), on_train_batch_begin=rec("batch_begin"),
        on_train_batch_end=rec("batch_end"), on_test_begin=rec("test_begin"), on_test_end=rec("test_end"),
        on_test_batch_end=rec("test_batch_end"), on_predict_end=rec("predict_end"), note="extra attribute")
    assert cb.note == "extra attribute"
    model = _model()
    model.fit(X[:16], Y[:16], epochs=2, batch_size=8, validation_data=(X[:8], Y[:8]), verbose=0, callbacks=[cb])
    epoch0 = [("epoch_begin", 0, "logs"), ("batch_begin", 0, "logs"), ("batch_end", 0, "logs"), ("batch_begin", 1, "logs"),
              ("batch_end", 1, "logs"), ("test_begin", "logs"), ("test_batch_end", 0, "logs"),
              ("test_end", "logs"), ("epoch_end", 0, "logs")]
    assert calls[0] == ("train_begin", "logs")  # Keras 3 passes logs={}, never None
    assert calls[1:10] == epoch0
    assert calls[-1] == ("train_end", "logs")
    assert len(calls) == 2 + 2 * len(epoch0)
    calls.clear()
    model.predict(X[:8], verbose=0, callbacks=[cb])
    assert calls == [("predict_end", "logs")]


def test_lambda_callback_keras2_batch_names_and_logs_values():
    losses = []
    cb = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: losses.append(logs["loss"]))
    history = _model().fit(X, Y, epochs=1, batch_size=40, verbose=0, callbacks=[cb])
    assert losses == history.history["loss"]
    with pytest.raises(ValueError, match="must be a function"):
        callbacks.LambdaCallback(on_epoch_end="print")


# -- BaseLogger ---------------------------------------------------------------------------------------------------
def test_base_logger_is_a_warned_no_op():
    with pytest.warns(DeprecationWarning, match="BaseLogger"):
        cb = callbacks.BaseLogger(stateful_metrics=["mae"])
    h_with = _model().fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[cb])
    h_without = _model().fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert h_with.history == h_without.history


# -- RemoteMonitor ------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """The loopback server must be reached directly, whatever proxy the environment names."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@contextlib.contextmanager
def _server(status=200):
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_remote_monitor_posts_json():
    with _server() as (root, received):
        cb = callbacks.RemoteMonitor(root=root, path="/epoch/", send_as_json=True, headers={"X-Run": "abc"},
                                     timeout=5)
        history = _model().fit(X, Y, epochs=2, batch_size=8, validation_split=0.25, verbose=0, callbacks=[cb])
    assert len(received) == 2
    for epoch, req in enumerate(received):
        assert req["path"] == "/epoch/"
        assert req["headers"]["Content-Type"] == "application/json" and req["headers"]["X-Run"] == "abc"
        sent = json.loads(req["body"])
        assert sent == {"epoch": epoch, **{k: v[epoch] for k, v in history.history.items()}}


def test_remote_monitor_posts_form_field():
    with _server() as (root, received):
        history = _model().fit(X, Y, epochs=1, verbose=0,
                               callbacks=[callbacks.RemoteMonitor(root=root, field="payload", timeout=5)])
    req = received[0]
    assert req["path"] == "/publish/epoch/end/"
    form = urllib.parse.parse_qs(req["body"].decode())
    assert json.loads(form["payload"][0]) == {"epoch": 0, "loss": history.history["loss"][0],
                                              "mae": history.history["mae"][0]}


def test_remote_monitor_unreachable_or_failing_server_warns_and_training_goes_on():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor root server"):
        history = _model().fit(X, Y, epochs=2, verbose=0,
                               callbacks=[callbacks.RemoteMonitor(root=f"http://127.0.0.1:{port}", timeout=2)])
    assert len(history.epoch) == 2
    with _server(status=500) as (root, received):
        with pytest.warns(UserWarning, match="answered 500"):
            _model().fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.RemoteMonitor(root=root, timeout=5)])
    assert len(received) == 1
