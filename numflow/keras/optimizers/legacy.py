"""``tf.keras.optimizers.legacy``: the Keras 2 optimizer names (``legacy.Adam``,
``legacy.SGD``...). TensorFlow 2.21 raises ImportError for them; numflow maps them to the
Keras 3 optimizers, which also accept the Keras 2 arguments ``lr`` and ``decay``."""
from numflow.keras.optimizers.adam import Adam, Adamax, Nadam
from numflow.keras.optimizers.optimizer import Optimizer
from numflow.keras.optimizers.sgd import SGD, Adadelta, Adagrad, Ftrl, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
           "Ftrl"]
