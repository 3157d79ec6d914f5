"""The keras.ops.numpy names kshim adds in ops/elementwise.py and ops/arrays.py, against Keras 3."""

import numpy as np
import pytest

from kshim import ops
from tests.keras_ops_parity import assert_matches, keras_reference, run_cases

from conformance.table_ops_numpy_extra import *  # noqa: F401,F403  (the table and its inputs)
from conformance.table_ops_numpy_extra import CASES


@pytest.fixture(scope="module")
def keras_results(tmp_path_factory):
    ref = keras_reference(__name__, str(tmp_path_factory.mktemp("keras_ops")))
    if ref is None:
        pytest.skip("Keras 3 is not installed")
    return ref


@pytest.mark.parametrize("cid", [c[0] for c in CASES])
def test_matches_keras(keras_results, cid):
    case = next(c for c in CASES if c[0] == cid)
    ours = run_cases(ops, [case])[cid]
    assert not isinstance(ours, str), ours
    opts = dict(rtol=1e-5, atol=1e-6)
    opts.update(case[3] if len(case) > 3 else {})
    assert_matches(ours, keras_results[cid], cid=cid, **opts)


def test_every_keras_ops_name_is_here_or_says_why_not():
    import os

    import kshim.ops
    from kshim.ops.absent import ABSENT

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conformance",
                        "keras_ops_names.txt")
    with open(path) as f:
        names = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert len(names) > 300
    missing = [n for n in names if not hasattr(kshim.ops, n)]
    assert sorted(missing) == sorted(n for n in ABSENT if n in names)
    for n in missing:
        with pytest.raises(AttributeError, match=r"Keras 3 has `keras\.ops\.\w+`, kshim does not: .+"):
            getattr(kshim.ops, n)
