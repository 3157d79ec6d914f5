"""The keras.ops.numpy names kshim adds in ops/elementwise.py and ops/arrays.py, against Keras 3."""

import numpy as np
import pytest

from kshim import ops
from tests.keras_ops_parity import parity_tests

from conformance.table_ops_numpy_extra import *  # noqa: F401,F403  (the table and its inputs)
from conformance.table_ops_numpy_extra import CASES


keras_results, test_matches_keras = parity_tests(__name__, CASES, ops)


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
