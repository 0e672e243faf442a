"""TF 1.x's MNIST tutorial reader (``tensorflow.examples.tutorials.mnist.input_data``).

``read_data_sets`` splits MNIST's 60,000 training images into 55,000 for training and
5,000 for validation, keeps the 10,000 test images, and wraps each part in a
``DataSet`` that hands out shuffled mini-batches with ``next_batch``. The files come
through the same loader as ``tf.keras.datasets.mnist``.
"""
import collections

import numpy as np

from numflow.framework import dtypes
from numflow.keras.datasets import mnist

DEFAULT_SOURCE_URL = mnist.IDX_SOURCE_URL

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])
Datasets.__doc__ = "The training, validation and test ``DataSet``s of ``read_data_sets``."

_FAKE_EXAMPLES = 10000
_IMAGE_PIXELS = 784


def dense_to_one_hot(labels_dense, num_classes):
    """Converts class indices to one-hot rows.

    Args:
      labels_dense: an integer array of shape (N,).
      num_classes: the number of classes.

    Returns:
      A float64 array of shape (N, num_classes), as TF 1.x returned it.

    Example:
      >>> dense_to_one_hot(np.array([2, 0]), 3)
      array([[0., 0., 1.],
             [1., 0., 0.]])
    """
    labels_dense = np.asarray(labels_dense).ravel()
    one_hot = np.zeros((labels_dense.shape[0], num_classes))
    one_hot[np.arange(labels_dense.shape[0]), labels_dense] = 1
    return one_hot


class DataSet:
    """Images and labels handed out in mini-batches (TF 1.x ``mnist.DataSet``).

    Args:
      images: uint8 array of shape [num, rows, cols, 1].
      labels: array of shape [num] (class indices) or [num, classes] (one-hot).
      fake_data: make a placeholder set of 10,000 examples whose batches are made up.
      one_hot: with ``fake_data``, make one-hot fake labels.
      dtype: ``uint8`` keeps pixels as 0-255; ``float32`` scales them to [0, 1].
      reshape: flatten each image to a row of rows*cols pixels.
      seed: seeds this set's shuffling; with a seed the batches are those TF 1.x
        gave for it. Without one, shuffling draws on NumPy's global random state.

    Raises:
      TypeError: if ``dtype`` is neither uint8 nor float32.
      ValueError: if images and labels differ in number, or ``reshape`` is asked of
        images whose shape is not [num, rows, cols, 1].
    """

    def __init__(self, images, labels, fake_data=False, one_hot=False,
                 dtype=dtypes.float32, reshape=True, seed=None):
        dtype = dtypes.as_dtype(dtype).base_dtype
        if dtype not in (dtypes.uint8, dtypes.float32):
            raise TypeError(f"Invalid image dtype {dtype!r}, expected uint8 or float32")
        self._random = np.random if seed is None else np.random.RandomState(seed)
        self.one_hot = one_hot
        self._fake_data = fake_data
        if fake_data:
            self._num_examples = _FAKE_EXAMPLES
        else:
            images, labels = np.asarray(images), np.asarray(labels)
            if images.shape[0] != labels.shape[0]:
                raise ValueError(f"images.shape: {images.shape} labels.shape: {labels.shape}")
            self._num_examples = images.shape[0]
            if reshape:
                if images.ndim != 4 or images.shape[3] != 1:
                    raise ValueError("reshape=True needs images of shape [num, rows, cols, 1], "
                                     f"got {images.shape}")
                images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
            if dtype == dtypes.float32:
                images = np.multiply(images.astype(np.float32), 1.0 / 255.0)
        self._images = images
        self._labels = labels
        self._epochs_completed = 0
        self._index_in_epoch = 0

    @property
    def images(self):
        """The images, in their current (shuffled) order."""
        return self._images

    @property
    def labels(self):
        """The labels, in the images' current order."""
        return self._labels

    @property
    def num_examples(self):
        """How many examples the set holds."""
        return self._num_examples

    @property
    def epochs_completed(self):
        """How many times ``next_batch`` has run through the whole set."""
        return self._epochs_completed

    def next_batch(self, batch_size, fake_data=False, shuffle=True):
        """Returns the next ``batch_size`` examples as ``(images, labels)``.

        With ``shuffle``, the set is shuffled before the first batch and whenever an
        epoch ends. A batch that crosses the end of an epoch is the rest of the old
        epoch followed by the start of the new one.

        Args:
          batch_size: the number of examples.
          fake_data: return made-up examples (all-ones images, label 0 or one-hot 0),
            as lists; a set made with ``fake_data`` always does.
          shuffle: shuffle at the start of each epoch.

        Returns:
          ``(images, labels)`` arrays with ``batch_size`` rows.
        """
        if fake_data or self._fake_data:
            fake_image = [1] * _IMAGE_PIXELS
            fake_label = [1] + [0] * 9 if self.one_hot else 0
            return [fake_image] * batch_size, [fake_label] * batch_size
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._shuffle()
        if start + batch_size <= self._num_examples:
            self._index_in_epoch = start + batch_size
            return (self._images[start:self._index_in_epoch],
                    self._labels[start:self._index_in_epoch])
        self._epochs_completed += 1
        rest_images = self._images[start:self._num_examples]
        rest_labels = self._labels[start:self._num_examples]
        if shuffle:
            self._shuffle()
        self._index_in_epoch = batch_size - rest_images.shape[0]
        end = self._index_in_epoch
        return (np.concatenate((rest_images, self._images[:end]), axis=0),
                np.concatenate((rest_labels, self._labels[:end]), axis=0))

    def _shuffle(self):
        order = np.arange(self._num_examples)
        self._random.shuffle(order)
        self._images = self._images[order]
        self._labels = self._labels[order]


