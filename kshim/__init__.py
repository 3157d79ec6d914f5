"""kshim: Keras-compatible deep learning on PyTorch and JAX."""
from kshim import config
