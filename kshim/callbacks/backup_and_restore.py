"""`BackupAndRestore`: back up the training state so that an interrupted ``fit`` resumes where it stopped.

At the end of every epoch (or every ``save_freq`` batches) the model's weights and optimizer state are saved with
``model.save_weights`` into ``backup_dir``, together with a small JSON record of the epoch reached. When ``fit``
starts with this callback and a backup exists, the weights and optimizer state are loaded and training goes on
from the epoch after the last one backed up. When training ends normally the backup is deleted.

Each backup is written in two steps, both atomic: first a new weights file, then the JSON record that names it
(the record is the commit point). A crash at any moment leaves the previous record and the file it names intact,
so the epoch number and the weights always belong together. kshim also records the state of its host random
generator, so that a resumed ``fit(shuffle=True)`` shuffles the remaining epochs as the uninterrupted run would.
The Keras 3 layout (``latest.weights.h5`` + ``training_metadata.json``) is read as well.
"""

import json
import os

from kshim import random as krandom
from kshim.callbacks.callback import Callback
from kshim.distribution.devices import is_chief
from kshim.saving.atomic import atomic_write

_METADATA = "training_metadata.json"
_KERAS_WEIGHTS = "latest.weights.h5"
_PREFIX = "backup-"
_SUFFIX = ".weights.h5"


def _write_json_atomic(path, data):
    text = json.dumps(data).encode("utf-8")
    atomic_write(path, lambda f: f.write(text))


class BackupAndRestore(Callback):
    """Back up the training state in ``backup_dir`` and resume from it (Keras 3's callback).

    Args:
        backup_dir: a folder for the backup files; do not share it with another callback or another run.
        save_freq: "epoch" (back up at the end of every epoch) or an integer number of batches. A backup taken
            mid-epoch resumes at the start of that epoch with the mid-epoch weights, as in Keras.
        double_checkpoint: also keep the previous backup, used when the latest one cannot be read.
        delete_checkpoint: delete the backup when training ends normally. Default True.

    The model must be built (e.g. created with an ``Input``) before ``fit`` is called, so that the weights can be
    loaded before the first step.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq!r}. "
                             "Expected either 'epoch' or a positive integer value.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        self._training_metadata_path = os.path.join(self.backup_dir, _METADATA)
        self._weights_path = os.path.join(self.backup_dir, _KERAS_WEIGHTS)

    # -- restoring -----------------------------------------------------------------------------------------------
    def _read_metadata(self):
        if not os.path.exists(self._training_metadata_path):
            return None
        with open(self._training_metadata_path, "r") as f:
            text = f.read()
        try:
            return json.loads(text)
        except ValueError as e:
            raise ValueError(f"BackupAndRestore: the backup record '{self._training_metadata_path}' is corrupt "
                             f"({e}). Delete the folder '{self.backup_dir}' to start training afresh.") from e

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError(f"To use the BackupAndRestore callback, your model must be built before you call "
                             f"`fit()`. Model '{self.model.name}' is unbuilt. You can build it beforehand by "
                             "creating it with an `Input`, or by calling it on a batch of data.")
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        metadata = self._read_metadata()
        if metadata is not None and "weights" in metadata:  # kshim's layout
            records = [metadata] + ([metadata["previous"]] if metadata.get("previous") else [])
            for i, record in enumerate(records):
                path = os.path.join(self.backup_dir, record["weights"])
                try:
                    self.model.load_weights(path)
                except (OSError, ValueError):
                    if i + 1 == len(records):
                        raise
                    continue
                self._restore_progress(record)
                return
            return
        # Keras 3's layout: latest.weights.h5, and the epoch in training_metadata.json.
        if os.path.exists(self._weights_path):
            self.model.load_weights(self._weights_path)
        if metadata is not None:
            self._restore_progress(metadata)

    def _restore_progress(self, record):
        state = record.get("host_rng_state")
        if state is not None:
            try:
                krandom.host_rng().bit_generator.state = state
            except (TypeError, ValueError, KeyError):
                pass  # another generator type: shuffling simply continues from the current state
        self._current_epoch = int(record["epoch"])
        self.model._initial_epoch = self._current_epoch

    # -- backing up ----------------------------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model()

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:
            add_batches = batch + 1  # a new epoch
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _backup_files(self):
        if not os.path.isdir(self.backup_dir):
            return []
        return sorted(f for f in os.listdir(self.backup_dir) if f.startswith(_PREFIX) and f.endswith(_SUFFIX))

    def _save_model(self):
        if not is_chief():  # data parallel: only process 0 writes the backup; every process restores from it
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        previous = None
        try:
            previous = self._read_metadata()
        except ValueError:
            previous = None
        if previous is not None and "weights" not in previous:
            previous = None  # a Keras-layout record is superseded, not kept
        counter = 0
        for name in self._backup_files():
            try:
                counter = max(counter, int(name[len(_PREFIX):-len(_SUFFIX)]) + 1)
            except ValueError:
                pass
        weights_name = f"{_PREFIX}{counter:08d}{_SUFFIX}"
        self.model.save_weights(os.path.join(self.backup_dir, weights_name), overwrite=True)
        record = {"epoch": self._current_epoch, "batch": self._last_batch_seen, "weights": weights_name,
                  "host_rng_state": _jsonable_rng_state()}
        if self.double_checkpoint and previous is not None:
            record["previous"] = {k: v for k, v in previous.items() if k != "previous"}
        _write_json_atomic(self._training_metadata_path, record)
        keep = {weights_name} | ({record["previous"]["weights"]} if "previous" in record else set())
        for name in self._backup_files():
            if name not in keep:
                _remove(os.path.join(self.backup_dir, name))

    def on_train_end(self, logs=None):
        if getattr(self.model, "_initial_epoch", None) is not None:
            self.model._initial_epoch = None  # a later fit starts from its own `initial_epoch`
        if not self.delete_checkpoint or not os.path.isdir(self.backup_dir) or not is_chief():
            return
        for name in self._backup_files() + [_METADATA, _KERAS_WEIGHTS, _METADATA + ".bkp", _KERAS_WEIGHTS + ".bkp"]:
            _remove(os.path.join(self.backup_dir, name))
        try:
            os.rmdir(self.backup_dir)  # only when nothing else is in it
        except OSError:
            pass


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _jsonable_rng_state():
    try:
        state = krandom.host_rng().bit_generator.state
        json.dumps(state)
        return state
    except (TypeError, ValueError, AttributeError):
        return None
