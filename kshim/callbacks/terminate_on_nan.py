"""`TerminateOnNaN`: stop training at the first batch whose loss is NaN or infinite."""

import numpy as np

from kshim.callbacks.callback import Callback
from kshim.callbacks.monitor_callback import print_msg


class TerminateOnNaN(Callback):
    """Stop training when a batch's ``loss`` is NaN or +/-inf. The epoch in progress ends at that batch and is
    logged (its loss is then NaN/inf); the history of the earlier epochs is kept.

    Args:
        raise_error: raise a RuntimeError at once instead of stopping (Keras 3.11+). Default False.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = np.asarray(loss)
        if np.isnan(value).any() or np.isinf(value).any():
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
