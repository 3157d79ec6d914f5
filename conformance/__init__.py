"""kshim's cross-backend conformance suite: cases, a runner and reports.

``python -m conformance`` runs every case on each installed backend, one process per backend, and compares the
backends with each other and with numpy references. See `conformance.case` for writing a case
(``from conformance.case import case``).
"""
