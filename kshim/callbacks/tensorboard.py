"""`TensorBoard`: write TensorBoard event files (scalars, weight histograms and images, the model's config).

The files are written with the ``tensorboard`` package's own event writer and protocol buffers (no TensorFlow
needed): ``pip install tensorboard`` (or kshim's ``tensorboard`` extra). The layout is Keras 3's:
``<log_dir>/train`` holds ``epoch_<name>`` scalars per epoch (with ``epoch_learning_rate``), ``batch_<name>``
scalars every ``update_freq`` batches, weight histograms and the model's config; ``<log_dir>/validation`` holds
the ``val_`` logs as ``epoch_<name>`` and ``evaluation_<name>_vs_iterations``.
"""

import json
import os
import struct
import time
import warnings
import zlib

import numpy as np

from kshim import config, ops
from kshim.callbacks.callback import Callback


def _require_tensorboard():
    try:  # tensorboard is an optional dependency (the `tensorboard` extra), imported when a writer is made
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter  # (optional, as above)
    except ImportError as e:
        raise ImportError("The TensorBoard callback needs the `tensorboard` package to write event files: "
                          "`pip install tensorboard` (or `pip install kshim[tensorboard]`). "
                          f"Import failed with: {e}") from e
    return {"event_pb2": event_pb2, "summary_pb2": summary_pb2, "tensor_pb2": tensor_pb2,
            "tensor_shape_pb2": tensor_shape_pb2, "types_pb2": types_pb2, "EventFileWriter": EventFileWriter}


def _png(image):
    """A grayscale uint8 image (h, w) as PNG bytes."""
    h, w = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _scalar(value):
    if value is None or isinstance(value, str):
        return None
    arr = np.asarray(ops.convert_to_numpy(value) if ops.is_tensor(value) else value)
    if arr.ndim != 0 or not np.issubdtype(arr.dtype, np.number):
        return None
    return float(arr)


