"""The API coverage script: its arithmetic on a fake namespace pair, and one real run against Keras 3."""

import importlib.util
import json
import os
import subprocess
import sys
import types

import pytest

from kshim.tools import api_coverage


def _package(name, **attrs):
    module = types.ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def _pair():
    ref_nn = _package("ref.nn", relu=1, gelu=2, _private=3)
    ref_skip = _package("ref.legacy", old=1)  # an excluded namespace is not counted
    return _package("ref", nn=ref_nn, legacy=ref_skip, Dense=1, Conv=2, Pool=3, os=types)  # `os` is foreign


class _Candidate:
    """A candidate root whose missing names raise as kshim's do (a deliberate AttributeError for Pool)."""

    __name__ = "cand"
    nn = types.SimpleNamespace(relu=1)
    Dense = 1

    def __getattr__(self, name):
        if name == "Pool":
            raise AttributeError(f"{api_coverage.NOT_PROVIDED} cand.Pool: no pooling here")
        raise AttributeError(name)


def test_arithmetic_on_a_fake_pair():
    ref = _pair()
    result = api_coverage.coverage(ref, _Candidate())
    assert set(result["namespaces"]) == {"ref", "ref.nn"}
    top, nn = result["namespaces"]["ref"], result["namespaces"]["ref.nn"]
    assert (top["names"], top["present"], top["missing"]) == (3, 1, ["Conv", "Pool"])
    assert top["not_provided"] == {"Pool": f"{api_coverage.NOT_PROVIDED} cand.Pool: no pooling here"}
    assert (nn["names"], nn["present"], nn["missing"]) == (2, 1, ["gelu"])
    assert (result["total"], result["present"], result["percent"]) == (5, 2, 40.0)
    assert (result["not_provided"], result["percent_without_not_provided"]) == (1, 50.0)
    text = api_coverage.format_report(result)
    assert "ref.nn" in text and "- gelu" in text and "40.0%" in text


def test_a_missing_namespace_counts_all_its_names_missing():
    ref = _pair()
    cand = types.SimpleNamespace(__name__="cand", Dense=1, Conv=1, Pool=1)
    result = api_coverage.coverage(ref, cand)
    assert result["namespaces"]["ref.nn"]["present"] == 0
    assert (result["present"], result["total"]) == (3, 5)


def test_against_installed_keras():
    if importlib.util.find_spec("keras") is None:
        pytest.skip("Keras 3 is not installed")
    env = dict(os.environ, KERAS_BACKEND="jax")  # the public names are the same on every Keras backend
    proc = subprocess.run([sys.executable, "-m", "kshim.tools.api_coverage", "--json", "--min", "100.1"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1, proc.stderr  # nothing reaches 100.1%
    result = json.loads(proc.stdout)
    assert result["total"] > 1000 and 0 < result["present"] < result["total"]
    assert result["present"] == sum(v["present"] for v in result["namespaces"].values())
    assert result["total"] == sum(v["names"] for v in result["namespaces"].values())
    assert "keras.ops.nn" in result["namespaces"] and "keras.applications" not in result["namespaces"]
    assert "Sequential" not in result["namespaces"]["keras"]["missing"]
