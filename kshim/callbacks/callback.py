"""`Callback`: hooks the training loop calls at the start and end of training, epochs and batches."""


class Callback:
    """Override any hook. ``self.model`` is the model being trained, ``self.params`` the loop's settings
    (``epochs``, ``steps``, ``verbose``)."""

    def __init__(self):
        self.model = None
        self.params = {}
        self.validation_data = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)  # as in Keras: the Keras 2 name is reached through this one

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    # Keras 2 names of the train-batch hooks.
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


def save_due_on_batch(callback, batch):
    """Count the batches ``callback`` has seen since it last saved, and say whether its integer ``save_freq`` is
    reached (then the count starts again). A batch index at or below the last one seen starts a new epoch.
    ``save_freq == "epoch"`` is never due here. Keeps ``_last_batch_seen`` (None before the first batch) and
    ``_batches_seen_since_last_saving`` on the callback (ModelCheckpoint, BackupAndRestore)."""
    if callback.save_freq == "epoch":
        return False
    last = callback._last_batch_seen
    callback._batches_seen_since_last_saving += batch + 1 if last is None or batch <= last else batch - last
    callback._last_batch_seen = batch
    if callback._batches_seen_since_last_saving >= callback.save_freq:
        callback._batches_seen_since_last_saving = 0
        return True
    return False
