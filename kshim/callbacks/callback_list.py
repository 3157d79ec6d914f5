"""`CallbackList`: calls a hook on every callback; batch hooks nobody overrides cost nothing."""

from kshim.callbacks.callback import Callback
from kshim.callbacks.csv_logger import CSVLogger
from kshim.callbacks.history import History
from kshim.callbacks.progbar_logger import ProgbarLogger
from kshim.callbacks.remote_monitor import RemoteMonitor
from kshim.callbacks.tensorboard import TensorBoard
from kshim.distribution.devices import is_chief

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
                "on_predict_batch_begin", "on_predict_batch_end")
_KERAS2_NAME = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _overrides(cb, hook):
    """Whether ``cb`` does anything in ``hook`` (directly, or through the Keras 2 name it delegates to)."""
    if hook in vars(cb) or getattr(type(cb), hook, None) is not getattr(Callback, hook):
        return True  # overridden in the class, or set on the instance
    old = _KERAS2_NAME.get(hook)
    return old is not None and (old in vars(cb) or getattr(type(cb), old, None) is not getattr(Callback, old))


_FILE_LOGGERS = (CSVLogger, RemoteMonitor, TensorBoard)


class CallbackList:
    """A list of callbacks, called in order. ``add_history`` and ``add_progbar`` add Keras's defaults."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        if isinstance(callbacks, Callback):  # one callback, not in a list: Keras 3 accepts it too
            callbacks = [callbacks]
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise TypeError("`callbacks` must be a list of kshim Callback instances. Received: "
                            f"callbacks={callbacks!r} of type {type(callbacks).__name__}")
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"`callbacks` must hold kshim Callback instances. Received: {cb!r} "
                                f"of type {type(cb).__name__}")
        if not is_chief():  # data parallel: loggers that write files run on process 0 only
            self.callbacks = [cb for cb in self.callbacks if not isinstance(cb, _FILE_LOGGERS)]
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        self.model = None
        self.params = {}
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)
        self._batch_hooks = {hook: [cb for cb in self.callbacks if _overrides(cb, hook)] for hook in _BATCH_HOOKS}

    def append(self, callback):
        self.callbacks.append(callback)
        self._batch_hooks = {h: [cb for cb in self.callbacks if _overrides(cb, h)] for h in _BATCH_HOOKS}

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def needs_batch_logs(self, hook):
        return bool(self._batch_hooks[hook])

    def _call(self, hook, *args):
        args = args[:-1] + ({} if args[-1] is None else args[-1],)  # as in Keras 3, a hook's logs are never None
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def _call_batch(self, hook, batch, logs):
        logs = {} if logs is None else logs
        for cb in self._batch_hooks[hook]:
            getattr(cb, hook)(batch, logs)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs)
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs)

    def on_train_batch_begin(self, batch, logs=None): self._call_batch("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch, logs=None): self._call_batch("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None): self._call_batch("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._call_batch("on_test_batch_end", batch, logs)
    def on_predict_batch_begin(self, batch, logs=None): self._call_batch("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch, logs=None): self._call_batch("on_predict_batch_end", batch, logs)

    def __iter__(self):
        return iter(self.callbacks)
