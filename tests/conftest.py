"""Test-suite plumbing. ``KSHIM_TEST_CPU_TIMES=/path/prefix`` records each test's CPU seconds (this process's
threads plus the subprocesses it waited for, setup and teardown included) as JSON lines in ``prefix.<pid>``:
on a shared, loaded machine CPU time says what a test costs where wall time does not. `scripts/test_costs.py`
sums them per file."""

import json
import os
import resource
import signal
import sys
import threading
import time
import warnings

import pytest

_CPU_TIMES = os.environ.get("KSHIM_TEST_CPU_TIMES")


def _cpu():
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


if _CPU_TIMES:
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        start = _cpu()
        yield
        with open(f"{_CPU_TIMES}.{os.getpid()}", "a") as f:
            f.write(json.dumps([item.nodeid, round(_cpu() - start, 3)]) + "\n")


# -- tests that run every backend themselves ----------------------------------------------------------------------
# A test marked `cross_backend` starts each backend in its own subprocess, whatever backend this pytest process
# uses: the CI runs the suite once per backend, so such a test runs only in the pass of the first installed backend
# (jax when both are), where it checks everything it would check in the other pass.

def _installed_backends():
    import importlib.util
    return [b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None]


def pytest_configure(config):
    config.addinivalue_line("markers", "cross_backend: runs every backend in subprocesses itself; it runs in one "
                                       "pass of the suite (the first installed backend's)")


def pytest_collection_modifyitems(config, items):
    installed = _installed_backends()
    current = os.environ.get("KSHIM_BACKEND") or (installed[0] if installed else "")
    if len(installed) < 2 or current == installed[0]:
        return
    skip = pytest.mark.skip(reason=f"runs every backend in subprocesses: it runs in the {installed[0]} pass")
    for item in items:
        if item.get_closest_marker("cross_backend"):
            item.add_marker(skip)


# -- SIGINT ignored -----------------------------------------------------------------------------------------------
# The Ctrl-C tests (tests/reliability/test_interrupts.py) need a process where Ctrl-C works. A suite started as a
# background job of a non-interactive shell inherits SIGINT ignored at the OS level (POSIX), and Python's own view
# (`signal.getsignal`) need not show it. After each test the OS-level disposition is read; when SIGINT is ignored a
# warning names the test after which it was found (the first test of a worker: inherited at start), and the default
# handler is put back.

def _sigint_ignored():
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    class _Sigaction(ctypes.Structure):  # glibc's struct sigaction
        _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16), ("flags", ctypes.c_int),
                    ("restorer", ctypes.c_void_p)]

    current = _Sigaction()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.sigaction(signal.SIGINT, None, ctypes.byref(current)) != 0:
        return False
    return current.handler == 1  # SIG_IGN


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if threading.current_thread() is threading.main_thread() and _sigint_ignored():
        warnings.warn(f"SIGINT found ignored at the OS level after {item.nodeid} (inherited when that is a "
                      "worker's first test); the default handler is put back", RuntimeWarning)
        signal.signal(signal.SIGINT, signal.default_int_handler)
