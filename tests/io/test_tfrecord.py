"""Tests for numflow.io.tfrecord against TFRecord files written and read by real TF."""
import hashlib
import importlib.util
import os

import pytest

from numflow.framework import errors
from numflow.io.tfrecord import (TFRecordCompressionType, TFRecordOptions, TFRecordWriter,
                                 compression_type_string, encode_record, tf_record_iterator)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "io")
_spec = importlib.util.spec_from_file_location(
    "make_io_fixtures", os.path.join(FIXTURES, "make_io_fixtures.py"))
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

RECORDS = fixtures.reference_records()
KINDS = [("", ""), ("GZIP", ".gz"), ("ZLIB", ".zlib")]


@pytest.mark.parametrize("kind,suffix", KINDS)
def test_reads_tf_written_files(kind, suffix):
    path = os.path.join(FIXTURES, "records.tfrecord" + suffix)
    assert list(tf_record_iterator(path, compression_type=kind)) == RECORDS
    assert list(tf_record_iterator(path, TFRecordOptions(kind))) == RECORDS


def test_uncompressed_output_is_byte_identical_to_tf(tmp_path):
    path = tmp_path / "r.tfrecord"
    with TFRecordWriter(str(path)) as w:
        for r in RECORDS:
            w.write(r)
    with open(os.path.join(FIXTURES, "records.tfrecord"), "rb") as f:
        assert path.read_bytes() == f.read()
    assert b"".join(encode_record(r) for r in RECORDS) == path.read_bytes()


def test_tf_reads_numflow_files():
    with open(os.path.join(FIXTURES, "records_crosscheck.txt")) as f:
        lines = [line.split() for line in f if line.strip()]
    digest = hashlib.sha256(b"|".join(RECORDS)).hexdigest()
    assert lines == [["tf_reads_numflow", k, str(len(RECORDS)), digest]
                     for k in ("NONE", "GZIP", "ZLIB")]


@pytest.mark.parametrize("kind,suffix", KINDS)
def test_round_trip_and_atomic_rename(tmp_path, kind, suffix):
    path = str(tmp_path / ("out.tfrecord" + suffix))
    w = TFRecordWriter(path, TFRecordOptions(compression_type=kind, compression_level=9))
    for r in RECORDS:
        w.write(r)
    w.write("text record")
    w.flush()
    assert not os.path.exists(path)  # still under its temporary name
    w.close()
    w.close()
    assert os.listdir(tmp_path) == [os.path.basename(path)]
    assert list(tf_record_iterator(path, kind)) == RECORDS + [b"text record"]
    with pytest.raises(ValueError):
        w.write(b"late")


def test_exception_in_with_block_leaves_nothing(tmp_path):
    path = tmp_path / "r.tfrecord"
    with pytest.raises(RuntimeError):
        with TFRecordWriter(str(path)) as w:
            w.write(b"partial")
            raise RuntimeError("stop")
    assert os.listdir(tmp_path) == []


def test_compression_type_forms():
    assert compression_type_string(None) == ""
    assert compression_type_string("gzip") == "GZIP"
    assert compression_type_string(TFRecordCompressionType.ZLIB) == "ZLIB"
    assert TFRecordOptions.get_compression_type_string(TFRecordOptions("GZIP")) == "GZIP"
    with pytest.raises(ValueError):
        compression_type_string("LZ4")
    with pytest.raises(NotImplementedError, match="window_bits"):
        TFRecordOptions("ZLIB", window_bits=9)


def test_missing_file():
    with pytest.raises(errors.NotFoundError):
        list(tf_record_iterator("/nonexistent/file.tfrecord"))


def _all_corruptions(data):
    for i in range(len(data)):
        for bit in (0, 3, 7):
            damaged = bytearray(data)
            damaged[i] ^= 1 << bit
            yield f"flip {i}.{bit}", bytes(damaged)
    for n in range(1, len(data)):
        yield f"truncate {n}", data[:n]


def test_every_corruption_of_an_uncompressed_file_is_detected(tmp_path):
    records = [b"", b"abc", bytes(range(40))]
    data = b"".join(encode_record(r) for r in records)
    boundaries = {len(b"".join(encode_record(r) for r in records[:k])): k for k in (1, 2)}
    path = str(tmp_path / "bad.tfrecord")
    for what, damaged in _all_corruptions(data):
        with open(path, "wb") as f:
            f.write(damaged)
        if what.startswith("truncate") and len(damaged) in boundaries:
            # a cut between records leaves a valid, shorter file (as in TF)
            assert list(tf_record_iterator(path)) == records[:boundaries[len(damaged)]]
            continue
        with pytest.raises(errors.DataLossError) as info:
            list(tf_record_iterator(path))
        assert path in str(info.value), what


def test_error_names_the_offset(tmp_path):
    good = encode_record(b"first") + encode_record(b"second")
    damaged = bytearray(good)
    damaged[len(encode_record(b"first")) + 14] ^= 1  # inside the second record's data
    path = str(tmp_path / "bad.tfrecord")
    with open(path, "wb") as f:
        f.write(damaged)
    it = tf_record_iterator(path)
    assert next(it) == b"first"
    offset = len(encode_record(b"first"))
    with pytest.raises(errors.DataLossError, match=f"corrupted record at {offset}"):
        next(it)


def test_huge_declared_length_does_not_allocate(tmp_path):
    import struct
    from numflow.io.crc32c import masked_crc32c
    header = struct.pack("<Q", 1 << 60)
    path = str(tmp_path / "huge.tfrecord")
    with open(path, "wb") as f:
        f.write(header + struct.pack("<I", masked_crc32c(header)) + b"tiny")
    with pytest.raises(errors.DataLossError, match="truncated record at 0"):
        list(tf_record_iterator(path))


@pytest.mark.parametrize("kind,suffix", KINDS[1:])
def test_damaged_compressed_files(tmp_path, kind, suffix):
    with open(os.path.join(FIXTURES, "records.tfrecord" + suffix), "rb") as f:
        data = f.read()
    path = str(tmp_path / "bad")
    for n in range(0, len(data), 7):
        with open(path, "wb") as f:
            f.write(data[:n])
        if n == 0:  # an empty file is an empty stream for gzip, a damaged one for zlib
            if kind == "GZIP":
                assert list(tf_record_iterator(path, kind)) == []
                continue
        with pytest.raises(errors.DataLossError):
            list(tf_record_iterator(path, kind))