class TensorBoard(Callback):
    """Log training to TensorBoard, as Keras 3's callback does.

    Args:
        log_dir: the folder for the event files. Default "logs".
        histogram_freq: write weight histograms every this many epochs (0: never).
        write_graph: write the model's config (TensorBoard's "Keras" graph view). Default True.
        write_images: write the weights as images (with ``histogram_freq``).
        write_steps_per_second: log training steps per second (per epoch, and per batch with ``update_freq``).
        update_freq: "epoch", "batch" (= 1) or an integer: also write ``batch_<name>`` scalars every this many
            batches.
        profile_batch: profiling is not supported by kshim; a non-zero value warns and is ignored.
        embeddings_freq: every this many epochs, save the weights for TensorBoard's projector (Embedding layers).
        embeddings_metadata: a file name, or a dict of Embedding layer name -> metadata file name.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        self._tb = _require_tensorboard()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        if self.update_freq != "epoch" and (isinstance(self.update_freq, bool)
                                            or not isinstance(self.update_freq, int) or self.update_freq < 1):
            raise ValueError("TensorBoard: `update_freq` must be 'epoch', 'batch' or a positive integer. "
                             f"Received: update_freq={update_freq!r}")
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._check_profile_batch(profile_batch)
        self._global_train_batch = 0
        self._global_test_batch = 0
        self._previous_epoch_iterations = 0
        self._epoch_start_time = 0.0
        self._batch_start_time = 0.0
        self._writers = {}

    # -- writers -------------------------------------------------------------------------------------------------
    def set_model(self, model):
        super().set_model(model)
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._close_writers()
        if self.write_graph:
            self._write_keras_model_summary()
        if self.embeddings_freq:
            self._configure_embeddings()

    def _writer(self, which):
        writer = self._writers.get(which)
        if writer is None:
            folder = self._train_dir if which == "train" else self._val_dir
            writer = self._writers[which] = self._tb["EventFileWriter"](folder)
        return writer

    def _add(self, which, step, values):
        if not values:
            return
        tb = self._tb
        summary = tb["summary_pb2"].Summary(value=values)
        event = tb["event_pb2"].Event(wall_time=time.time(), step=int(step), summary=summary)
        self._writer(which).add_event(event)

    def _scalars(self, which, step, named_values, prefix="", suffix=""):
        Value = self._tb["summary_pb2"].Summary.Value
        values = []
        for name, value in named_values.items():
            v = _scalar(value)
            if v is not None:
                values.append(Value(tag=f"{prefix}{name}{suffix}", simple_value=v))
        self._add(which, step, values)

    def _flush(self):
        for writer in self._writers.values():
            writer.flush()

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # -- hooks ---------------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0

    def on_train_end(self, logs=None):
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._previous_epoch_iterations = self._iterations()
            self._epoch_start_time = time.time()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq != 0:
            return
        step = self._global_train_batch
        values = dict(logs or {})
        if self.write_steps_per_second:
            values["steps_per_second"] = 1.0 / max(time.time() - self._batch_start_time, 1e-9)
        self._scalars("train", step, values, prefix="batch_")

    def on_test_batch_begin(self, batch, logs=None):
        self._global_test_batch += 1

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations") and logs:
            self._scalars("val", self._iterations(), logs, prefix="evaluation_", suffix="_vs_iterations")
            self._flush()

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)
        self._flush()

    # -- what is written -----------------------------------------------------------------------------------------
    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return 0
        return int(np.asarray(ops.convert_to_numpy(optimizer.iterations)))

    def _learning_rates(self):
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if optimizer is None:
            return {}
        inner = getattr(optimizer, "optimizers", None)
        try:
            if inner:
                return {f"learning_rate_{opt.name}": float(np.asarray(ops.convert_to_numpy(opt.learning_rate)))
                        for opt in inner}
            return {"learning_rate": float(np.asarray(ops.convert_to_numpy(optimizer.learning_rate)))}
        except (AttributeError, TypeError, ValueError):
            return {}

    def _log_epoch_metrics(self, epoch, logs):
        if not logs:
            return
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        train_logs.update(self._learning_rates())
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._epoch_start_time, 1e-9)
            train_logs["steps_per_second"] = (self._iterations() - self._previous_epoch_iterations) / elapsed
        self._scalars("train", epoch, train_logs, prefix="epoch_")
        self._scalars("val", epoch, val_logs, prefix="epoch_")

    def _histogram(self, values):
        values = np.asarray(values, dtype=np.float64).ravel()
        HistogramProto = self._tb["summary_pb2"].HistogramProto
        if values.size == 0:
            return HistogramProto()
        lo, hi = float(values.min()), float(values.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        counts, edges = np.histogram(values, bins=30, range=(lo, hi))
        return HistogramProto(min=float(values.min()), max=float(values.max()), num=float(values.size),
                              sum=float(values.sum()), sum_squares=float(np.square(values).sum()),
                              bucket_limit=[float(e) for e in edges[1:]], bucket=[float(c) for c in counts])

    def _log_weights(self, epoch):
        Value = self._tb["summary_pb2"].Summary.Value
        values = []
        for layer in self.model.layers:
            for weight in layer.weights:
                name = str(getattr(weight, "path", weight.name)).replace(":", "_")
                array = weight.numpy()
                values.append(Value(tag=f"{name}/histogram", histo=self._histogram(array)))
                if self.write_images:
                    values.extend(self._weight_images(array, f"{name}/image"))
        self._add("train", epoch, values)

    def _weight_images(self, w, tag):
        """Keras's weight-to-image layouts: a vector is a 1-pixel-high row, a matrix is shown wide, a 3-D kernel is
        one image per channel. Values are scaled to 0..255 per image."""
        w = np.squeeze(w)
        if w.ndim == 1:
            images = [w[None, :]]
        elif w.ndim == 2:
            images = [w.T if w.shape[0] > w.shape[1] else w]
        elif w.ndim == 3:
            w = np.transpose(w, (2, 0, 1)) if config.image_data_format() == "channels_last" else w
            images = list(w)
        else:
            return []
        Image = self._tb["summary_pb2"].Summary.Image
        Value = self._tb["summary_pb2"].Summary.Value
        out = []
        for i, img in enumerate(images):
            img = np.asarray(img, np.float64)
            span = img.max() - img.min()
            scaled = np.zeros(img.shape) if span == 0 else (img - img.min()) / span
            pixels = np.round(scaled * 255).astype(np.uint8)
            encoded = _png(np.ascontiguousarray(pixels))
            name = tag if len(images) == 1 else f"{tag}/{i}"
            out.append(Value(tag=name, image=Image(height=pixels.shape[0], width=pixels.shape[1], colorspace=1,
                                                   encoded_image_string=encoded)))
        return out

    def _write_keras_model_summary(self):
        """The model's JSON config under the ``graph_keras_model`` plugin, as Keras writes it."""
        try:
            text = self.model.to_json()
        except Exception as e:  # noqa: BLE001 (as Keras: a model that cannot serialize is skipped)
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {e}")
            return
        tb = self._tb
        meta = tb["summary_pb2"].SummaryMetadata(
            plugin_data=tb["summary_pb2"].SummaryMetadata.PluginData(plugin_name="graph_keras_model", content=b"1"))
        tensor = tb["tensor_pb2"].TensorProto(dtype=tb["types_pb2"].DT_STRING,
                                              tensor_shape=tb["tensor_shape_pb2"].TensorShapeProto(),
                                              string_val=[text.encode("utf-8")])
        self._add("train", 0, [tb["summary_pb2"].Summary.Value(tag="keras", metadata=meta, tensor=tensor)])
        self._flush()

    def _embedding_layers(self):
        return [layer for layer in self.model.layers if type(layer).__name__ == "Embedding"]

    def _configure_embeddings(self):
        """Write ``projector_config.pbtxt`` naming each Embedding layer's weights (and metadata file)."""
        metadata = self.embeddings_metadata
        remaining = dict(metadata) if isinstance(metadata, dict) else None
        lines = []
        for layer in self._embedding_layers():
            lines.append("embeddings {")
            lines.append('  tensor_name: "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"')
            path = metadata if isinstance(metadata, str) else (remaining or {}).pop(layer.name, None)
            if path is not None:
                lines.append(f"  metadata_path: {json.dumps(str(path))}")
            lines.append("}")
        if remaining:
            raise ValueError("Unrecognized `Embedding` layer names passed to `keras.callbacks.TensorBoard` "
                             f"`embeddings_metadata` argument: {remaining.keys()}")
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w") as f:
            f.write("\n".join(lines) + ("\n" if lines else ""))

    def _log_embeddings(self, epoch):
        os.makedirs(self._train_dir, exist_ok=True)
        self.model.save_weights(os.path.join(self._train_dir, f"keras_embedding.ckpt-{epoch}.weights.h5"))

    @staticmethod
    def _check_profile_batch(profile_batch):
        message = ("profile_batch must be a non-negative integer or 2-tuple of positive integers. A pair of "
                   f"positive integers signifies a range of batches to profile. Found: {profile_batch}")
        if isinstance(profile_batch, str):
            try:
                profile_batch = [int(p) for p in profile_batch.split(",")]
            except ValueError:
                raise ValueError(message) from None
            if len(profile_batch) == 1:
                profile_batch = profile_batch[0]
        if isinstance(profile_batch, int) and not isinstance(profile_batch, bool):
            start = stop = profile_batch
        elif isinstance(profile_batch, (tuple, list)) and len(profile_batch) == 2:
            start, stop = profile_batch
        else:
            raise ValueError(message)
        if start < 0 or stop < start:
            raise ValueError(message)
        if start or stop:
            warnings.warn("TensorBoard: profiling (profile_batch) is not supported by kshim; it is ignored.",
                          stacklevel=3)
