"""Ctrl-C held over a train step, so an interrupted `fit` keeps the weights of the last completed step.

A compiled train step consumes its inputs: jax donates their buffers to the outputs, and torch's fused update
writes the new values into the old ones. A `KeyboardInterrupt` that lands after the step has started but before
its results are bound to the variables would leave the model with deleted (jax: "Array has been deleted") or
half-updated weights. `held()` defers SIGINT over that span: the signal is noted, the step finishes and its
results are bound, then the signal is raised again with the handler that was in place (by default a
`KeyboardInterrupt` from the line after the step). Only the main thread receives signals; elsewhere, and when
SIGINT is ignored, `held()` does nothing.
"""

import signal
import threading


class _Held:
    __slots__ = ("pending", "previous")

    def __init__(self):
        self.pending = False
        self.previous = None

    def _note(self, signum, frame):
        self.pending = True

    def __enter__(self):
        self.pending = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous not in (signal.SIG_IGN, None):
                signal.signal(signal.SIGINT, self._note)
                self.previous = previous
        return self

    def __exit__(self, *exc):
        if self.previous is None:
            return False
        signal.signal(signal.SIGINT, self.previous)
        self.previous = None
        if self.pending:
            self.pending = False
            signal.raise_signal(signal.SIGINT)  # the restored handler runs it, as if it had come now
        return False


def held():
    """A context manager that defers SIGINT until the block (one train step and the binding of its results)
    has finished."""
    return _Held()
