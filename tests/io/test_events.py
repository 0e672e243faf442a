"""Tests for numflow.io.events / summary / png against TensorBoard and TF fixtures."""
import importlib.util
import json
import os
import struct
import zlib

import numpy as np
import pytest

from numflow.framework import errors
from numflow.io import summary as summary_pb
from numflow.io.events import EventFileWriter, read_events
from numflow.io.png import encode_png

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "io")
_spec = importlib.util.spec_from_file_location(
    "make_io_fixtures", os.path.join(FIXTURES, "make_io_fixtures.py"))
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

with open(os.path.join(FIXTURES, "events_crosscheck.txt")) as _f:
    CROSSCHECK = [line.rstrip("\n") for line in _f if line.strip()]


def decode_png(data):
    """A minimal PNG reader for unfiltered 8-bit images (what encode_png writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[color]
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8)
    rows = raw.reshape(height, 1 + width * channels)
    assert depth == 8 and not rows[:, 0].any()
    return rows[:, 1:].reshape(height, width, channels)


def _write_reference(tmp_path):
    with EventFileWriter(str(tmp_path), filename_suffix=".v2") as w:
        fixtures.write_reference_events(w)
        w.add_graph(b"\x0a\x03one", step=0, wall_time=1005.0)
    (name,) = os.listdir(tmp_path)
    return os.path.join(tmp_path, name)


def test_file_name_and_first_event(tmp_path):
    path = _write_reference(tmp_path)
    name = os.path.basename(path)
    assert name.startswith("events.out.tfevents.") and name.endswith(".v2")
    assert name.split(".")[3].isdigit() and len(name.split(".")[3]) == 10
    events = read_events(path)
    assert events[0]["file_version"] == "brain.Event:2" and events[0]["wall_time"] > 1e9
    assert [e["step"] for e in events] == [0, 3, 4, 5, 6, 7, 0]
    assert events[-1]["graph_def"] == b"\x0a\x03one"


def test_reads_back_every_summary_kind(tmp_path):
    events = read_events(_write_reference(tmp_path))
    values = {e["summary"][0]["tag"]: (e, e["summary"][0]) for e in events if "summary" in e}
    event, loss = values["loss"]
    assert event["wall_time"] == 1000.5 and loss["plugin_name"] == "scalars"
    assert loss["tensor"].dtype == np.float32 and loss["tensor"].shape == ()
    assert loss["tensor"] == 0.25
    assert values["acc"][1]["simple_value"] == 0.75
    h = values["weights"][1]["histogram"]
    assert (h["min"], h["max"], h["num"], h["sum"], h["sum_squares"]) == (1, 10, 5, 18, 118)
    assert h["bucket_limit"].tolist() == [4.0, 7.0, 10.0] and h["bucket"].tolist() == [4, 0, 1]
    image = values["picture"][1]["image"]
    assert (image["height"], image["width"], image["colorspace"]) == (2, 3, 3)
    pixels = decode_png(image["encoded_image_string"])
    assert pixels[0, :, 0].tolist() == [255] * 3 and pixels[1, 2].tolist() == [10, 20, 30]
    assert values["note"][1]["text"] == "h\u00e9llo"


def test_tensorboard_reads_numflow_event_files():
    lines = [line for line in CROSSCHECK if not line.startswith("tf_summary")]
    assert "tb_tags scalars acc" in lines and "tb_tags tensors loss,note" in lines
    assert "tb_tags histograms weights" in lines and "tb_tags images picture" in lines
    assert "tb_graph one" in lines
    assert "tb_scalar acc 4 1001.0 0.75" in lines
    assert "tb_tensor loss 3 1000.5 0.25" in lines
    assert "tb_tensor note 7 1004.0 b'h\\xc3\\xa9llo'" in lines
    assert "tb_histogram weights 5 1.0 10.0 5.0 18.0 118.0 [4.0,7.0,10.0] [4.0,0.0,1.0]" in lines
    image = next(line for line in lines if line.startswith("tb_image"))
    assert image.startswith("tb_image picture 6 2 3 ")
    assert json.loads(image.split(" ", 5)[5]) == \
        [[[255, 0, 0], [255, 0, 0], [255, 0, 0]], [[0, 0, 0], [0, 0, 0], [10, 20, 30]]]
    steps = [line.split()[1:] for line in lines if line.startswith("summary_iterator")]
    assert steps == [["0", "now", "file_version"], ["3", "1000.5", "summary"],
                     ["4", "1001.0", "summary"], ["5", "1002.0", "summary"],
                     ["6", "1003.0", "summary"], ["7", "1004.0", "summary"],
                     ["0", "1005.0", "graph_def"]]


def test_scalar_and_text_summaries_are_byte_identical_to_tf():
    tf_bytes = {line.split()[1]: bytes.fromhex(line.split()[2])
                for line in CROSSCHECK if line.startswith("tf_summary")}
    assert summary_pb.summary([summary_pb.scalar_value("loss", 0.25)]) == tf_bytes["loss"]
    assert summary_pb.summary([summary_pb.text_value("note", "h\u00e9llo")]) == tf_bytes["note"]


def test_reads_tf_written_event_file():
    events = read_events(os.path.join(FIXTURES, "tf_events.bin"))
    assert events[0]["file_version"] == "brain.Event:2"
    by_tag = {e["summary"][0]["tag"]: e["summary"][0] for e in events if "summary" in e}
    assert by_tag["loss"]["tensor"] == np.float32(0.25)
    assert by_tag["note"]["text"] == "h\u00e9llo"
    hist = by_tag["weights"]["tensor"]  # TF2 histograms are [buckets, 3] tensors
    assert by_tag["weights"]["plugin_name"] == "histograms" and hist.shape == (3, 3)
    assert hist[:, 2].sum() == 3.0


def test_two_writers_in_one_second_do_not_collide(tmp_path):
    a, b = EventFileWriter(str(tmp_path)), EventFileWriter(str(tmp_path))
    a.add_simple_scalar("x", 1.0, step=1)
    b.add_simple_scalar("x", 2.0, step=1)
    a.close(), b.close()
    assert a.path != b.path and len(os.listdir(tmp_path)) == 2
    assert read_events(a.path)[1]["summary"][0]["simple_value"] == 1.0
    with pytest.raises(ValueError):
        a.add_simple_scalar("x", 1.0, step=2)


def test_flush_makes_events_readable_while_open(tmp_path):
    w = EventFileWriter(str(tmp_path / "logs"))
    w.add_scalar("s", 1.5, step=2)
    w.flush()
    assert read_events(w.path)[1]["summary"][0]["tensor"] == 1.5
    w.add_summary_bytes(summary_pb.summary([summary_pb.simple_value("raw", 3.0)]), step=9)
    w.close()
    last = read_events(w.path)[-1]
    assert last["step"] == 9 and last["summary"][0]["simple_value"] == 3.0
    assert w.get_logdir() == str(tmp_path / "logs")


def test_histogram_edge_cases():
    with pytest.raises(errors.InvalidArgumentError, match="Nan in summary histogram for: h"):
        summary_pb.histogram_value("h", [1.0, float("nan")])
    empty = summary_pb.decode_summary(summary_pb.summary([summary_pb.histogram_value("e", [])]))
    assert empty[0]["histogram"]["num"] == 0 and empty[0]["histogram"]["bucket"].size == 0
    same = summary_pb.decode_summary(summary_pb.summary([summary_pb.histogram_value("s", [2.0] * 4,
                                                                                     buckets=5)]))
    assert same[0]["histogram"]["bucket"].sum() == 4


def test_corrupted_event_file_raises_data_loss(tmp_path):
    path = _write_reference(tmp_path)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[60] ^= 0x40
    with open(path, "wb") as f:
        f.write(data)
    with pytest.raises(errors.DataLossError, match=os.path.basename(path)):
        read_events(path)


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (4, 3, 2), (3, 6, 3), (2, 2, 4), (1, 1, 3)])
def test_png_round_trip(shape):
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    decoded = decode_png(encode_png(image))
    np.testing.assert_array_equal(decoded, image.reshape(shape[0], shape[1], -1))


def test_png_rejects_bad_input():
    with pytest.raises(TypeError):
        encode_png(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError):
        encode_png(np.zeros((2, 2, 5), np.uint8))
    with pytest.raises(ValueError):
        encode_png(np.zeros((0, 2, 3), np.uint8))
