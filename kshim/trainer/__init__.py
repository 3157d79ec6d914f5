"""kshim.trainer: compile/fit/evaluate/predict, the step builder and the data adapters."""
