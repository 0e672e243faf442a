"""Tests for numflow.examples.tutorials.mnist.input_data, on a small made-up MNIST."""
import gzip
import hashlib
import os

import numpy as np
import pytest

from numflow.examples.tutorials import mnist as tutorials_mnist
from numflow.examples.tutorials.mnist import input_data
from numflow.framework import dtypes
from numflow.keras.datasets import mnist

N_TRAIN, N_TEST = 30, 6


def idx_bytes(array):
    """The bytes of an IDX file holding a uint8 array."""
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def make_arrays():
    rng = np.random.RandomState(7)
    x_train = rng.randint(0, 256, (N_TRAIN, 28, 28)).astype(np.uint8)
    x_train[:, 0, 0] = np.arange(N_TRAIN)  # pixel (0, 0) tells the example's index
    x_test = rng.randint(0, 256, (N_TEST, 28, 28)).astype(np.uint8)
    return [x_train, rng.randint(0, 10, N_TRAIN).astype(np.uint8),
            x_test, rng.randint(0, 10, N_TEST).astype(np.uint8)]


ARRAYS = make_arrays()
FILES = {name: idx_bytes(a) for name, a in zip(mnist.IDX_SHA256, ARRAYS)}


@pytest.fixture
def train_dir(tmp_path, monkeypatch):
    """A folder holding the made-up MNIST as TF 1.x left it (gzip files)."""
    monkeypatch.setattr(mnist, "IDX_SHA256",
                        {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()})
    monkeypatch.setenv("NUMFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm"))
    monkeypatch.setattr(mnist, "NPZ_ORIGIN", (tmp_path / "offline.npz").as_uri())
    folder = tmp_path / "MNIST_data"
    folder.mkdir()
    for name, data in FILES.items():
        (folder / (name + ".gz")).write_bytes(gzip.compress(data))
    return str(folder)


def read(train_dir, **kwargs):
    kwargs.setdefault("validation_size", 5)
    return input_data.read_data_sets(train_dir, **kwargs)


def indices(images):
    """The example indices of a batch of flattened float32 images."""
    return np.rint(np.asarray(images)[:, 0] * 255).astype(int).tolist()


def test_splits_scaling_and_shapes(train_dir):
    data = read(train_dir)
    assert isinstance(data, input_data.Datasets) and data._fields == ("train", "validation",
                                                                     "test")
    x_train, y_train, x_test, y_test = ARRAYS
    assert (data.train.num_examples, data.validation.num_examples,
            data.test.num_examples) == (25, 5, 6)
    images = data.train.images
    assert images.dtype == np.float32 and images.shape == (25, 784)
    expected = np.multiply(x_train[5:].reshape(25, 784).astype(np.float32), 1.0 / 255.0)
    np.testing.assert_array_equal(images, expected)
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(data.train.labels, y_train[5:])
    assert data.train.labels.dtype == np.uint8
    np.testing.assert_array_equal(data.validation.labels, y_train[:5])
    np.testing.assert_array_equal(np.rint(data.test.images * 255), x_test.reshape(6, 784))
    assert data.train.epochs_completed == 0


def test_one_hot_labels_are_float64(train_dir):
    data = read(train_dir, one_hot=True)
    labels = data.train.labels
    assert labels.dtype == np.float64 and labels.shape == (25, 10)
    np.testing.assert_array_equal(labels.argmax(1), ARRAYS[1][5:])
    np.testing.assert_array_equal(labels.sum(1), 1)


def test_uint8_unreshaped_images(train_dir):
    data = read(train_dir, dtype=dtypes.uint8, reshape=False)
    assert data.test.images.dtype == np.uint8 and data.test.images.shape == (6, 28, 28, 1)
    np.testing.assert_array_equal(data.test.images[..., 0], ARRAYS[2])
    assert read(train_dir, dtype="float32").train.images.dtype == np.float32


