"""`TextVectorization`: strings to token indices or bag-of-words vectors, on the host.

Backends have no string tensors, so standardizing, splitting and the vocabulary lookup run in Python/numpy when
the layer is called; the result is a backend tensor. Use the layer on the data (``x = vectorize(texts)``), in a
`PyDataset`, or as the first layer of a model you call directly; a compiled training step cannot take strings.

Standardization is Keras's: ``"lower_and_strip_punctuation"`` lower-cases and deletes the ASCII punctuation
characters ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``; splitting on ``"whitespace"`` drops empty tokens; ``ngrams``
appends, width by width, the space-joined n-grams of each text. Index 0 is the padding/mask token ``""`` and
index 1 the OOV token ``"[UNK]"``.
"""

import string

import numpy as np

from kshim import ops
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers.preprocessing.category_encoding import check_not_sparse, check_output_mode
from kshim.layers.preprocessing.hashing import host_array
from kshim.layers.preprocessing.normalization import first_of
from kshim.layers.preprocessing.string_lookup import StringLookup
from kshim.utils.py_dataset import PyDataset

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


def _check_callable_or(cls, name, value, allowed):
    if value is None or callable(value) or value in allowed:
        return value
    raise ValueError(f"{cls}: `{name}` must be None, a callable or one of {allowed}. Received: {name}={value!r}")


