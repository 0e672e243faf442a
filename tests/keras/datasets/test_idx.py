"""Tests for numflow.keras.datasets.idx."""
import gzip
import io

import numpy as np
import pytest

from numflow.keras.datasets import idx

_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array):
    """The bytes of an IDX file holding ``array``."""
    array = np.asarray(array)
    kind = array.dtype.str[1:]
    header = bytes([0, 0, _CODES[kind], array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(">" + kind).tobytes()


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
def test_round_trip_every_element_type(dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    got = idx.parse_idx(idx_bytes(array))
    assert got.dtype == np.dtype(dtype)
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_reads_raw_and_gzip_files_alike(tmp_path):
    images = np.random.RandomState(0).randint(0, 256, (5, 28, 28)).astype(np.uint8)
    raw = tmp_path / "images-idx3-ubyte"
    raw.write_bytes(idx_bytes(images))
    packed = tmp_path / "images-idx3-ubyte.gz"
    packed.write_bytes(gzip.compress(idx_bytes(images)))
    for path in (raw, packed, str(packed)):
        got = idx.read_idx(path, magic=2051)
        assert got.shape == (5, 28, 28) and got.dtype == np.uint8
        np.testing.assert_array_equal(got, images)


def test_reads_file_objects_and_result_is_writable():
    labels = np.array([5, 0, 4, 1, 9], np.uint8)
    got = idx.read_idx(io.BytesIO(idx_bytes(labels)), magic=2049)
    np.testing.assert_array_equal(got, labels)
    got[0] = 7
    assert got[0] == 7


def test_scalar_and_empty_arrays():
    np.testing.assert_array_equal(idx.parse_idx(idx_bytes(np.array(3, np.int32))), 3)
    assert idx.parse_idx(idx_bytes(np.zeros((0, 28, 28), np.uint8))).shape == (0, 28, 28)


def test_wrong_expected_magic_is_named():
    data = idx_bytes(np.zeros(3, np.uint8))  # magic 2049
    with pytest.raises(ValueError, match="Invalid magic number 2049.*expected 2051"):
        idx.parse_idx(data, name="labels", magic=2051)


@pytest.mark.parametrize("data,match", [
    (b"", "only 0 bytes"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "not an IDX file"),
    (b"PK\x03\x04rest", "not an IDX file"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x01", "truncated"),
])
def test_malformed_headers(data, match):
    with pytest.raises(ValueError, match=match):
        idx.parse_idx(data)


def test_size_must_match_header():
    data = idx_bytes(np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="needs exactly 18"):
        idx.parse_idx(data[:-1])
    with pytest.raises(ValueError, match="damaged"):
        idx.parse_idx(data + b"\x00")


def test_damaged_gzip_is_reported(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:-10])
    with pytest.raises(ValueError, match="damaged gzip"):
        idx.read_idx(path)
