"""Fashion-MNIST, Zalando's images of clothing (``tf.keras.datasets.fashion_mnist``).

The four gzip-compressed IDX files are fetched from Keras's URLs into
``$NUMFLOW_HOME/datasets/fashion-mnist`` and checked by SHA-256. No package registry
ships them in their original order, so offline the files must be put there by hand.
"""
import os

from numflow.keras.datasets import idx
from numflow.keras.utils import data_utils

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# SHA-256 of the gzip-compressed files Keras serves.
FILE_SHA256 = {
    "train-labels-idx1-ubyte.gz":
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz":
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz":
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz":
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
}


def load_data():
    """Loads Fashion-MNIST (``tf.keras.datasets.fashion_mnist.load_data``).

    60,000 training and 10,000 test 28x28 grayscale images in 10 classes:
    0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
    7 Sneaker, 8 Bag, 9 Ankle boot.

    Returns:
      ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28),
      (60000,), (10000, 28, 28) and (10000,).

    Raises:
      tf.errors.NotFoundError: if a file is neither cached nor reachable; the message
        says where to put it by hand.

    Example:
      >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
    """
    directory = data_utils.cache_directory(os.path.join("datasets", "fashion-mnist"))
    y_train, x_train, y_test, x_test = (
        idx.read_idx(data_utils.fetch_dataset_file(name, sha256, [ORIGIN + name], directory))
        for name, sha256 in FILE_SHA256.items())
    return (x_train, y_train), (x_test, y_test)
