"""TensorBoard: the event files read back with tensorboard's own reader hold every epoch's scalars (train and
validation), the batch scalars every ``update_freq`` batches, the weight histograms and images, and the model's
config. Skipped when the optional ``tensorboard`` package is not installed."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402

import kshim  # noqa: E402
from kshim import callbacks, layers  # noqa: E402

X = np.random.default_rng(4).normal(size=(32, 3)).astype("float32")
Y = (X @ np.array([[1.0], [2.0], [-1.0]], "float32")).astype("float32")


def _model():
    kshim.utils.set_random_seed(2)
    model = kshim.Sequential([kshim.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(1)])
    model.compile(kshim.optimizers.SGD(0.02), "mse", metrics=["mae"])
    return model


def _load(folder):
    acc = event_accumulator.EventAccumulator(folder, size_guidance=event_accumulator.STORE_EVERYTHING_SIZE_GUIDANCE)
    acc.Reload()
    return acc


def _scalars(acc, tag):
    events = acc.Scalars(tag)
    return [e.step for e in events], np.array([e.value for e in events])


class Snap(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def test_epoch_scalars_histograms_images_and_graph(tmp_path):
    model = _model()
    snap = Snap()
    tb = callbacks.TensorBoard(str(tmp_path / "logs"), histogram_freq=1, write_images=True)
    history = model.fit(X, Y, epochs=3, batch_size=8, validation_split=0.25, verbose=0, callbacks=[snap, tb])
    train = _load(str(tmp_path / "logs" / "train"))
    val = _load(str(tmp_path / "logs" / "validation"))
    for name in ("loss", "mae"):
        steps, values = _scalars(train, f"epoch_{name}")
        assert steps == [0, 1, 2]
        np.testing.assert_allclose(values, history.history[name], rtol=1e-6)  # stored as float32
        steps, values = _scalars(val, f"epoch_{name}")
        assert steps == [0, 1, 2]
        np.testing.assert_allclose(values, history.history[f"val_{name}"], rtol=1e-6)
    steps, lr = _scalars(train, "epoch_learning_rate")
    assert steps == [0, 1, 2] and np.allclose(lr, 0.02)
    # evaluation_<name>_vs_iterations, at the optimizer's step count (3 steps per epoch).
    steps, values = _scalars(val, "evaluation_loss_vs_iterations")
    assert steps == [3, 6, 9]
    np.testing.assert_allclose(values, history.history["val_loss"], rtol=1e-6)
    assert not [t for t in train.Tags()["scalars"] if t.startswith("batch_")]

    # One histogram per weight per epoch, summarising that epoch's values.
    paths = [w.path for w in model.weights]
    assert sorted(train.Tags()["histograms"]) == sorted(f"{p}/histogram" for p in paths)
    for i, path in enumerate(paths):
        events = train.Histograms(f"{path}/histogram")
        assert [e.step for e in events] == [0, 1, 2]
        for epoch, event in enumerate(events):
            w = snap.weights[epoch][i].astype(np.float64)
            h = event.histogram_value
            assert h.num == w.size and sum(h.bucket) == w.size
            np.testing.assert_allclose([h.min, h.max, h.sum, h.sum_squares],
                                       [w.min(), w.max(), w.sum(), (w ** 2).sum()], rtol=1e-6, atol=1e-12)
    images = train.Tags()["images"]
    kernel, bias = paths[0], paths[1]  # the first Dense: kernel (3, 4), bias (4,); the last bias (1,) has no image
    assert sorted(images) == sorted([f"{kernel}/image", f"{bias}/image", f"{paths[2]}/image"])
    img = train.Images(f"{kernel}/image")[0]
    assert (img.height, img.width) == (3, 4) and img.encoded_image_string.startswith(b"\x89PNG")

    # The model's config, as Keras writes it for TensorBoard's graph view.
    tensors = train.Tensors("keras")
    config = json.loads(tensors[0].tensor_proto.string_val[0])
    assert config["class_name"] == "Sequential"


def test_batch_scalars_every_update_freq(tmp_path):
    model = _model()
    losses = []

    class BatchLoss(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            losses.append(logs["loss"])

    tb = callbacks.TensorBoard(str(tmp_path), update_freq=3, write_graph=False, write_steps_per_second=True)
    model.fit(X, Y, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[BatchLoss(), tb])
    train = _load(str(tmp_path / "train"))
    steps, values = _scalars(train, "batch_loss")
    # 4 batches per epoch, 8 in all, counted from 1 across epochs: written at 3 and 6.
    assert steps == [3, 6]
    np.testing.assert_allclose(values, [losses[2], losses[5]], rtol=1e-6)
    assert _scalars(train, "batch_mae")[0] == [3, 6]
    steps, sps = _scalars(train, "epoch_steps_per_second")
    assert steps == [0, 1] and np.all(sps > 0)
    assert _scalars(train, "batch_steps_per_second")[0] == [3, 6]
    assert "keras" not in train.Tags()["tensors"]

    # update_freq="batch" writes every batch.
    other = tmp_path / "every"
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0,
              callbacks=[callbacks.TensorBoard(str(other), update_freq="batch")])
    assert _scalars(_load(str(other / "train")), "batch_loss")[0] == [1, 2, 3, 4]


def test_arguments_and_embeddings(tmp_path):
    with pytest.raises(ValueError, match="update_freq"):
        callbacks.TensorBoard(str(tmp_path), update_freq=0)
    with pytest.raises(ValueError, match="profile_batch"):
        callbacks.TensorBoard(str(tmp_path), profile_batch=-1)
    with pytest.warns(UserWarning, match="profiling"):
        callbacks.TensorBoard(str(tmp_path), profile_batch=(2, 4))
    model = kshim.Sequential([kshim.Input((5,), dtype="int32"), layers.Embedding(10, 2, name="emb"),
                              layers.Flatten(), layers.Dense(1)])
    model.compile("sgd", "mse")
    tb = callbacks.TensorBoard(str(tmp_path / "e"), embeddings_freq=1, embeddings_metadata={"emb": "words.tsv"},
                               write_graph=False)
    xi = np.random.default_rng(0).integers(0, 10, size=(8, 5)).astype("int32")
    model.fit(xi, np.zeros((8, 1), "float32"), epochs=2, verbose=0, callbacks=[tb])
    config = (tmp_path / "e" / "projector_config.pbtxt").read_text()
    assert 'metadata_path: "words.tsv"' in config and "embeddings {" in config
    saved = sorted(f for f in os.listdir(tmp_path / "e" / "train") if f.endswith(".weights.h5"))
    assert saved == ["keras_embedding.ckpt-0.weights.h5", "keras_embedding.ckpt-1.weights.h5"]
