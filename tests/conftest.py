"""Test-suite plumbing. ``KSHIM_TEST_CPU_TIMES=/path/prefix`` records each test's CPU seconds (this process's
threads plus the subprocesses it waited for, setup and teardown included) as JSON lines in ``prefix.<pid>``:
on a shared, loaded machine CPU time says what a test costs where wall time does not. `scripts/test_costs.py`
sums them per file."""

import json
import os
import resource
import time

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
