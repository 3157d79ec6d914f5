"""The PyTorch backend: one module per family of the contract (`kshim.backends.interface`), bound into
``kshim.backends.B`` by the loader.

- ``core``: creation, conversion, dtypes, devices, differentiation, compilation and execution
  (``replay``: the record-and-replay of compiled steps)
- ``numpy``: elementwise math, reductions, sorting, linear algebra; shapes and indexing (in ``shapes``)
- ``nn``: activations and softmax
- ``convolution``: convolution and pooling
- ``rnn``: recurrence (scan and the fused LSTM/GRU kernels)
- ``image``: resizing
- ``foreach``: elementwise ops over lists of tensors (optimizer updates)
- ``random``: the counter hash (in-step random bits)
- ``distribution``: the backend half of `kshim.distribution` (loaded on first use)
"""
