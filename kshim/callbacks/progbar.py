"""`Progbar`: Keras's progress bar.

On a terminal the bar is redrawn in place (at most every ``interval`` seconds, so reading the running metrics,
which may sync a device, stays rare). When the output is not a terminal it prints plain lines: one at the end, and
one at most every 30 seconds in between. With ``kshim.config.disable_interactive_logging()`` those plain lines go
to Python logging (``logging.info`` on the ``"kshim"`` logger) instead, as Keras 3 sends them to absl logging.
"""

import sys
import time

import numpy as np

from kshim import config, ops
from kshim.config import print_msg


def _isatty():
    if not config.is_interactive_logging_enabled():
        return False  # log records are whole lines: never redraw in place
    stream = sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) or "ipykernel" in sys.modules


def _to_float(v):
    if isinstance(v, (int, float)):
        return float(v)
    if ops.is_tensor(v):
        v = ops.convert_to_numpy(v)
    return float(np.asarray(v).reshape(-1)[0]) if np.size(v) else float("nan")


def _fmt_time(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(round(seconds))}s"


def _fmt_per_unit(seconds, unit):
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """``Progbar(target)``; call ``update(current, values)`` as work progresses.

    ``values`` is a dict or a list of ``(name, value)`` pairs. Names in ``stateful_metrics`` (and every value
    the training loop passes, which are already running averages) are shown as given; others are averaged over
    the steps seen, as in Keras.
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self._dynamic = _isatty()
        self._start = time.time()
        # A terminal redraws at once; plain output waits, so a short run prints just its final line.
        self._last_render = 0.0 if self._dynamic else self._start
        self._sums = {}
        self._values = {}
        self._order = []
        self._lazy = None
        self.seen = 0
        self._last_len = 0
        self._done = False

    def _record(self, values, lazy, step_delta):
        if values is None:
            return
        if lazy:
            self._lazy = values  # read only when a line is drawn
            return
        items = values.items() if hasattr(values, "items") else values
        for name, value in items:
            if name not in self._order:
                self._order.append(name)
            if lazy or name in self.stateful_metrics:
                self._values[name] = value
            else:
                s, n = self._sums.get(name, (0.0, 0))
                self._sums[name] = (s + _to_float(value) * step_delta, n + step_delta)

    def _metric_text(self):
        if self._lazy is not None:
            for name, value in self._lazy.items():
                if name not in self._order:
                    self._order.append(name)
                self._values[name] = value
            self._lazy = None
        parts = []
        for name in self._order:
            if name in self._values:
                value = _to_float(self._values[name])
            else:
                s, n = self._sums[name]
                value = s / max(n, 1)
            parts.append(f"{name}: {value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{name}: {value:.4e}")
        return (" - " + " - ".join(parts)) if parts else ""

    def update(self, current, values=None, finalize=None, lazy=False):
        """Advance to step ``current``. ``lazy`` values are only read when the bar is drawn."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        step_delta = max(current - self.seen, 1)
        self._record(values, lazy, step_delta)
        self.seen = current
        if not self.verbose or self._done:
            return
        now = time.time()
        if not finalize:
            wait = self.interval if self._dynamic else 30.0
            if self.verbose != 1 or now - self._last_render < wait:
                return
        self._last_render = now
        self._render(current, now - self._start, finalize)
        if finalize:
            self._done = True

    def add(self, n, values=None):
        self.update(self.seen + n, values)

    def _render(self, current, elapsed, finalize):
        per_unit = elapsed / max(current, 1)
        if self.verbose == 2:
            line = f"{current}/{self.target or current} - {_fmt_time(elapsed)} - " \
                   f"{_fmt_per_unit(per_unit, self.unit_name)}{self._metric_text()}"
            print_msg(line)
            return
        if self.target is not None:
            digits = len(str(self.target))
            frac = min(current / self.target, 1.0) if self.target else 1.0
            filled = int(self.width * frac)
            bar = f"{str(current).rjust(digits)}/{self.target} " + "━" * filled + "─" * (self.width - filled)
        else:
            bar = f"{current}"
        if finalize:
            timing = f" {_fmt_time(elapsed)} {_fmt_per_unit(per_unit, self.unit_name)}"
        else:
            eta = per_unit * (self.target - current) if self.target else 0
            timing = f" {_fmt_time(eta)} {_fmt_per_unit(per_unit, self.unit_name)}"
        line = bar + timing + self._metric_text()
        if self._dynamic:
            pad = max(self._last_len - len(line), 0)
            sys.stdout.write("\r" + line + " " * pad + ("\n" if finalize else ""))
            sys.stdout.flush()
            self._last_len = len(line)
        else:
            print_msg(line)
