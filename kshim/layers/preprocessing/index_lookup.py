"""`IndexLookup`: the vocabulary machinery under `StringLookup`, `IntegerLookup` and `TextVectorization`.

Index layout (Keras 3's): the mask token (only with ``output_mode="int"``) at 0, then ``num_oov_indices`` OOV
slots, then the vocabulary. ``adapt`` orders tokens by count, most frequent first, ties by token in descending
order; ``max_tokens`` counts the special slots. Out-of-vocabulary tokens go to the single OOV slot, or with several
to ``hash(token) % num_oov_indices`` (FarmHash Fingerprint64 of the text, as TensorFlow; integers with
``oov_method="floormod"`` use ``value mod num_oov_indices``). In the non-int modes the mask token encodes as zeros.
"TF-IDF" weights are ``log(1 + num_documents / (1 + document_count))``, the special slots get their mean.

The vocabulary lives on the host. Subclasses map values to indices either on the host (`StringLookup`: strings
exist only in numpy) or with backend ops (`IntegerLookup`, which therefore also runs inside a compiled step).
"""

import collections
import os

import numpy as np

from kshim import ops
from kshim.layers.keras_tensor import KerasTensor
from kshim.layers.layer import Layer
from kshim.layers.preprocessing.category_encoding import check_not_sparse, check_output_mode, encode_categorical
from kshim.layers.preprocessing.hashing import hash_buckets
from kshim.layers.preprocessing.normalization import first_of
from kshim.utils.py_dataset import PyDataset

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _listify(x):
    if x is None:
        return None
    if ops.is_tensor(x):
        x = ops.convert_to_numpy(x)
    if isinstance(x, np.ndarray):
        x = x.tolist()
    return list(x)


