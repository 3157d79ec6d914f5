"""Throughput of a user-written ``train_step`` against the built-in step, on the tiny MLP (issue 15).

    KSHIM_BACKEND=jax python -m benchmarks.custom_step [--samples 8192] [--repeat 3]

Three models from the same seed, fit in interleaved timed rounds: the built-in step; a subclass whose ``train_step``
only calls ``super().train_step`` (the default implementation of the backend's contract, run by the loop as a
user's step); and a hand-written step in the backend's contract (jax: stateless, ``stateless_call``,
``ops.value_and_grad``, ``stateless_apply``; torch: stateful, ``loss.backward()``, ``optimizer.apply``).
"""

import argparse
import time

import kshim as keras
from benchmarks import models
from kshim import ops



class Delegating(keras.Model):
    def train_step(self, *args):
        return super().train_step(*args)


class HandWritten(keras.Model):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def _stateless_loss(self, trainable, non_trainable, x, y):
        y_pred, non_trainable = self.stateless_call(trainable, non_trainable, x, training=True)
        return self.loss_fn(y, y_pred), non_trainable

    def train_step(self, *args):
        tracker = self.metrics[0]
        if ops.stateless_steps():
            (trainable, non_trainable, optimizer_values, metric_values), (x, y) = args
            (loss, non_trainable), grads = ops.value_and_grad(self._stateless_loss, has_aux=True)(
                trainable, non_trainable, x, y)
            trainable, optimizer_values = self.optimizer.stateless_apply(optimizer_values, grads, trainable)
            metric_values = tracker.stateless_update_state(metric_values, loss)
            return {"loss": tracker.stateless_result(metric_values)}, (
                trainable, non_trainable, optimizer_values, metric_values)
        (x, y), = args
        self.zero_grad()
        loss = self.loss_fn(y, self(x, training=True))
        loss.backward()
        weights = self.trainable_weights
        self.optimizer.apply([v.value.grad for v in weights], weights)
        tracker.update_state(loss)
        return {"loss": tracker.result()}


def _model(cls):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((20,))
    h = keras.layers.Dense(32, activation="relu")(inputs)
    model = cls(inputs, keras.layers.Dense(2)(h))
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    x, y = models.data("tiny_mlp", args.samples)
    runs = {"built-in": _model(keras.Model), "super().train_step": _model(Delegating),
            "hand-written": _model(HandWritten)}
    for m in runs.values():
        m.fit(x[:256], y[:256], batch_size=32, epochs=1, verbose=0)  # compile / record outside the timing
    times = {k: [] for k in runs}
    for _ in range(args.repeat):
        for name, m in runs.items():
            t = time.perf_counter()
            m.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
            times[name].append(time.perf_counter() - t)
    base = args.samples / min(times["built-in"])
    print(f"backend {keras.config.backend()}: tiny_mlp, batch 32, {args.samples} samples, best of {args.repeat}")
    for name, ts in times.items():
        sps = args.samples / min(ts)
        print(f"  {name:22s} {sps:12.0f} samples/s   {sps / base:5.2f}x built-in")


if __name__ == "__main__":
    main()
