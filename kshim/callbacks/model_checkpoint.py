"""`ModelCheckpoint`: save the model or its weights during ``fit``, every epoch, every N batches, or only the best.

Files are written with `kshim.saving` (``model.save`` / ``model.save_weights``), which write a temporary file
next to the destination and move it into place only once it is complete: a crash mid-save leaves the previous
checkpoint intact.
"""

import os
import re
import warnings

import numpy as np

from kshim.callbacks.callback import save_due_on_batch
from kshim.callbacks.monitor_callback import MonitorCallback, print_msg
from kshim.distribution.devices import is_chief

_LEGACY_EXTENSIONS = (".h5", ".hdf5")


class ModelCheckpoint(MonitorCallback):
    """Save the model (``.keras``) or its weights (``.weights.h5``) during training, as Keras 3 does.

    Args:
        filepath: where to save; may hold ``str.format`` fields filled from ``epoch`` (1-based), ``batch``
            (1-based, when saving every N batches) and the logs, e.g. ``"ckpt.{epoch:02d}-{val_loss:.2f}.keras"``.
            It must end in ``.keras`` (the whole model), or ``.weights.h5`` with ``save_weights_only=True``.
            The Keras 2 ``.h5``/``.hdf5`` endings are accepted with a DeprecationWarning (see below).
        monitor: the log to compare when ``save_best_only`` is set. Default "val_loss".
        verbose: 0 (silent) or 1 (a message for every save decision).
        save_best_only: save only when ``monitor`` improves on the best value so far.
        save_weights_only: save the weights only (``model.save_weights``).
        mode: "auto", "min" or "max" (see `MonitorCallback`).
        save_freq: "epoch", or an integer number of training batches between saves.
        initial_value_threshold: the initial "best" value; with ``save_best_only`` a model is saved only once it
            beats this.

    Keras 2 ``.h5`` file names: kshim writes Keras 3 formats only. With ``save_weights_only=True`` the file holds
    the weights in Keras 3's HDF5 layout (``model.load_weights`` reads it back); otherwise it holds a ``.keras``
    archive (``kshim.models.load_model`` reads it back, whatever the file name). Neither is a Keras 2 ``.h5`` file.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, (int, np.integer))
                                     or save_freq < 1):
            raise ValueError(f"ModelCheckpoint: unrecognized save_freq: {save_freq!r}. Expected save_freq are "
                             "'epoch' or a positive integer (a number of batches).")
        self._legacy_h5 = False
        path = self.filepath
        if save_weights_only:
            if not path.endswith(".weights.h5"):
                if not path.endswith(_LEGACY_EXTENSIONS):
                    raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                                     "provided must end in `.weights.h5` (Keras weights format). Received: "
                                     f"filepath={path}")
                self._legacy_h5 = True
                warnings.warn(
                    f"ModelCheckpoint: '{path}' is a Keras 2 weights file name. kshim writes the weights in Keras "
                    "3's HDF5 layout under that name (model.load_weights reads it back); Keras 2 cannot read it. "
                    "Name the file '*.weights.h5' to silence this warning.", DeprecationWarning, stacklevel=2)
        elif not path.endswith(".keras"):
            if not path.endswith(_LEGACY_EXTENSIONS):
                raise ValueError("The filepath provided must end in `.keras` (Keras model format). Received: "
                                 f"filepath={path}")
            self._legacy_h5 = True
            warnings.warn(
                f"ModelCheckpoint: '{path}' is a Keras 2 (HDF5) model file name, a format kshim does not write. "
                "The whole model is saved in the Keras 3 `.keras` format under that name instead "
                "(kshim.models.load_model reads it back whatever the name). Name the file '*.keras' to silence "
                "this warning, or pass save_weights_only=True with a '*.weights.h5' name.",
                DeprecationWarning, stacklevel=2)

    # -- hooks ---------------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if save_due_on_batch(self, batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op_or_warn()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    # -- decisions -----------------------------------------------------------------------------------------------
    def _set_monitor_op_or_warn(self):
        """Without ``save_best_only`` the direction is never used, so an unknown direction is no error then."""
        try:
            self._set_monitor_op()
        except ValueError:
            if self.save_best_only:
                raise

    def _should_save_model(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        if np.ndim(current) > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                          "Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        current = float(np.asarray(current))
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to {current:.5f}, "
                          f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    # -- saving --------------------------------------------------------------------------------------------------
    def _save_model(self, epoch, batch, logs):
        if not is_chief():  # data parallel: only process 0 writes checkpoints (all hold the same weights)
            return
        logs = logs if logs is not None else {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an "
                          f"existing directory: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self._legacy_h5:
            self._save_under_legacy_name(filepath)
        elif self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _save_under_legacy_name(self, filepath):
        """Save in the Keras 3 format to a temporary sibling (itself written atomically), then move it over
        ``filepath`` with ``os.replace``: the destination is always a whole file, old or new."""
        folder, name = os.path.split(os.path.abspath(filepath))
        suffix = ".weights.h5" if self.save_weights_only else ".keras"
        tmp = os.path.join(folder, f".{name}.{os.getpid()}.ckpt{suffix}")
        try:
            if self.save_weights_only:
                self.model.save_weights(tmp, overwrite=True)
            else:
                self.model.save(tmp, overwrite=True)
            os.replace(tmp, filepath)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def _get_file_path(self, epoch, batch, logs):
        """``filepath`` with its fields filled: ``epoch`` and ``batch`` are 1-based, as in Keras."""
        try:
            values = dict(logs)
            if batch is None or "batch" in values:
                return self.filepath.format(epoch=epoch + 1, **values)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **values)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}') from None

    def _checkpoint_exists(self, filepath):
        return os.path.exists(filepath)

    def _get_most_recently_modified_file_matching_pattern(self, pattern):
        """The most recently modified file matching ``pattern`` (its ``{...}`` fields match anything); ties go to
        the largest name. None when nothing matches."""
        dir_name = os.path.dirname(pattern)
        base_name_regex = "^" + re.sub(r"{.*}", r".*", os.path.basename(pattern)) + "$"
        latest_time, latest_path, n_latest, largest = 0, None, 0, None
        if os.path.exists(dir_name or "."):
            for file_name in os.listdir(dir_name or "."):
                if re.match(base_name_regex, file_name):
                    path = os.path.join(dir_name, file_name)
                    mtime = os.path.getmtime(path)
                    if largest is None or path > largest:
                        largest = path
                    if mtime > latest_time:
                        latest_time, latest_path, n_latest = mtime, path, 1
                    elif mtime == latest_time:
                        n_latest += 1
        return latest_path if n_latest == 1 else largest
