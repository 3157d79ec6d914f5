"""kshim.common: the small helpers every layer of the house may use (names, read-only properties, "did you mean",
data tuples, the `PyDataset` base class). It imports nothing from kshim, so it sits at the bottom; the public
``kshim.utils`` namespace, which sits at the top, re-exports the names users know."""
