"""The JAX backend: one module per family of the contract (`kshim.backends.interface`), bound into
``kshim.backends.B`` by the loader.

core: creation, conversion, dtypes, devices, differentiation, compilation.
numpy: elementwise math, reductions, shapes and indexing, linear algebra.
nn: activations.
convolution: convolution and pooling.
rnn: recurrence (scan and the fused LSTM/GRU).
image: resizing.
foreach: elementwise ops over lists of tensors (optimizer updates).
random: the counter hash (in-step random bits).
distribution: the backend half of `kshim.distribution` (loaded on first use).
"""
