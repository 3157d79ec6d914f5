"""Text classification with a transformer, as in the keras-io example "Text classification with Transformer":
a token-and-position embedding (a small custom layer) and one transformer block over padded token sequences.

    KSHIM_BACKEND=torch python examples/transformer_text_classification.py

The text is generated: each "review" is a sequence of random filler words from a 200-word vocabulary, with one
sentiment word (positive or negative, 10 of each) placed at a random position, then zero padding. Whether the
review is positive depends only on that word, wherever it is, so the model must attend to it: bag-of-position
models cannot. 
"""

import numpy as np

import kshim as keras
from kshim import layers, ops

VOCAB, MAXLEN, EMBED, HEADS, FF = 200, 24, 32, 2, 32
POSITIVE, NEGATIVE = range(2, 12), range(12, 22)


def make_reviews(n, seed):
    rng = np.random.default_rng(seed)
    x = np.zeros((n, MAXLEN), dtype="int32")
    y = rng.integers(0, 2, n).astype("int32")
    for i in range(n):
        length = rng.integers(8, MAXLEN + 1)
        x[i, :length] = rng.integers(22, VOCAB, length)
        words = POSITIVE if y[i] else NEGATIVE
        x[i, rng.integers(0, length)] = rng.choice(list(words))
    return x, y


@keras.saving.register_keras_serializable(package="examples")
class TokenAndPositionEmbedding(layers.Layer):
    """Token embedding plus a learned embedding of each position."""

    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.maxlen, self.vocab_size, self.embed_dim = maxlen, vocab_size, embed_dim
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = self.pos_emb(ops.arange(0, ops.shape(x)[-1]))
        return self.token_emb(x) + positions

    def get_config(self):
        return {**super().get_config(), "maxlen": self.maxlen, "vocab_size": self.vocab_size,
                "embed_dim": self.embed_dim}


@keras.saving.register_keras_serializable(package="examples")
class TransformerBlock(layers.Layer):
    """Self-attention and a feed-forward network, each with a residual connection and layer normalization."""

    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.num_heads, self.ff_dim, self.rate = embed_dim, num_heads, ff_dim, rate
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs, training=False):
        attn_output = self.dropout1(self.att(inputs, inputs), training=training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.dropout2(self.ffn(out1), training=training)
        return self.layernorm2(out1 + ffn_output)

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "ff_dim": self.ff_dim, "rate": self.rate}


def build_model():
    inputs = keras.Input(shape=(MAXLEN,), dtype="int32")
    x = TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED)(inputs)
    x = TransformerBlock(EMBED, HEADS, FF)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def main(epochs=4):
    keras.utils.set_random_seed(0)
    x_train, y_train = make_reviews(800, seed=1)
    x_val, y_val = make_reviews(200, seed=2)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_val, y_val), verbose=0)
    print(f"[{keras.config.backend()}] train accuracy {history.history['accuracy'][-1]:.3f}, "
          f"validation accuracy {history.history['val_accuracy'][-1]:.3f}")
    return history.history


if __name__ == "__main__":
    main()
