"""`BaseLogger`: Keras 2's epoch-averaging callback, accepted as a no-op."""

import warnings

from kshim.callbacks.callback import Callback


class BaseLogger(Callback):
    """Keras 2 added this callback to every fit to average the batch metrics over the epoch. Keras 3 (and kshim)
    logs the epoch averages already, so it does nothing; creating one warns (DeprecationWarning).

    Args:
        stateful_metrics: ignored (Keras 2's list of metrics not to average).
    """

    def __init__(self, stateful_metrics=None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or [])
        warnings.warn("BaseLogger is a Keras 2 callback and does nothing in kshim: the epoch logs already hold the "
                      "averages over the epoch. Remove it from `callbacks`.", DeprecationWarning, stacklevel=2)
