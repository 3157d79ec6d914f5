"""`LambdaCallback`: a callback made of plain functions, one per hook."""

from kshim.callbacks.callback import Callback

_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
          "on_train_batch_end", "on_batch_begin", "on_batch_end", "on_test_begin", "on_test_end",
          "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
          "on_predict_batch_begin", "on_predict_batch_end")


class LambdaCallback(Callback):
    """Build a callback from functions. Each argument is the function for the hook of the same name, called with
    that hook's arguments: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_end(batch, logs)``; any other hook (``on_test_end``, ``on_predict_batch_end``, the Keras 2
    ``on_batch_begin``/``on_batch_end``, ...) can be given by keyword too. Extra keywords become attributes, as
    in Keras.

    Example: ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))``.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in list(kwargs.items()):
            if name in _HOOKS:
                given[name] = kwargs.pop(name)
        for name, fn in given.items():
            if fn is not None and not callable(fn):
                raise ValueError(f"LambdaCallback: `{name}` must be a function. Received: {name}={fn!r}")
        self.__dict__.update(kwargs)
        # Instance attributes override the hooks, as in Keras. The class below overrides every batch hook too, so
        # the CallbackList (which looks at the class to skip unused batch hooks) calls them.
        for name, fn in given.items():
            if fn is not None:
                setattr(self, name, fn)

    # Batch hooks, dispatching like the base class; an instance attribute set above takes their place.
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
