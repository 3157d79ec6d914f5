"""`SwapEMAWeights`: evaluate and predict with the optimizer's moving averages of the weights (``use_ema=True``)."""

from kshim import ops
from kshim.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Swap the model's weights with the optimizer's exponential moving averages (EMA) around evaluation and
    prediction, so validation during ``fit``, ``evaluate(callbacks=[...])`` and ``predict(callbacks=[...])`` use
    the EMA weights while training goes on with the raw ones. The optimizer must be created with
    ``use_ema=True``.

    Args:
        swap_on_epoch: also swap at the end of every epoch (and back at the start of the next), so that other
            epoch-end callbacks (e.g. `ModelCheckpoint`) see the EMA weights; after the last epoch the EMA weights
            stay in the model. Default False.
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _ema_optimizers(self):
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        inner = getattr(optimizer, "optimizers", None)
        candidates = list(inner) if inner else [optimizer]
        found = [opt for opt in candidates if getattr(opt, "use_ema", False)]
        if not found:
            raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. Received: "
                             f"use_ema={getattr(optimizer, 'use_ema', None)}")
        ready = [opt for opt in found if getattr(opt, "_model_variables_moving_average", None)]
        if len(ready) != len(found):
            raise ValueError("SwapEMAWeights: the optimizer has no moving averages yet (it is built on the first "
                             "training step). Train the model before evaluating with EMA weights.")
        return ready

    @staticmethod
    def _pairs(opt):
        """(variable, moving average) pairs; a variable set to its gradient (``overwrite_with_gradient``, float8
        training's scales) has no average and is left as it is."""
        return [(var, average) for var, average in zip(opt._trainable_variables,
                                                        opt._model_variables_moving_average) if average is not None]

    def _swap_variables(self):
        for opt in self._ema_optimizers():
            for var, average in self._pairs(opt):
                current = var.value
                var.assign(average.value)
                average.assign(current)

    def _finalize_ema_values(self):
        for opt in self._ema_optimizers():
            for var, average in self._pairs(opt):
                average.assign(ops.copy(var.value))  # never two variables on one buffer

    def _put_ema_weights(self, in_model):
        """Swap so the EMA weights are in the model (``in_model=True``) or out of it; True if a swap was needed."""
        if self._ema_weights_in_model == in_model:
            return False
        self._swap_variables()
        self._ema_weights_in_model = in_model
        return True

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._put_ema_weights(False)

    def on_epoch_end(self, epoch, logs=None):
        # After the last epoch the EMA weights stay in the model: make the averages equal them too.
        if self.swap_on_epoch and self._put_ema_weights(True) and epoch == self.params.get("epochs", 0) - 1:
            self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        self._put_ema_weights(True)

    def on_test_end(self, logs=None):
        self._put_ema_weights(False)

    def on_predict_begin(self, logs=None):
        self._put_ema_weights(True)

    def on_predict_end(self, logs=None):
        self._put_ema_weights(False)
