"""Faults during saving: a failing ``get_config``, a failing writer, a full disk (a small RLIMIT_FSIZE in a
subprocess), ``kill -9`` during a save and during ``fit`` with ``BackupAndRestore``. The previous file always
survives intact, the next save leaves no litter, and a symbolic link keeps pointing at the updated file.

``kill -9`` during saves runs 2 rounds by default; the ``slow`` version runs 40 (``KSHIM_RELIABILITY_ROUNDS``
overrides both).
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import kshim as keras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _model(seed=1, width=8):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(width, name="d1"),
                              keras.layers.Dense(1, name="d2")])
    model.compile(optimizer="adam", loss="mse")
    return model


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def _listing(folder):
    return sorted(os.listdir(folder))


# -- failures inside the process -----------------------------------------------------------------------------
class _BadConfig(keras.layers.Layer):
    def call(self, x):
        return x

    def get_config(self):
        raise RuntimeError("get_config exploded")


def test_failing_get_config_keeps_the_previous_file(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    before = path.read_bytes()
    bad = keras.Sequential([keras.Input((4,)), _BadConfig()])
    with pytest.raises(RuntimeError, match="get_config exploded"):
        bad.save(path)
    assert path.read_bytes() == before
    assert _listing(tmp_path) == ["m.keras"]


@pytest.mark.parametrize("fmt", ["keras", "weights"])
def test_failing_writer_keeps_the_previous_file(tmp_path, monkeypatch, fmt):
    path = tmp_path / ("m.keras" if fmt == "keras" else "m.weights.h5")
    model = _model()
    save = model.save if fmt == "keras" else model.save_weights
    save(path)
    before = path.read_bytes()
    model.get_layer("d1").kernel.assign(np.ones((4, 8), "float32"))
    real_fsync = os.fsync

    def failing_fsync(fd):
        raise OSError(5, "Input/output error (injected)")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="injected"):
        save(path)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert path.read_bytes() == before
    assert _listing(tmp_path) == [path.name]


_FULL_DISK = textwrap.dedent("""
    import os, resource, signal, sys
    import numpy as np
    import kshim as keras
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit raises EFBIG instead of killing us
    path = sys.argv[1]
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((256,)), keras.layers.Dense(256), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.save(path)
    first = [w.copy() for w in model.get_weights()]
    model.get_layer(index=0).kernel.assign(np.ones((256, 256), "float32"))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))  # the soft limit only, so it can go back up
    try:
        model.save(path)
    except OSError as e:
        print("FAILED", e.errno, flush=True)
    else:
        print("SAVED", flush=True)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    again = keras.models.load_model(path)
    same = all(np.array_equal(a, b) for a, b in zip(again.get_weights(), first))
    print("INTACT" if same else "CHANGED", sorted(os.listdir(os.path.dirname(path))), flush=True)
""")


def test_full_disk_keeps_the_previous_file(tmp_path):
    out = subprocess.run([sys.executable, "-c", _FULL_DISK, str(tmp_path / "m.keras")], capture_output=True,
                         text=True, env=_env(), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-2].startswith("FAILED 27"), out.stdout  # EFBIG
    assert lines[-1] == "INTACT ['m.keras']", out.stdout


# -- kill -9 -------------------------------------------------------------------------------------------------
_SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    import kshim as keras
    path, mode = sys.argv[1], sys.argv[2]
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((512,)), keras.layers.Dense(1024), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    if mode == "stall":  # stop inside the save, after the temporary file holds some bytes
        import os, time
        real_fsync = os.fsync
        def stall(fd):
            print("WRITING", flush=True)
            time.sleep(600)
        os.fsync = stall
        model.save(path)
    print("READY", flush=True)
    for i in range(100000):
        model.get_layer(index=0).kernel.assign(np.full((512, 1024), float(i), "float32"))
        model.save(path)
""")


