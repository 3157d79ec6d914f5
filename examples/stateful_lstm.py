"""A stateful LSTM (the Keras 2 guide's example): a fixed `batch_input_shape`, state carried from one batch to
the next, and `reset_states()` between epochs.

The model reads a long sine wave in chunks of 10 steps and predicts the next value. Because the state carries
over, batch i+1 continues where batch i stopped; the same batch position must hold consecutive chunks.

    KSHIM_BACKEND=torch python examples/stateful_lstm.py
"""

import warnings

import numpy as np

import kshim as keras
from kshim import layers


def main(epochs=8):
    warnings.simplefilter("ignore", DeprecationWarning)  # batch_input_shape is the Keras 2 spelling
    keras.utils.set_random_seed(0)
    batch_size, timesteps, chunks = 8, 10, 40
    t = np.arange(batch_size * (chunks * timesteps + 1), dtype="float32")
    streams = np.sin(0.07 * t).reshape(batch_size, -1)  # one long wave per batch position
    x = np.stack([streams[:, c * timesteps:(c + 1) * timesteps] for c in range(chunks)], axis=1)[..., None]
    y = np.stack([streams[:, (c + 1) * timesteps] for c in range(chunks)], axis=1)[..., None]
    # batch c holds chunk c of every stream: rows are ordered chunk-major for fit(shuffle=False)
    x = x.transpose(1, 0, 2, 3).reshape(-1, timesteps, 1)
    y = y.transpose(1, 0, 2).reshape(-1, 1)

    model = keras.Sequential()
    model.add(layers.LSTM(16, stateful=True, batch_input_shape=(batch_size, timesteps, 1)))
    model.add(layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
    for epoch in range(epochs):
        history = model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        model.reset_states()
    mse = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    print(f"[{keras.config.backend()}] stateful LSTM: final train loss {history.history['loss'][-1]:.5f}, "
          f"evaluate mse {mse:.5f} (predicting 0 gives {float(np.mean(y ** 2)):.5f})")
    return mse


if __name__ == "__main__":
    main()
