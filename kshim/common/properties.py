"""One home for the read-only attribute property (``shape``, ``dtype``, ...) that many classes expose."""

import operator


def read_only(attr, doc=None):
    """A read-only property that returns ``self.<attr>``: ``dtype = read_only("_dtype")`` stands for
    ``@property def dtype(self): return self._dtype``."""
    return property(operator.attrgetter(attr), doc=doc)
