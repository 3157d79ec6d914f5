"""Bad-input probes (issue 20): fit/evaluate/predict, compile, the 20 most used layers and every loss. Each probe
must raise a clear error: a ValueError or TypeError raised from a kshim frame, naming the argument or the value
received. `python tests/reliability/probes.py` prints the counts (probes, clear errors, deep crashes)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import probes  # noqa: E402 - the probe table lives beside this file


@pytest.mark.parametrize("name", sorted(probes.PROBES))
def test_probe_raises_a_clear_error(name):
    kind, desc = probes.classify(probes.PROBES[name])
    assert kind == "clear", f"{name}: {kind}: {desc}"


def test_the_probes_cover_every_entry_point():
    families = {name.split("/")[0].split(".")[0] for name in probes.PROBES}
    assert {"fit", "evaluate", "predict", "compile", "losses"} <= families
    layers = families - {"fit", "evaluate", "predict", "compile", "losses", "Input"}
    assert len(layers) >= 20, sorted(layers)
