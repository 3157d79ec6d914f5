"""`StringLookup`: strings to vocabulary indices (or back, with ``invert=True``), on the host."""

import numpy as np

from kshim import ops
from kshim.layers.preprocessing.hashing import host_array
from kshim.layers.preprocessing.index_lookup import IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to indices from a vocabulary given or learned by ``adapt``; see `IndexLookup` for the index
    layout. Runs on the host (backends have no strings): inputs are lists or numpy arrays of ``str``/``bytes``, and
    the result is a backend int tensor (``invert=True``: a numpy array of strings)."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def _normalize_token(self, token):
        return token.decode(self.encoding) if isinstance(token, bytes) else token

    def _convert_inputs(self, x):
        return x

    def host_call(self, values):
        """The int64 indices (numpy) of a numpy array of strings."""
        values = np.asarray(values, dtype=object)
        if values.size and not all(isinstance(v, (str, bytes)) for v in values.reshape(-1)[:1]):
            raise ValueError(f"StringLookup '{self.name}': expected strings. Received values of type "
                             f"{type(values.reshape(-1)[0]).__name__}")
        flat = np.array([self._normalize_token(v) for v in values.reshape(-1)], dtype=object)
        return self._host_lookup(flat.reshape(values.shape))

    def call(self, inputs):
        self._called = True
        if self.invert:
            return self._host_invert(host_array(self, inputs))
        indices = self.host_call(host_array(self, inputs))
        return self._encode(ops.convert_to_tensor(indices))

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("vocabulary_dtype")
        return {**cfg, "encoding": self.encoding}