def test_bad_arguments(train_dir):
    with pytest.raises(TypeError, match="Invalid image dtype"):
        read(train_dir, dtype=dtypes.float64)
    with pytest.raises(ValueError, match="between 0 and 30. Received: 31"):
        read(train_dir, validation_size=31)
    with pytest.raises(ValueError, match="labels.shape"):
        input_data.DataSet(np.zeros((3, 2, 2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="rows, cols, 1"):
        input_data.DataSet(np.zeros((3, 2, 2)), np.zeros(3))


def test_default_validation_size_is_tf_s(train_dir):
    with pytest.raises(ValueError, match="Received: 5000"):
        input_data.read_data_sets(train_dir)


def test_batches_in_order_stitch_across_the_epoch_end(train_dir):
    train = read(train_dir).train
    got = [indices(train.next_batch(10, shuffle=False)[0]) for _ in range(3)]
    assert got[0] == list(range(5, 15)) and got[1] == list(range(15, 25))
    assert got[2] == list(range(25, 30)) + list(range(5, 10))
    assert train.epochs_completed == 1
    images, labels = train.next_batch(10, shuffle=False)
    assert indices(images) == list(range(10, 20)) and len(labels) == 10


def test_seeded_shuffles_are_tf_s(train_dir):
    train = read(train_dir, seed=3).train
    # TF 1.x seeded NumPy's global generator with the seed, then shuffled arange(n).
    rng = np.random.RandomState(3)
    order = np.arange(25)
    rng.shuffle(order)
    first = indices(train.next_batch(20)[0])
    assert first == (order[:20] + 5).tolist()
    rest = (order[20:] + 5).tolist()
    new_order = np.arange(25)
    rng.shuffle(new_order)
    # The second shuffle permutes the already shuffled set.
    assert indices(train.next_batch(10)[0]) == rest + (order[new_order[:5]] + 5).tolist()
    assert train.epochs_completed == 1
    assert indices(read(train_dir, seed=3).train.next_batch(20)[0]) == first


def test_every_epoch_is_a_permutation(train_dir):
    train = read(train_dir, seed=11).train
    seen = sum((indices(train.next_batch(5)[0]) for _ in range(10)), [])
    assert sorted(seen[:25]) == list(range(5, 30)) and sorted(seen[25:]) == list(range(5, 30))
    assert seen[:25] != list(range(5, 30))
    assert train.epochs_completed == 1


def test_unseeded_shuffles_follow_numpy_s_global_seed(train_dir):
    data = read(train_dir)
    np.random.seed(5)
    first = indices(data.train.next_batch(25)[0])
    again = read(train_dir)
    np.random.seed(5)
    assert indices(again.train.next_batch(25)[0]) == first


def test_fake_data(tmp_path):
    data = input_data.read_data_sets(str(tmp_path / "unused"), fake_data=True, one_hot=True)
    assert data.train.num_examples == 10000 and data.test.num_examples == 10000
    images, labels = data.train.next_batch(3, fake_data=True)
    assert len(images) == 3 and images[0] == [1] * 784
    assert labels == [[1] + [0] * 9] * 3
    assert input_data.read_data_sets("", fake_data=True).validation.next_batch(2)[1] == [0, 0]


def test_fetches_into_train_dir_from_source_url(train_dir, tmp_path):
    served = tmp_path / "served"
    os.rename(train_dir, served)
    data = read(str(tmp_path / "fresh"), source_url=served.as_uri() + "/")
    assert data.train.num_examples == 25
    assert sorted(os.listdir(tmp_path / "fresh")) == sorted(FILES)


def test_dense_to_one_hot():
    got = input_data.dense_to_one_hot(np.array([2, 0, 1]), 4)
    np.testing.assert_array_equal(got, np.eye(4)[[2, 0, 1]])
    assert got.dtype == np.float64


def test_package_exports_input_data():
    assert tutorials_mnist.input_data is input_data