class TextVectorization(Layer):
    """Keras's text vectorization layer; see the module docstring. ``output_mode`` "int" gives (batch,
    ``output_sequence_length``) indices (padded with 0 after the text, truncated at the end; without a length, the
    longest text of the batch); "multi_hot", "count", "tf_idf" give (batch, vocabulary size) vectors."""

    _kshim_host_layer = True

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace",
                 ngrams=None, output_mode="int", output_sequence_length=None, pad_to_max_tokens=False,
                 vocabulary=None, idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        cls = "TextVectorization"
        check_not_sparse(cls, sparse)
        if ragged:
            raise ValueError("TextVectorization: `ragged=True` needs ragged tensors, which kshim does not have "
                             "(Keras supports them on TensorFlow only). Received: ragged=True")
        self._standardize = _check_callable_or(cls, "standardize", standardize, _STANDARDIZE)
        self._split = _check_callable_or(cls, "split", split, _SPLIT)
        output_mode = check_output_mode(cls, output_mode, ("int", "one_hot", "multi_hot", "count", "tf_idf"))
        if not (ngrams is None or (isinstance(ngrams, int) and not isinstance(ngrams, bool) and ngrams > 0) or (
                isinstance(ngrams, (tuple, list)) and all(isinstance(n, int) and n > 0 for n in ngrams))):
            raise ValueError(f"TextVectorization: `ngrams` must be None, a positive integer or a tuple of them. "
                             f"Received: ngrams={ngrams!r}")
        if output_mode == "int" and output_sequence_length is not None and (
                isinstance(output_sequence_length, bool) or not isinstance(output_sequence_length, int)
                or output_sequence_length < 0):
            raise ValueError(f"TextVectorization: `output_sequence_length` must be None or a non-negative integer. "
                             f"Received: output_sequence_length={output_sequence_length!r}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(f"TextVectorization: `output_sequence_length` is only used with output_mode='int'. "
                             f"Received: output_mode={output_mode!r}, "
                             f"output_sequence_length={output_sequence_length}")
        if output_mode == "one_hot" and split is not None:
            raise ValueError("TextVectorization: output_mode='one_hot' encodes one token per text; set "
                             "`split=None`, or use 'multi_hot' / 'count' for bags of words.")
        self._ngrams_arg = tuple(ngrams) if isinstance(ngrams, list) else ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else self._ngrams_arg
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._ragged = False
        self._lookup_layer = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
                                          pad_to_max_tokens=pad_to_max_tokens, mask_token="",
                                          output_mode=output_mode, encoding=encoding,
                                          has_input_vocabulary=has_input_vocabulary,
                                          vocabulary_size=vocabulary_size, name=f"{self.name}_lookup")
        self.built = True

    # -- the string pipeline -------------------------------------------------------------------------------------
    def _texts(self, inputs):
        """The input as a numpy array of ``str`` (rank 1, or rank 2 with a trailing axis of 1 when splitting)."""
        arr = host_array(self, first_of(inputs) if isinstance(inputs, tuple) else inputs)
        if arr.dtype.kind not in "UO":
            raise ValueError(f"TextVectorization '{self.name}': expected strings. Received an array of dtype "
                             f"{arr.dtype}")
        arr = np.array([v.decode(self._encoding) if isinstance(v, bytes) else v for v in arr.reshape(-1)],
                       dtype=object).reshape(arr.shape)
        if self._split is not None and arr.ndim > 1:
            if arr.shape[-1] != 1:
                raise ValueError(f"TextVectorization '{self.name}': to split strings the input must have rank 1 or "
                                 f"a last axis of size 1. Received: inputs.shape={arr.shape}")
            arr = arr[..., 0]
        return arr

    def _standardized(self, arr):
        if self._standardize is None:
            return arr
        if callable(self._standardize):
            out = self._standardize(arr)
            return np.asarray(ops.convert_to_numpy(out) if ops.is_tensor(out) else out, dtype=object)
        flat = arr.reshape(-1)
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            flat = np.array([t.lower() for t in flat], dtype=object)
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            flat = np.array([t.translate(_PUNCTUATION) for t in flat], dtype=object)
        return flat.reshape(arr.shape)

    def _tokens(self, inputs):
        """Per text, its list of tokens (n-grams included), or the standardized array when not splitting."""
        arr = self._standardized(self._texts(inputs))
        if self._split is None:
            return arr
        if self._split == "whitespace":
            rows = [t.split() for t in arr.reshape(-1)]
        elif self._split == "character":
            rows = [list(t) for t in arr.reshape(-1)]
        else:
            rows = [list(np.asarray(r, dtype=object).reshape(-1)) for r in self._split(arr)]
        if self._ngrams is not None:
            rows = [[" ".join(row[i:i + n]) for n in self._ngrams for i in range(len(row) - n + 1)]
                    for row in rows]
        return rows

    # -- vocabulary ----------------------------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and IDF weights) from texts: a list/array of strings, or an iterable of batches."""
        self._lookup_layer.reset_state()
        if isinstance(data, (list, tuple, np.ndarray)) or ops.is_tensor(data):
            arr = np.asarray(data, dtype=object)
            size = batch_size or max(len(arr), 1)
            for start in range(0, len(arr), size):
                self.update_state(arr[start:start + size])
        else:
            batches = (data[i] for i in range(len(data))) if isinstance(data, PyDataset) else iter(data)
            for i, batch in enumerate(batches):
                if steps is not None and i >= steps:
                    break
                self.update_state(first_of(batch))
        self.finalize_state()

    def update_state(self, data):
        tokens = self._tokens(data)
        self._lookup_layer.update_state(tokens if isinstance(tokens, list) else tokens.reshape(len(tokens), -1))

    def finalize_state(self):
        self._lookup_layer.finalize_state()

    def reset_state(self):
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens=True):
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # -- saving: Keras 3's hooks, delegated to the lookup layer ------------------------------------------------
    def save_own_variables(self, store):
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store):
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path):
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path):
        self._lookup_layer.load_assets(dir_path)

    # -- calling -------------------------------------------------------------------------------------------------
    def _convert_inputs(self, x):
        return x

    def host_call(self, inputs):
        """The layer's output as a numpy array (int64 indices, or float32 vectors)."""
        lookup = self._lookup_layer
        lookup._called = True
        tokens = self._tokens(inputs)
        if self._split is None:
            indices = lookup.host_call(tokens)
            if self._output_mode == "int":
                return self._fit_length(indices) if self._output_sequence_length is not None else indices
            rows = [np.atleast_1d(r).reshape(-1) for r in indices.reshape(len(indices), -1)] \
                if indices.ndim else [indices.reshape(-1)]
        else:
            rows = [lookup.host_call(np.array(r, dtype=object)) if r else np.zeros((0,), "int64") for r in tokens]
            if self._output_mode == "int":
                length = self._output_sequence_length
                if length is None:
                    length = max([len(r) for r in rows], default=0)
                out = np.zeros((len(rows), length), dtype=np.int64)
                for i, r in enumerate(rows):
                    r = r[:length]
                    out[i, :len(r)] = r
                return out
        depth = lookup._depth()
        if self._output_mode == "one_hot":
            out = np.zeros((len(rows), depth), dtype=np.float32)
            for i, r in enumerate(rows):
                if r.size and 0 <= r[0] < depth:
                    out[i, r[0]] = 1.0
            return out
        counts = np.zeros((len(rows), depth), dtype=np.float32)
        for i, r in enumerate(rows):
            r = r[(r >= 0) & (r < depth)]
            counts[i] = np.bincount(r, minlength=depth)[:depth]
        if self._output_mode == "multi_hot":
            return (counts > 0).astype(np.float32)
        if self._output_mode == "tf_idf":
            return (counts * lookup.idf_weights[:depth]).astype(np.float32)
        return counts

    def _fit_length(self, indices):
        length = self._output_sequence_length
        x = indices if indices.ndim > 1 else indices.reshape(-1, 1)
        out = np.zeros(x.shape[:-1] + (length,), dtype=np.int64)
        keep = x[..., :length]
        out[..., :keep.shape[-1]] = keep
        return out

    def call(self, inputs):
        return ops.convert_to_tensor(self.host_call(inputs))

    def compute_output_shape(self, input_shape):
        if self._output_mode == "int":
            if self._split is None and self._output_sequence_length is None:
                return tuple(input_shape)
            return (input_shape[0], self._output_sequence_length)
        depth = self._lookup_layer.max_tokens if self._lookup_layer.pad_to_max_tokens else \
            self._lookup_layer._frozen_vocab_size
        return (input_shape[0], depth)

    def compute_output_spec(self, inputs_spec):
        return KerasTensor(self.compute_output_shape(inputs_spec.shape),
                           "int64" if self._output_mode == "int" else "float32")

    def get_config(self):
        lookup = self._lookup_layer
        vocabulary = lookup.input_vocabulary
        return {**super().get_config(), "max_tokens": lookup.max_tokens, "standardize": self._standardize,
                "split": self._split, "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": False, "ragged": False,
                "vocabulary": None if vocabulary is None else list(np.asarray(vocabulary).tolist()),
                "idf_weights": None if lookup.input_idf_weights is None else
                np.asarray(lookup.input_idf_weights).tolist(),
                "encoding": self._encoding, "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return super().from_config(config)
