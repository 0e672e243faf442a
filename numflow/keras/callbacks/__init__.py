"""Keras callbacks (``tf.keras.callbacks``): hooks called by ``fit``/``evaluate``/``predict``
at the start and end of training, epochs and batches."""
from numflow.keras.callbacks.base import (
    Callback, CallbackList, History, LambdaCallback, ProgbarLogger, TerminateOnNaN)
from numflow.keras.callbacks.checkpoint import BackupAndRestore, CSVLogger, ModelCheckpoint
from numflow.keras.callbacks.monitor import (
    EarlyStopping, LearningRateScheduler, ReduceLROnPlateau)
from numflow.keras.callbacks.tensorboard import TensorBoard

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "LambdaCallback",
           "TerminateOnNaN", "EarlyStopping", "ReduceLROnPlateau", "LearningRateScheduler",
           "ModelCheckpoint", "BackupAndRestore", "CSVLogger", "TensorBoard"]