class IndexLookup(Layer):
    """The shared vocabulary logic; see the module docstring. ``vocabulary_dtype`` is "string" or "int64"."""

    _kshim_host_layer = True

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        cls = type(self).__name__
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        self._frozen_vocab_size = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        super().__init__(name=name, **kwargs)
        if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                       or max_tokens <= 1):
            raise ValueError(f"{cls}: `max_tokens` must be an integer greater than 1 or None. Received: "
                             f"max_tokens={max_tokens!r}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{cls}: `pad_to_max_tokens=True` needs `max_tokens`. Received: max_tokens=None")
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, int) or num_oov_indices < 0:
            raise ValueError(f"{cls}: `num_oov_indices` must be an integer >= 0. Received: "
                             f"num_oov_indices={num_oov_indices!r}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{cls}: `oov_method` must be 'floormod' or 'farmhash'. Received: "
                             f"oov_method={oov_method!r}")
        output_mode = check_output_mode(cls, output_mode, OUTPUT_MODES)
        check_not_sparse(cls, sparse)
        if invert and output_mode != "int":
            raise ValueError(f"{cls}: `invert=True` needs output_mode='int'. Received: output_mode={output_mode!r}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{cls}: `idf_weights` is only used with output_mode='tf_idf'. Received: "
                             f"output_mode={output_mode!r}")
        if salt is not None:
            if isinstance(salt, int) and not isinstance(salt, bool):
                salt = [salt, salt]
            elif not (isinstance(salt, (tuple, list)) and len(salt) == 2):
                raise ValueError(f"{cls}: `salt` must be an integer or a pair of integers. Received: salt={salt!r}")
            salt = list(salt)
        self.invert, self.max_tokens, self.num_oov_indices = bool(invert), max_tokens, num_oov_indices
        self.mask_token, self.oov_token, self.output_mode = mask_token, oov_token, output_mode
        self.sparse, self.pad_to_max_tokens = False, bool(pad_to_max_tokens)
        self.vocabulary_dtype, self.oov_method, self.salt = vocabulary_dtype, oov_method, salt
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input_vocabulary
        self._tokens = []
        self._index = {}
        self.idf_weights = None
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None and vocabulary is not None:
            raise ValueError(f"{cls}: with output_mode='tf_idf' and a `vocabulary`, give `idf_weights` too.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.reset_state()
        self.built = True

    # -- index layout --------------------------------------------------------------------------------------------
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self):
        """The number of indices: special slots plus tokens."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The token of each index, special tokens first (unless ``include_special_tokens=False``)."""
        special = [self.oov_token] * self._token_start_index()
        if self.mask_token is not None and self.output_mode == "int":
            special[0] = self.mask_token
        vocab = special + list(self._tokens)
        return vocab if include_special_tokens else vocab[self._token_start_index():]

    def _depth(self):
        if self.pad_to_max_tokens:
            return self.max_tokens
        if self._frozen_vocab_size is None:
            raise RuntimeError(f"{type(self).__name__} '{self.name}': with output_mode={self.output_mode!r} the "
                               "vocabulary must be set before the layer is called: pass `vocabulary` or call "
                               "`adapt(data)`.")
        return self._frozen_vocab_size

    def _record_vocabulary_size(self):
        if self.output_mode != "int" and not self.pad_to_max_tokens:
            if self._frozen_vocab_size is not None and self._called and \
                    self.vocabulary_size() != self._frozen_vocab_size:
                raise RuntimeError(f"{type(self).__name__} '{self.name}': with output_mode={self.output_mode!r} "
                                   "and pad_to_max_tokens=False the vocabulary size cannot change after the layer "
                                   f"was called (was {self._frozen_vocab_size}, now {self.vocabulary_size()}).")
        self._frozen_vocab_size = self.vocabulary_size()

    _called = False

    # -- setting the vocabulary ----------------------------------------------------------------------------------
    def _normalize_token(self, token):
        return token

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list, array or a path to a one-token-per-line file) and, for "tf_idf", its
        inverse document frequencies. The special tokens may lead the list, in their layout order."""
        cls = type(self).__name__
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{cls}: output_mode='tf_idf' needs `idf_weights` with the vocabulary.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{cls}: `idf_weights` is only used with output_mode='tf_idf'. Received: "
                             f"output_mode={self.output_mode!r}")
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding="utf-8") as f:
                lines = f.read().splitlines()
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines
        vocabulary = [self._normalize_token(t) for t in _listify(vocabulary)]
        if not vocabulary:
            raise ValueError(f"{cls}: cannot set an empty vocabulary.")
        start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        found_special = vocabulary[:start] == special
        tokens = vocabulary[start:] if found_special else vocabulary
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(f"{cls}: the vocabulary has repeated terms: {repeated}. Make it unique.")
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"{cls}: the mask token {self.mask_token!r} appears in the vocabulary at an "
                             f"unexpected place. Leave the special tokens out, or put them first in this order: "
                             f"{special}")
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise ValueError(f"{cls}: the OOV token {self.oov_token!r} appears in the vocabulary at an unexpected "
                             f"place. Leave the special tokens out, or put them first in this order: {special}")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"{cls}: the vocabulary ({start + len(tokens)} entries with the special tokens) is "
                             f"larger than max_tokens={self.max_tokens}.")
        self._set_tokens(tokens)
        self._has_input_vocabulary = True
        if self.output_mode == "tf_idf":
            idf = np.asarray(_listify(idf_weights), dtype="float64")
            if idf.ndim != 1 or len(idf) != len(vocabulary):
                raise ValueError(f"{cls}: `idf_weights` must be a 1-D list with one weight per vocabulary entry. "
                                 f"Received {len(idf)} weights for {len(vocabulary)} entries.")
            front = 0 if found_special else start
            back = self.max_tokens - front - len(idf) if self.pad_to_max_tokens else 0
            idf = np.pad(idf, (front, back), constant_values=(np.mean(idf) if front else 0.0, 0.0))
            self.idf_weights = idf.astype("float32")
        self._record_vocabulary_size()

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {t: i + start for i, t in enumerate(self._tokens)}

    # -- adapt ---------------------------------------------------------------------------------------------------
    def reset_state(self):
        if self._has_input_vocabulary:
            return
        self._counts = collections.Counter()
        self._doc_counts = collections.Counter()
        self._num_documents = 0

    def _adapt_values(self, batch):
        """A 2-D (documents, tokens) host view of one adapt batch (list rows for ragged text)."""
        arr = np.asarray(batch, dtype=object) if not isinstance(batch, list) else batch
        if isinstance(arr, np.ndarray):
            if arr.ndim == 0:
                arr = arr.reshape(1, 1)
            elif arr.ndim == 1:
                arr = arr.reshape(1, -1)
            return [list(row.reshape(-1)) for row in arr]
        return [list(np.asarray(row, dtype=object).reshape(-1)) for row in arr]

    def update_state(self, data):
        if self._has_input_vocabulary:
            raise ValueError(f"{type(self).__name__} '{self.name}': cannot adapt after a static vocabulary was set "
                             "(through `vocabulary` or `set_vocabulary`).")
        for row in self._adapt_values(data):
            row = [self._normalize_token(t) for t in row]
            self._counts.update(row)
            if self.output_mode == "tf_idf":
                self._doc_counts.update(set(row))
                self._num_documents += 1

    def finalize_state(self):
        if self._has_input_vocabulary or not self._counts:
            self._record_vocabulary_size()
            return
        counts = dict(self._counts)
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        tokens = list(counts)
        order = sorted(range(len(tokens)), key=lambda i: (counts[tokens[i]], tokens[i]), reverse=True)
        if self.max_tokens:
            order = order[:self.max_tokens - self._token_start_index()]
        self._set_tokens([tokens[i] for i in order])
        if self.output_mode == "tf_idf":
            doc = np.array([self._doc_counts[t] for t in self._tokens], dtype="float64")
            idf = np.log(1.0 + self._num_documents / (1.0 + doc))
            idf = np.pad(idf, (self._token_start_index(), 0), constant_values=np.mean(idf) if len(idf) else 0.0)
            if self.pad_to_max_tokens:
                idf = np.pad(idf, (0, self.max_tokens - len(idf)))
            self.idf_weights = idf.astype("float32")
        self.reset_state()
        self._record_vocabulary_size()

    def adapt(self, data, steps=None):
        """Build the vocabulary from ``data``: an array or list of values (one batch), or an iterable of
        batches (a generator, a PyDataset; ``(x, y)`` batches use ``x``)."""
        self.reset_state()
        if isinstance(data, (list, tuple, np.ndarray)) or ops.is_tensor(data):
            batch = ops.convert_to_numpy(data) if ops.is_tensor(data) else np.asarray(data, dtype=object)
            self.update_state(batch.reshape(-1, 1) if batch.ndim == 1 else batch)
        else:
            batches = (data[i] for i in range(len(data))) if isinstance(data, PyDataset) else iter(data)
            for i, batch in enumerate(batches):
                if steps is not None and i >= steps:
                    break
                batch = first_of(batch)
                self.update_state(ops.convert_to_numpy(batch) if ops.is_tensor(batch) else batch)
        self.finalize_state()

    # -- lookup --------------------------------------------------------------------------------------------------
    def _encode(self, indices):
        """Encode int indices (a backend tensor) per ``output_mode``."""
        if self.output_mode == "int":
            return indices
        depth = self._depth()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode_categorical(indices, mode, depth, "float32")
        if self.output_mode == "tf_idf":
            out = ops.multiply(out, self.idf_weights[:depth])
        return out

    def _host_lookup(self, values):
        """Indices (int64 numpy) of a numpy array of host values."""
        flat = values.reshape(-1)
        out = np.empty(flat.shape, dtype=np.int64)
        default = self._oov_start_index() if self.num_oov_indices == 1 else -1
        missing = []
        for i, v in enumerate(flat):
            idx = self._index.get(v)
            if idx is None:
                if self.mask_token is not None and v == self.mask_token:
                    idx = 0 if self.output_mode == "int" else -1
                elif self.num_oov_indices > 1:
                    idx = -2  # hashed below
                else:
                    idx = default
                    if self.num_oov_indices == 0:
                        missing.append(v)
            out[i] = idx
        if missing:
            raise ValueError(f"{type(self).__name__} '{self.name}': with num_oov_indices=0 every input must be in "
                             f"the vocabulary. Found out-of-vocabulary values {missing[:10]}; consider "
                             "num_oov_indices=1.")
        hashed = out == -2
        if hashed.any():
            out[hashed] = self._oov_buckets(flat[hashed]) + self._oov_start_index()
        return out.reshape(values.shape)

    def _oov_buckets(self, values):
        return hash_buckets(values, self.num_oov_indices, self.salt)

    def _host_invert(self, indices):
        vocab = self.get_vocabulary()
        size = len(vocab)
        flat = np.asarray(indices).reshape(-1)
        out = np.array([vocab[i] if 0 <= i < size else self.oov_token for i in flat.tolist()], dtype=object)
        return out.reshape(np.shape(indices))

    # -- saving (Keras 3's hooks: the vocabulary is an asset file, the IDF weights a variable) --------------------
    def save_own_variables(self, store):
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            store["idf_weights"] = np.asarray(self.idf_weights)

    def load_own_variables(self, store):
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self.idf_weights = np.asarray(store["idf_weights"], dtype="float32")

    def save_assets(self, dir_path):
        """Write ``vocabulary.txt`` (one token per line, special tokens first) unless the vocabulary was given."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(t) for t in self.get_vocabulary()))

    def load_assets(self, dir_path):
        """Read the vocabulary written by `save_assets`."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        values = lines if self.vocabulary_dtype == "string" else [int(v) for v in lines]
        idf = self.idf_weights if self.output_mode == "tf_idf" else None
        self.set_vocabulary(values, idf_weights=idf)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    def compute_output_spec(self, inputs_spec):
        if self.output_mode == "int":
            dtype = self.vocabulary_dtype if self.invert else "int64"
        else:
            dtype = "float32"
        return KerasTensor(self.compute_output_shape(inputs_spec.shape), dtype)

    def get_config(self):
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode, "sparse": self.sparse,
                "pad_to_max_tokens": self.pad_to_max_tokens, "vocabulary_dtype": self.vocabulary_dtype,
                "idf_weights": _listify(self.input_idf_weights), "vocabulary": _listify(self.input_vocabulary),
                "vocabulary_size": self._frozen_vocab_size, "oov_method": self.oov_method, "salt": self.salt}