def read_data_sets(train_dir, fake_data=False, one_hot=False, dtype=dtypes.float32,
                   reshape=True, validation_size=5000, seed=None,
                   source_url=DEFAULT_SOURCE_URL):
    """Reads MNIST into training, validation and test sets (TF 1.x ``read_data_sets``).

    The files are looked for in ``train_dir`` (TF's ``*-ubyte.gz`` files count), then
    in numflow's dataset cache, and fetched into ``train_dir`` if neither has them.

    Args:
      train_dir: the folder for the data files; falsy means the cache.
      fake_data: return three fake ``DataSet``s and read nothing.
      one_hot: labels as float64 one-hot rows of 10 instead of uint8 digits.
      dtype: ``float32`` (pixels scaled to [0, 1]) or ``uint8`` (pixels 0-255).
      reshape: images as rows of 784 pixels instead of [28, 28, 1].
      validation_size: how many of the first training examples form the validation set.
      seed: seeds the shuffling of each set.
      source_url: the URL prefix of the gzip-compressed IDX files.

    Returns:
      ``Datasets(train, validation, test)`` with 55,000, 5,000 and 10,000 examples by
      default.

    Raises:
      ValueError: if ``validation_size`` is not between 0 and 60,000.
      tf.errors.NotFoundError: if the data is nowhere to be found or fetched.

    Example:
      >>> mnist = read_data_sets("MNIST_data/", one_hot=True)  # doctest: +SKIP
      >>> batch_xs, batch_ys = mnist.train.next_batch(100)  # doctest: +SKIP
    """
    if fake_data:
        def fake():
            return DataSet([], [], fake_data=True, one_hot=one_hot, dtype=dtype, seed=seed)
        return Datasets(train=fake(), validation=fake(), test=fake())
    (train_images, train_labels), (test_images, test_labels) = mnist.load_arrays(
        train_dir or None, source_url=source_url)
    train_images, test_images = train_images[..., np.newaxis], test_images[..., np.newaxis]
    if one_hot:
        train_labels, test_labels = dense_to_one_hot(train_labels, 10), dense_to_one_hot(
            test_labels, 10)
    if not 0 <= validation_size <= len(train_images):
        raise ValueError(f"Validation size should be between 0 and {len(train_images)}. "
                         f"Received: {validation_size}.")
    options = dict(dtype=dtype, reshape=reshape, seed=seed)
    return Datasets(
        train=DataSet(train_images[validation_size:], train_labels[validation_size:], **options),
        validation=DataSet(train_images[:validation_size], train_labels[:validation_size],
                           **options),
        test=DataSet(test_images, test_labels, **options))
