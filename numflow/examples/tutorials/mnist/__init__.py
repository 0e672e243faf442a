"""TF 1.x's MNIST tutorial helpers (``tensorflow.examples.tutorials.mnist``)."""
from numflow.examples.tutorials.mnist import input_data  # noqa: F401
