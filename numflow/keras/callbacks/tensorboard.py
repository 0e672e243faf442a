"""The TensorBoard callback (``tf.keras.callbacks.TensorBoard``): writes training and
validation metrics, weight histograms and images, and the model's config as TensorBoard
event files under ``log_dir/train`` and ``log_dir/validation``."""
import os
import time
import warnings

import numpy as np

from numflow.keras.callbacks.base import Callback


def _summary():
    from numflow.summary import writer
    return writer


def _scalar_value(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf" or arr.size != 1:
        return None
    return float(arr.reshape(()))


class TensorBoard(Callback):
    """Enables visualizations for TensorBoard (``tf.keras.callbacks.TensorBoard``).

    Args:
      log_dir: where to write the logs; ``train`` and ``validation`` subdirectories hold
        the event files.
      histogram_freq: every how many epochs to write histograms of the layers' weights
        (0: never).
      write_graph: write the model's (Keras) graph, shown by TensorBoard's graph dashboard.
      write_images: also write each weight as an image (with ``histogram_freq``).
      write_steps_per_second: log the training steps per second with the epoch metrics.
      update_freq: ``'epoch'``, ``'batch'``, or an integer N: write the training metrics
        every N batches (as ``batch_<metric>``) in addition to every epoch
        (``epoch_<metric>``).
      profile_batch: profiling is not available in numflow; a non-zero value warns.
      embeddings_freq: every how many epochs to save the ``Embedding`` layers' weights for
        TensorBoard's projector (0: never).
      embeddings_metadata: a dict mapping Embedding layer names to metadata file names
        (or one file name for all).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None, **kwargs):
        super().__init__()
        unknown = set(kwargs) - {"write_grads", "batch_size", "embeddings_layer_names",
                                 "embeddings_data"}
        if unknown:
            raise ValueError(f"Unrecognized arguments in `TensorBoard` Callback: {unknown}")
        if kwargs.get("write_grads"):
            warnings.warn("`write_grads` will be ignored in TensorFlow 2.0 for the "
                          "`TensorBoard` Callback.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = int(histogram_freq or 0)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        if self.update_freq != "epoch" and not (isinstance(self.update_freq, int)
                                                 and self.update_freq > 0):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or a positive integer, "
                             f"got {update_freq!r}.")
        if profile_batch:
            warnings.warn("TensorBoard(profile_batch=...): numflow has no profiler; no "
                          "profile is written.")
        self.embeddings_freq = int(embeddings_freq or 0)
        self.embeddings_metadata = embeddings_metadata
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._graph_written = False
        self._epoch = 0
        self._global_train_batch = 0
        self._epoch_start = None
        self._batches_in_epoch = 0

    # ---- writers --------------------------------------------------------------------------
    def _writer(self, which):
        w = self._writers.get(which)
        if w is None:
            directory = self._train_dir if which == "train" else self._val_dir
            w = self._writers[which] = _summary().create_file_writer(directory)
        return w

    def _close_writers(self):
        for w in self._writers.values():
            w.close()
        self._writers = {}


    def _current_step(self):
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        if iterations is not None:
            try:
                return int(np.asarray(iterations.numpy() if hasattr(iterations, "numpy")
                                      else iterations))
            except (TypeError, ValueError):
                pass
        return self._global_train_batch

    def _write_keras_model_graph(self):
        """Writes the model's JSON config as TensorBoard's conceptual ("keras") graph."""
        try:
            config = self.model.to_json()
        except (NotImplementedError, TypeError, ValueError, AttributeError):
            return  # subclassed models without get_config have no conceptual graph
        from numflow.io import proto
        from numflow.io import summary as summary_pb
        metadata = proto.message_field(9, proto.message_field(
            1, proto.bytes_field(1, "graph_keras_model") + proto.bytes_field(2, b"1")))
        value = (proto.bytes_field(1, "keras")
                 + proto.message_field(8, summary_pb.tensor_proto(
                     np.array(config.encode("utf-8"), dtype=object)))
                 + metadata)
        self._writer("train").write_value(value, 0)
        self._writer("train").flush()

    def _configure_embeddings(self):
        layers = [l for l in self.model._flatten_layers() if type(l).__name__ == "Embedding"]
        if not layers:
            return
        lines = []
        meta = self.embeddings_metadata
        for layer in layers:
            variable = layer.embeddings if hasattr(layer, "embeddings") else layer.weights[0]
            key = self._embedding_key(variable)
            lines.append("embeddings {")
            lines.append(f'  tensor_name: "{key}"')
            path = meta.get(layer.name) if isinstance(meta, dict) else meta
            if path:
                lines.append(f'  metadata_path: "{path}"')
            lines.append("}")
        from numflow.io.atomic import atomic_write_bytes
        os.makedirs(self.log_dir, exist_ok=True)
        atomic_write_bytes(os.path.join(self.log_dir, "projector_config.pbtxt"),
                           ("\n".join(lines) + "\n").encode("utf-8"))

    def _embedding_key(self, variable):
        from numflow.keras.saving import tf_format
        order = tf_format._assign_keys(tf_format.model_graph(self.model, False))
        for node in order:
            if node.variable is variable:
                return node.key
        return variable.name.split(":")[0]

    # ---- hooks --------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        """Opens the training writer; writes the model graph and the projector config."""
        self._writer("train")
        if self.write_graph and not self._graph_written:
            self._graph_written = True
            self._write_keras_model_graph()
        if self.embeddings_freq:
            self._configure_embeddings()

    def on_train_end(self, logs=None):
        """Flushes and closes the writers."""
        self._close_writers()

    def on_test_end(self, logs=None):
        """Writes ``evaluation_<metric>_vs_iterations`` to the validation writer."""
        if not logs or self.model is None or getattr(self.model, "optimizer", None) is None:
            return
        step = self._current_step()
        w = self._writer("validation")
        with w.as_default(step=step):
            for name, value in logs.items():
                value = _scalar_value(value)
                if value is not None:
                    _summary().scalar(f"evaluation_{name}_vs_iterations", value, step=step)

    def on_epoch_begin(self, epoch, logs=None):
        """Notes the epoch and its start time."""
        self._epoch = epoch
        self._epoch_start = time.time()
        self._batches_in_epoch = 0

    def on_train_batch_end(self, batch, logs=None):
        """Writes ``batch_<metric>`` every ``update_freq`` batches."""
        self._global_train_batch += 1
        self._batches_in_epoch += 1
        if self.update_freq == "epoch" or not logs:
            return
        if self._global_train_batch % self.update_freq:
            return
        step = self._current_step()
        w = self._writer("train")
        with w.as_default(step=step):
            for name, value in logs.items():
                value = _scalar_value(value)
                if value is not None:
                    _summary().scalar("batch_" + name, value, step=step)

    def on_epoch_end(self, epoch, logs=None):
        """Writes the epoch metrics (``epoch_<metric>``; ``val_`` ones to the validation
        writer), and the weight histograms / embeddings when due."""
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)

    def _log_epoch_metrics(self, epoch, logs):
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        lr = self._learning_rate()
        if lr is not None and "learning_rate" not in train and "lr" not in train:
            train["learning_rate"] = lr
        if self.write_steps_per_second and self._epoch_start is not None:
            elapsed = max(time.time() - self._epoch_start, 1e-9)
            train["steps_per_second"] = self._batches_in_epoch / elapsed
        for which, values in (("train", train), ("validation", val)):
            if not values:
                continue
            w = self._writer(which)
            with w.as_default(step=epoch):
                for name, value in values.items():
                    value = _scalar_value(value)
                    if value is not None:
                        _summary().scalar("epoch_" + name, value, step=epoch)

    def _learning_rate(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            return None
        try:
            return _scalar_value(optimizer.learning_rate)
        except (AttributeError, TypeError, ValueError):
            return None

    def _log_weights(self, epoch):
        w = self._writer("train")
        with w.as_default(step=epoch):
            for layer in self.model.layers:
                for weight in layer.weights:
                    name = weight.name.replace(":", "_")
                    values = np.asarray(weight.numpy())
                    if values.size and np.all(np.isfinite(values)):
                        _summary().histogram(name, values, step=epoch)
                    if self.write_images:
                        image = _weight_image(values)
                        if image is not None:
                            _summary().image(name, image, step=epoch)
        w.flush()

    def _log_embeddings(self, epoch):
        from numflow.keras.saving import tf_format
        prefix = os.path.join(self._train_dir, f"keras_embedding.ckpt-{epoch}")
        tf_format.save_weights(self.model, prefix)


def _weight_image(w):
    """A weight as a ``[1, h, w, 1]`` image scaled to [0, 1] (Keras's layout rules)."""
    shape = w.shape
    if len(shape) == 1:
        img = w.reshape(1, shape[0])
    elif len(shape) == 2:
        img = w.T if shape[0] > shape[1] else w
    elif len(shape) == 4:  # conv kernel [h, w, in, out]: one image per output channel
        img = w.reshape(shape[0] * shape[1] * shape[2], shape[3]).T
    else:
        return None
    img = img.astype(np.float64)
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    return img[np.newaxis, :, :, np.newaxis]

