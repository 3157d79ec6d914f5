"""`ProgbarLogger`: the progress bar ``fit``, ``evaluate`` and ``predict`` print."""

from kshim.callbacks.callback import Callback
from kshim.distribution.devices import is_chief
from kshim.callbacks.progbar import Progbar, print_msg


class ProgbarLogger(Callback):
    """Prints progress: a bar per epoch (verbose=1) or one line per epoch (verbose=2)."""

    def __init__(self, count_mode=None):
        super().__init__()
        self.progbar = None
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self._mode = "train"

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        if not is_chief():  # data parallel: only process 0 prints
            self.verbose = 0
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _reset(self):
        self.progbar = Progbar(self.target, verbose=self.verbose, unit_name="step")

    def on_train_begin(self, logs=None):
        self._mode = "train"

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1, logs, finalize=False, lazy=True)

    def on_test_begin(self, logs=None):
        if self._mode != "train" or self.progbar is None:
            self._mode = "test"
            self._reset()

    def on_test_batch_end(self, batch, logs=None):
        if self._mode == "test":
            self.progbar.update(batch + 1, logs, finalize=False, lazy=True)

    def on_test_end(self, logs=None):
        if self._mode == "test":
            self.progbar.update(self.progbar.seen, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        self._mode = "predict"
        self._reset()

    def on_predict_batch_end(self, batch, logs=None):
        self.progbar.update(batch + 1, None, finalize=False, lazy=True)

    def on_predict_end(self, logs=None):
        self.progbar.update(self.progbar.seen, None, finalize=True)

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(self.progbar.seen, logs, finalize=True)
