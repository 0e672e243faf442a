"""A tiny stand-in model and training loop that drive callbacks the way Keras 3's ``fit``
does, so the callbacks can be tested without the engine."""
import numpy as np

import numflow as tf
from numflow.keras import callbacks as callbacks_module
from numflow.keras import optimizers


class FakeModel:
    """Linear least squares ``w`` fitted by an optimizer; exposes the Model API the
    callbacks use (weights, optimizer, save/save_weights, stop_training, metrics)."""

    def __init__(self, seed=0, optimizer=None):
        rng = np.random.default_rng(seed)
        self.w = tf.Variable(rng.normal(0, 1, (3,)).astype(np.float32), name="w")
        self.b = tf.Variable(np.zeros((1,), np.float32), name="b")
        self.optimizer = optimizer or optimizers.Adam(0.1)
        self.stop_training = False
        self.built = True
        self.metrics = []
        self.saved = []
        self._initial_epoch = None
        data = np.random.default_rng(42)
        self.x = data.normal(0, 1, (16, 3)).astype(np.float32)
        self.y = (self.x @ np.array([1.0, -2.0, 0.5], np.float32) + 0.3).astype(np.float32)

    @property
    def trainable_variables(self):
        return [self.w, self.b]

    def get_weights(self):
        return [np.array(v.numpy(), copy=True) for v in self.trainable_variables]

    def set_weights(self, weights):
        for v, w in zip(self.trainable_variables, weights):
            v.assign(np.asarray(w, np.float32))

    def save_weights(self, filepath, overwrite=True):
        np.savez(open(filepath, "wb"), *self.get_weights())
        self.saved.append(("weights", filepath))

    def save(self, filepath, overwrite=True):
        with open(filepath, "w") as f:
            f.write("model")
        self.saved.append(("model", filepath))

    def train_step(self, batch):
        x, y = self.x[batch::4], self.y[batch::4]
        with tf.GradientTape() as tape:
            pred = tf.reduce_sum(self.w * x, axis=1) + self.b
            loss = tf.reduce_mean(tf.math.square(pred - y))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return loss


def fake_fit(model, callbacks=None, epochs=3, steps=4, verbose=0, initial_epoch=0,
             val_losses=None, extra_logs=None):
    """Runs ``epochs`` epochs of ``steps`` batches, calling every hook as Keras's ``fit``.
    ``val_losses`` (one per epoch) and ``extra_logs(epoch) -> dict`` feed the epoch logs."""
    cbks = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                         model=model, verbose=verbose, epochs=epochs,
                                         steps=steps)
    model.stop_training = False
    cbks.on_train_begin()
    initial_epoch = model._initial_epoch or initial_epoch
    logs = {}
    for epoch in range(initial_epoch, epochs):
        cbks.on_epoch_begin(epoch)
        total = 0.0
        for step in range(steps):
            cbks.on_train_batch_begin(step)
            loss = model.train_step(step)
            total += float(loss.numpy())
            cbks.on_train_batch_end(step, {"loss": tf.constant(total / (step + 1))})
            if model.stop_training:
                break
        logs = {"loss": total / steps}
        if val_losses is not None:
            logs["val_loss"] = val_losses[epoch]
        if extra_logs is not None:
            logs.update(extra_logs(epoch))
        cbks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbks.on_train_end(logs)
    model._initial_epoch = None
    return model.history
