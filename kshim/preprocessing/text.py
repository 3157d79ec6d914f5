"""``kshim.preprocessing.text``: Keras 2's text helpers (`Tokenizer`, `text_to_word_sequence`, `one_hot`,
`hashing_trick`, `tokenizer_from_json`), deprecated in Keras 3 in favour of `kshim.layers.TextVectorization`.

They are pure Python and give Keras 2's results: word indices start at 1 (0 is left for padding), ordered by
frequency (ties keep first-seen order), with the ``oov_token`` (if any) at 1.
"""

import collections
import hashlib
import json
import warnings

import numpy as np

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_HINT = "use kshim.layers.TextVectorization"


def _deprecated(name):
    warnings.warn(f"`{name}` is a Keras 2 API, deprecated in Keras 3: {_HINT}.", DeprecationWarning, stacklevel=3)


def _words(text, filters, lower, split):
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


def text_to_word_sequence(input_text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """The words of ``input_text``: lower-cased, ``filters`` characters replaced by ``split``, split on it."""
    _deprecated("text_to_word_sequence")
    return _words(input_text, filters, lower, split)


def hashing_trick(text, n, hash_function=None, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """Each word as ``hash_function(word) % (n - 1) + 1`` (Python's ``hash`` by default, which changes between
    processes unless PYTHONHASHSEED is set; "md5" is stable)."""
    _deprecated("hashing_trick")
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        def hash_function(w):
            return int(hashlib.md5(w.encode()).hexdigest(), 16)
    seq = analyzer(text) if analyzer is not None else _words(text, filters, lower, split)
    return [hash_function(w) % (n - 1) + 1 for w in seq]


def one_hot(input_text, n, filters=DEFAULT_FILTERS, lower=True, split=" ", analyzer=None):
    """`hashing_trick` with Python's ``hash``: word indices in [1, n)."""
    _deprecated("one_hot")
    seq = analyzer(input_text) if analyzer is not None else _words(input_text, filters, lower, split)
    return [hash(w) % (n - 1) + 1 for w in seq]


class Tokenizer:
    """Keras 2's text tokenizer: ``fit_on_texts`` builds ``word_index`` (1 = most frequent, or the
    ``oov_token``), ``texts_to_sequences`` maps texts to index lists (only indices below ``num_words`` are kept;
    others become the OOV index, or are dropped without an ``oov_token``), ``texts_to_matrix`` gives
    "binary", "count", "freq" or "tfidf" bag-of-words rows."""

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ", char_level=False,
                 oov_token=None, analyzer=None, **kwargs):
        _deprecated("Tokenizer")
        if "nb_words" in kwargs:
            warnings.warn("Tokenizer: `nb_words` was renamed `num_words`.", stacklevel=2)
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError(f"Tokenizer: unknown keyword arguments {sorted(kwargs)}")
        if num_words is not None and (isinstance(num_words, bool) or not isinstance(num_words, int)
                                      or num_words < 0):
            raise ValueError(f"Tokenizer: `num_words` must be None or a non-negative integer. Received: "
                             f"num_words={num_words!r}")
        self.word_counts = collections.OrderedDict()
        self.word_docs = collections.defaultdict(int)
        self.filters, self.split, self.lower = filters, split, lower
        self.num_words, self.document_count = num_words, document_count
        self.char_level, self.oov_token, self.analyzer = char_level, oov_token, analyzer
        self.index_docs = collections.defaultdict(int)
        self.word_index = {}
        self.index_word = {}

    def _sequence(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        if self.analyzer is not None:
            return self.analyzer(text)
        return _words(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts):
        """Count words over ``texts`` (strings, or lists of tokens) and rebuild ``word_index``."""
        if isinstance(texts, str):
            raise ValueError("Tokenizer.fit_on_texts: `texts` must be a list of texts, not one string.")
        for text in texts:
            self.document_count += 1
            seq = self._sequence(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        ranked = sorted(self.word_counts.items(), key=lambda wc: wc[1], reverse=True)
        vocab = ([] if self.oov_token is None else [self.oov_token]) + [w for w, _ in ranked]
        self.word_index = dict(zip(vocab, range(1, len(vocab) + 1)))
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in self.word_docs.items():
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences):
        """Count documents per index (for "tfidf") from integer sequences."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences_generator(self, texts):
        oov = self.word_index.get(self.oov_token)
        for text in texts:
            out = []
            for w in self._sequence(text):
                i = self.word_index.get(w)
                if i is not None and not (self.num_words and i >= self.num_words):
                    out.append(i)
                elif oov is not None:
                    out.append(oov)
            yield out

    def texts_to_sequences(self, texts):
        """Each text as a list of word indices."""
        return list(self.texts_to_sequences_generator(texts))

    def sequences_to_texts_generator(self, sequences):
        oov = self.word_index.get(self.oov_token)
        for seq in sequences:
            words = []
            for i in seq:
                w = self.index_word.get(i)
                if w is not None and not (self.num_words and i >= self.num_words):
                    words.append(w)
                elif oov is not None:
                    words.append(self.index_word[oov])
            yield " ".join(words)

    def sequences_to_texts(self, sequences):
        """Each index sequence back to a space-joined text."""
        return list(self.sequences_to_texts_generator(sequences))

    def texts_to_matrix(self, texts, mode="binary"):
        """(len(texts), num_words) bag-of-words rows; see `sequences_to_matrix`."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """Rows of ``num_words`` (or ``len(word_index) + 1``) columns: "binary" 1 for present words, "count" the
        count, "freq" count / length, "tfidf" ``(1 + log(count)) * log(1 + documents / (1 + document
        frequency))``."""
        if mode not in ("binary", "count", "freq", "tfidf"):
            raise ValueError(f"Tokenizer: `mode` must be 'binary', 'count', 'freq' or 'tfidf'. Received: "
                             f"mode={mode!r}")
        if self.num_words:
            num_words = self.num_words
        elif self.word_index:
            num_words = len(self.word_index) + 1
        else:
            raise ValueError("Tokenizer: set `num_words` or fit the tokenizer on some texts first.")
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Tokenizer: fit the tokenizer on some data before using mode='tfidf'.")
        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not seq:
                continue
            counts = collections.Counter(j for j in seq if j < num_words)
            for j, c in counts.items():
                if mode == "count":
                    x[i, j] = c
                elif mode == "freq":
                    x[i, j] = c / len(seq)
                elif mode == "binary":
                    x[i, j] = 1
                else:
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i, j] = (1 + np.log(c)) * idf
        return x

    def get_config(self):
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower, "split": self.split,
                "char_level": self.char_level, "oov_token": self.oov_token, "document_count": self.document_count,
                "word_counts": json.dumps(self.word_counts), "word_docs": json.dumps(self.word_docs),
                "index_docs": json.dumps(self.index_docs), "index_word": json.dumps(self.index_word),
                "word_index": json.dumps(self.word_index)}

    def to_json(self, **kwargs):
        """A JSON string that `tokenizer_from_json` turns back into an equal tokenizer."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """The `Tokenizer` saved by ``Tokenizer.to_json``."""
    config = dict(json.loads(json_string).get("config"))
    word_counts = json.loads(config.pop("word_counts"), object_pairs_hook=collections.OrderedDict)
    word_docs = json.loads(config.pop("word_docs"))
    index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tokenizer = Tokenizer(**config)
    tokenizer.word_counts = word_counts
    tokenizer.word_docs = collections.defaultdict(int, word_docs)
    tokenizer.index_docs = collections.defaultdict(int, index_docs)
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
