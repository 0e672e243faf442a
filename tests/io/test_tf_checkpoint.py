"""Tests for numflow.io.tf_checkpoint against checkpoints written and read by real TF."""
import hashlib
import importlib.util
import json
import os
import shutil
import time

import numpy as np
import pytest

from numflow.framework import dtypes, errors
from numflow.io.tf_checkpoint import (CheckpointReader, data_filename, index_filename,
                                      write_checkpoint)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "io")


def _fixture_module():
    spec = importlib.util.spec_from_file_location(
        "make_io_fixtures", os.path.join(FIXTURES, "make_io_fixtures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fixtures = _fixture_module()


def _crosscheck():
    with open(os.path.join(FIXTURES, "checkpoint_crosscheck.txt")) as f:
        return [line.split() for line in f if line.strip()]


def _read_all(prefix):
    reader = CheckpointReader(prefix)
    return {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}


@pytest.mark.parametrize("tag,prefix", [("saver", "saver_ckpt/model"),
                                        ("object", "object_ckpt/ckpt")])
def test_reads_tf_written_checkpoints(tag, prefix):
    expected = np.load(os.path.join(FIXTURES, "checkpoints_expected.npz"))
    with open(os.path.join(FIXTURES, "checkpoints_expected.json")) as f:
        meta = {k.split(":", 1)[1]: v for k, v in json.load(f).items() if k.startswith(tag)}
    reader = CheckpointReader(os.path.join(FIXTURES, prefix))
    assert set(reader.get_variable_to_shape_map()) == set(meta)
    dtype_map = reader.get_variable_to_dtype_map()
    for name, (dtype_name, shape) in meta.items():
        assert dtype_map[name] == dtypes.as_dtype(dtype_name)
        assert reader.get_variable_to_shape_map()[name] == shape
        assert reader.has_tensor(name)
        value = reader.get_tensor(name)
        want = expected[f"{tag}:{name}"]
        if dtype_name == "string":
            assert value.dtype == object and value.shape == ()
            assert value.item() == want.tobytes()
        else:
            assert value.dtype == want.dtype and value.shape == tuple(shape)
            np.testing.assert_array_equal(value, want)


def test_saver_checkpoint_values():
    reader = CheckpointReader(os.path.join(FIXTURES, "saver_ckpt", "model"))
    assert reader.get_tensor("scalar_f32") == np.float32(1.25)
    np.testing.assert_array_equal(reader.get_tensor("vec_i64"), [10, -20, 1 << 40])
    assert reader.get_tensor("mat_bool").tolist() == [[True, False, True], [False, True, True]]
    np.testing.assert_array_equal(reader.get_tensor("scope/mat_f64"),
                                  np.arange(6.0).reshape(2, 3) / 7.0)


def test_object_graph_entry_is_a_scalar_string():
    reader = CheckpointReader(os.path.join(FIXTURES, "object_ckpt", "ckpt"))
    assert reader.get_variable_to_dtype_map()["_CHECKPOINTABLE_OBJECT_GRAPH"] == dtypes.string
    graph = reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH").item()
    assert isinstance(graph, bytes) and b"VARIABLE_VALUE" in graph
    np.testing.assert_array_equal(
        reader.get_tensor("net/w/.ATTRIBUTES/VARIABLE_VALUE"),
        np.arange(6, dtype=np.float32).reshape(2, 3))


def test_tf_reads_numflow_checkpoints():
    lines = _crosscheck()
    tensors = fixtures.reference_tensors()
    values = {p[2]: (p[3], p[4]) for p in lines if p[:2] == ["reference", "value"]}
    assert set(values) == set(tensors)
    for name, value in tensors.items():
        dtype_name, digest = values[name]
        assert dtype_name == dtypes.as_dtype(value.dtype).name
        assert digest == fixtures.digest(value), name
    assert ["many", "tensors", "12000"] in lines
    assert ["many", "sum", str(sum(range(12000)))] in lines


@pytest.mark.parametrize("tag", ["reference", "many"])
def test_files_are_byte_identical_to_tf_save_v2(tmp_path, tag):
    tensors = fixtures.reference_tensors() if tag == "reference" else fixtures.many_tensors()
    prefix = str(tmp_path / "ckpt")
    write_checkpoint(prefix, tensors)
    expected = {p[2]: p[3] for p in _crosscheck() if p[:2] == [tag, "tf_sha256"]}
    for suffix, digest in expected.items():
        with open(prefix + suffix, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest, suffix


def test_round_trip_random_tensors(tmp_path):
    rng = np.random.default_rng(5)
    tensors = {
        "big": rng.standard_normal(5_000_000).astype(np.float32),
        "ints": rng.integers(-2**40, 2**40, (3, 4, 5)),
        "u16": rng.integers(0, 2**16, 9).astype(np.uint16),
        "c128": rng.standard_normal((2, 2)) + 1j,
        "bool": rng.random((5, 1)) < 0.5,
        "scalar": np.float64(2.5),
        "text": np.array(["héllo", "", "wörld"]),
        "bytes_list": [b"a\x00", b"\x00"],
        "bytes_scalar": b"payload",
        "zero_size": np.zeros((3, 0, 2), np.int8),
        "big_endian": np.arange(4, dtype=">i4"),
    }
    prefix = str(tmp_path / "sub" / "model")
    start = time.perf_counter()
    write_checkpoint(prefix, tensors)
    values = _read_all(prefix)
    assert time.perf_counter() - start < 10.0
    assert sorted(os.listdir(tmp_path / "sub")) == ["model.data-00000-of-00001", "model.index"]
    for name in ("big", "ints", "u16", "c128", "bool", "zero_size"):
        assert values[name].dtype == tensors[name].dtype
        np.testing.assert_array_equal(values[name], tensors[name])
    assert values["scalar"].shape == () and values["scalar"] == 2.5
    assert values["text"].tolist() == ["héllo".encode(), b"", "wörld".encode()]
    assert values["bytes_list"].tolist() == [b"a\x00", b"\x00"]
    assert values["bytes_scalar"].shape == () and values["bytes_scalar"].item() == b"payload"
    assert values["big_endian"].dtype == np.int32 and values["big_endian"].tolist() == [0, 1, 2, 3]


def test_missing_files_and_tensors(tmp_path):
    with pytest.raises(errors.NotFoundError, match="nothing"):
        CheckpointReader(str(tmp_path / "nothing"))
    prefix = str(tmp_path / "m")
    write_checkpoint(prefix, {"x": np.ones(2, np.float32)})
    reader = CheckpointReader(prefix)
    assert not reader.has_tensor("y")
    with pytest.raises(errors.NotFoundError, match="y"):
        reader.get_tensor("y")
    os.remove(data_filename(prefix))
    with pytest.raises(errors.NotFoundError, match="data-00000-of-00001"):
        CheckpointReader(prefix)


def test_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        write_checkpoint(str(tmp_path / "m"), {"a": np.ones(3), "b": np.array([1, None])})
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError):
        write_checkpoint(str(tmp_path / "m"), {"": np.ones(1)})
    with pytest.raises(ValueError):  # the same key twice
        write_checkpoint(str(tmp_path / "m"), {"a": np.ones(1), b"a": np.ones(1)})
    assert os.listdir(tmp_path) == []


def _corrupt_copies(src_prefix, tmp_path):
    """Copies of the object checkpoint with one corrupted file each; yields (prefix, file)."""
    for suffix in (".index", ".data-00000-of-00001"):
        with open(src_prefix + suffix, "rb") as f:
            original = f.read()
        target = str(tmp_path / "c")
        for other in (".index", ".data-00000-of-00001"):
            if other != suffix:
                shutil.copy(src_prefix + other, target + other)
        yield suffix, original, target


def _expect_data_loss(prefix, path):
    with pytest.raises(errors.DataLossError) as info:
        _read_all(prefix)
    assert path in str(info.value)


def test_every_bit_flip_is_detected(tmp_path):
    src = os.path.join(FIXTURES, "object_ckpt", "ckpt")
    for suffix, original, target in _corrupt_copies(src, tmp_path):
        for i in range(len(original)):
            for bit in range(8):
                data = bytearray(original)
                data[i] ^= 1 << bit
                with open(target + suffix, "wb") as f:
                    f.write(data)
                _expect_data_loss(target, target + suffix)


def test_every_truncation_is_detected(tmp_path):
    src = os.path.join(FIXTURES, "object_ckpt", "ckpt")
    for suffix, original, target in _corrupt_copies(src, tmp_path):
        for n in range(len(original)):
            with open(target + suffix, "wb") as f:
                f.write(original[:n])
            _expect_data_loss(target, target + suffix)


def test_large_tensor_corruption_is_detected(tmp_path):
    prefix = str(tmp_path / "m")
    write_checkpoint(prefix, {"w": np.arange(1_000_000, dtype=np.float32)})
    with open(data_filename(prefix), "r+b") as f:
        f.seek(2_345_678)
        byte = f.read(1)
        f.seek(2_345_678)
        f.write(bytes([byte[0] ^ 0x10]))
    with pytest.raises(errors.DataLossError, match="checksum"):
        CheckpointReader(prefix).get_tensor("w")
    assert os.path.exists(index_filename(prefix))
