"""Models to check with ``python -m kshim.conformance check`` (see the README, "Checking that your model agrees").

Each module has a ``build_model()`` and a ``sample()`` returning one small batch ``(x, y)``:

    python -m kshim.conformance check examples.backend_agreement.mlp:build_model \
        --data examples.backend_agreement.mlp:sample

`mlp`, `cnn` (with BatchNormalization) and `lstm` agree across backends; `broken` has a custom layer that draws
from ``np.random`` when called, and the check names that layer.
"""
