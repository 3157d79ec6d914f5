"""kshim.callbacks: the Callback base, CallbackList, History and the progress bar."""

from kshim.common.absent import raise_absent as _raise_absent
from kshim.callbacks.callback import Callback
from kshim.callbacks.callback_list import CallbackList
from kshim.callbacks.history import History
from kshim.callbacks.progbar_logger import ProgbarLogger
from kshim.callbacks.backup_and_restore import BackupAndRestore
from kshim.callbacks.base_logger import BaseLogger
from kshim.callbacks.csv_logger import CSVLogger
from kshim.callbacks.early_stopping import EarlyStopping
from kshim.callbacks.lambda_callback import LambdaCallback
from kshim.callbacks.learning_rate_scheduler import LearningRateScheduler
from kshim.callbacks.model_checkpoint import ModelCheckpoint
from kshim.callbacks.monitor_callback import MonitorCallback
from kshim.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from kshim.callbacks.remote_monitor import RemoteMonitor
from kshim.callbacks.swap_ema_weights import SwapEMAWeights
from kshim.callbacks.tensorboard import TensorBoard
from kshim.callbacks.terminate_on_nan import TerminateOnNaN


# Keras 3 names kshim leaves out on purpose (README.md, "Public names not provided").
_ABSENT = {
    "OrbaxCheckpoint": ("kshim checkpoints are .keras and .weights.h5 files (ModelCheckpoint, BackupAndRestore); "
                        "it writes no Orbax checkpoints (Orbax is a jax-only library)"),
}


def __getattr__(name):
    _raise_absent("kshim.callbacks", name, _ABSENT)
