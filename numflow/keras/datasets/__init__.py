"""Small datasets with loaders (``tf.keras.datasets``)."""
from numflow.keras.datasets import fashion_mnist, mnist  # noqa: F401
