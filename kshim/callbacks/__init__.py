"""kshim.callbacks: the Callback base, CallbackList, History and the progress bar."""

from kshim.callbacks.callback import Callback
from kshim.callbacks.callback_list import CallbackList
from kshim.callbacks.history import History
from kshim.callbacks.progbar_logger import ProgbarLogger
