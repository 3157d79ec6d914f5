"""`IntegerLookup`: integer values to vocabulary indices (or back, with ``invert=True``).

The lookup is written with backend ops (a comparison against the vocabulary and an argmax), so the layer also runs
inside a compiled training step; it costs memory proportional to inputs x vocabulary size.
"""

import numpy as np

from kshim import ops
from kshim.layers.preprocessing.index_lookup import IndexLookup


class IntegerLookup(IndexLookup):
    """Maps integers to indices from a vocabulary given or learned by ``adapt``; see `IndexLookup` for the index
    layout. ``oov_token`` defaults to -1; with several OOV slots, ``oov_method="floormod"`` sends value ``v`` to
    ``v mod num_oov_indices`` and ``"farmhash"`` hashes its decimal text."""

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype not in ("int64", "int32"):
            raise ValueError(f"IntegerLookup: `vocabulary_dtype` must be 'int64'. Received: "
                             f"vocabulary_dtype={vocabulary_dtype!r}")
        if salt is not None and oov_method != "farmhash":
            raise ValueError(f"IntegerLookup: `salt` is only used with oov_method='farmhash'. Received: "
                             f"oov_method={oov_method!r}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, vocabulary_dtype="int64",
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt, name=name,
                         **kwargs)

    def _normalize_token(self, token):
        if isinstance(token, (bool, np.bool_)) or not isinstance(token, (int, np.integer, float, np.floating)):
            raise ValueError(f"IntegerLookup '{self.name}': expected integer values. Received: {token!r}")
        return int(token)

    def _tensor_lookup(self, x):
        x = ops.cast(x, "int32")
        start = self._token_start_index()
        if self._tokens:
            vocab = np.asarray(self._tokens, dtype="int32")
            hits = ops.equal(ops.expand_dims(x, -1), vocab)
            found = ops.any(hits, axis=-1)
            index = ops.add(ops.cast(ops.argmax(ops.cast(hits, "int32"), axis=-1), "int32"), start)
        else:
            found = ops.zeros(ops.shape(x), dtype="bool")
            index = ops.zeros(ops.shape(x), dtype="int32")
        oov_start = self._oov_start_index()
        if self.num_oov_indices > 1 and self.oov_method == "floormod":
            default = ops.add(ops.mod(x, self.num_oov_indices), oov_start)
        elif self.num_oov_indices > 1:
            default = ops.convert_to_tensor(
                (self._oov_buckets(ops.convert_to_numpy(x)) + oov_start).astype("int32"))
        else:
            default = ops.full_like(x, oov_start if self.num_oov_indices == 1 else -1)
        out = ops.where(found, index, default)
        if self.mask_token is not None:
            out = ops.where(ops.equal(x, int(self.mask_token)), 0 if self.output_mode == "int" else -1, out)
        return out

    def _check_in_vocabulary(self, x, out):
        if self.num_oov_indices != 0:
            return
        try:
            missing = ops.convert_to_numpy(x)[ops.convert_to_numpy(out) < 0]
        except Exception:  # traced inside a compiled step: no eager check possible
            return
        if missing.size:
            raise ValueError(f"IntegerLookup '{self.name}': with num_oov_indices=0 every input must be in the "
                             f"vocabulary. Found out-of-vocabulary values {missing[:10].tolist()}; consider "
                             "num_oov_indices=1.")

    def call(self, inputs):
        self._called = True
        if self.invert:
            vocab = np.asarray([0 if t is None else t for t in self.get_vocabulary()], dtype="int64")
            x = ops.cast(inputs, "int32")
            valid = ops.logical_and(ops.greater_equal(x, 0), ops.less(x, len(vocab)))
            tokens = ops.take(ops.convert_to_tensor(vocab), ops.clip(x, 0, len(vocab) - 1), axis=0)
            return ops.where(valid, tokens, ops.full_like(tokens, int(self.oov_token)))
        out = self._tensor_lookup(inputs)
        self._check_in_vocabulary(inputs, out)
        return self._encode(out)