def _spawn_saver(path, mode):
    return subprocess.Popen([sys.executable, "-c", _SAVER, str(path), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())


def test_stale_temporary_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "m.keras"
    _model().save(path)
    before = path.read_bytes()
    proc = _spawn_saver(path, "stall")
    try:
        assert proc.stdout.readline().strip() == "WRITING", proc.stderr.read()[-3000:]
    finally:
        proc.kill()
        proc.wait(timeout=60)
    litter = [n for n in _listing(tmp_path) if n != "m.keras"]
    assert litter == [f".m.keras.{proc.pid}.kshim-tmp"]  # a full-size temporary, named after its process
    assert os.path.getsize(tmp_path / litter[0]) > 1_000_000
    assert path.read_bytes() == before
    model = _model(seed=2)
    model.save(path)
    assert _listing(tmp_path) == ["m.keras"]
    _assert_same(_weights(keras.models.load_model(path)), _weights(model))


def test_old_style_temporaries_older_than_this_process_are_removed(tmp_path):
    path = tmp_path / "m.weights.h5"
    old = tmp_path / ".m.weights.h5.0123456789ab.tmp"
    old.write_bytes(b"x" * 100)
    os.utime(old, (time.time() - 3600 * 24, time.time() - 3600 * 24))
    other = tmp_path / ".other.keras.0123456789ab.tmp"  # another target's file: not ours to touch
    other.write_bytes(b"x")
    _model().save_weights(path)
    assert _listing(tmp_path) == [".other.keras.0123456789ab.tmp", "m.weights.h5"]


def _kill_rounds(tmp_path, rounds):
    path = tmp_path / "m.keras"
    rng = np.random.default_rng(7)
    _model().save(path)
    for _ in range(rounds):
        proc = _spawn_saver(path, "loop")
        try:
            assert proc.stdout.readline().strip() == "READY", proc.stderr.read()[-3000:]
            time.sleep(float(rng.uniform(0.05, 1.0)))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        with zipfile.ZipFile(path) as zf:  # whatever round it reached, the file is a complete model
            assert zf.testzip() is None
        loaded = keras.models.load_model(path)
        kernel = keras.ops.convert_to_numpy(loaded.get_layer(index=0).kernel)
        assert kernel.shape in ((4, 8), (512, 1024))
        if kernel.shape == (512, 1024):
            assert np.all(kernel == kernel.flat[0])  # one save's values throughout, never a mix
    model = _model(seed=9)
    model.save(path)
    assert _listing(tmp_path) == ["m.keras"]
    _assert_same(_weights(keras.models.load_model(path)), _weights(model))


def _rounds(default):
    return int(os.environ.get("KSHIM_RELIABILITY_ROUNDS", default))


def test_kill_9_during_saves_keeps_a_complete_file_and_leaves_no_litter(tmp_path):
    _kill_rounds(tmp_path, _rounds(2))


@pytest.mark.slow
def test_kill_9_during_saves_40_rounds(tmp_path):
    _kill_rounds(tmp_path, _rounds(40))


_FIT = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import kshim as keras
    backup_dir, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x @ rng.normal(size=(6, 1))).astype("float32")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.25), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")

    class Kill(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == kill_at and batch == 2:
                os.kill(os.getpid(), signal.SIGKILL)

    callbacks = [keras.callbacks.BackupAndRestore(backup_dir)]
    if kill_at >= 0:
        callbacks.append(Kill())
    model.fit(x, y, epochs=5, batch_size=8, shuffle=True, verbose=0, callbacks=callbacks)
    np.savez(out, *model.get_weights())
""")


def _fit(tmp_path, name, kill_at):
    out = tmp_path / f"{name}.npz"
    proc = subprocess.run([sys.executable, "-c", _FIT, str(tmp_path / f"{name}_backup"), str(out), str(kill_at)],
                          capture_output=True, text=True, env=_env(), timeout=300)
    return proc, out


def test_kill_9_during_fit_resumes_from_backup_to_identical_weights(tmp_path):
    proc, reference = _fit(tmp_path, "reference", -1)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc, resumed = _fit(tmp_path, "run", 3)
    assert proc.returncode == -signal.SIGKILL
    assert not resumed.exists()
    proc, resumed = _fit(tmp_path, "run", -1)  # the same script again: BackupAndRestore resumes at epoch 3
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(reference) as a, np.load(resumed) as b:
        assert len(a.files) == len(b.files) == 4
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


# -- symbolic links ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["keras", "weights"])
def test_saving_over_a_symlink_updates_its_target_and_keeps_the_link(tmp_path, fmt):
    suffix = ".keras" if fmt == "keras" else ".weights.h5"
    store = tmp_path / "store"
    store.mkdir()
    real = store / f"real{suffix}"
    link = tmp_path / f"link{suffix}"
    first = _model(seed=1)
    (first.save if fmt == "keras" else first.save_weights)(real)
    link.symlink_to(real)
    second = _model(seed=2)
    (second.save if fmt == "keras" else second.save_weights)(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert _listing(store) == [real.name] and _listing(tmp_path) == [link.name, "store"]
    check = _model(seed=3)
    if fmt == "keras":
        check = keras.models.load_model(real)
    else:
        check.load_weights(real)
    _assert_same(_weights(check), _weights(second))


def test_saving_over_a_symlink_with_overwrite_false_refuses(tmp_path):
    real = tmp_path / "real.keras"
    _model().save(real)
    link = tmp_path / "link.keras"
    link.symlink_to(real)
    with pytest.raises(FileExistsError):
        _model(seed=2).save(link, overwrite=False)
