"""Tests for numflow.io.example: tf.train.Example messages and parse_examples."""
import importlib.util
import json
import os

import numpy as np
import pytest

from numflow.framework import dtypes, errors
from numflow.io import example as ex_mod
from numflow.io.example import (BytesList, DecodeError, Example, Feature, Features,
                                FixedLenFeature, FloatList, Int64List, VarLenFeature,
                                parse_examples)
from numflow.io.proto import Fields
from numflow.io.tfrecord import tf_record_iterator

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "io")
_spec = importlib.util.spec_from_file_location(
    "make_io_fixtures", os.path.join(FIXTURES, "make_io_fixtures.py"))
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)

with open(os.path.join(FIXTURES, "examples_expected.json")) as _f:
    EXPECTED = json.load(_f)


def build(spec):
    feature = {}
    for name, (kind, values) in spec.items():
        if kind is None:
            feature[name] = Feature()
        else:
            cls = {"float_list": FloatList, "int64_list": Int64List, "bytes_list": BytesList}[kind]
            feature[name] = Feature(**{kind: cls(value=values)})
    return Example(features=Features(feature=feature))


def _feature_blocks(text):
    """The text format's top-level ``feature {...}`` blocks, sorted (TF's map order varies)."""
    blocks, current = [], []
    for line in text.splitlines()[1:-1]:
        current.append(line)
        if line == "  }":
            blocks.append("\n".join(current))
            current = []
    return sorted(blocks)


@pytest.mark.parametrize("index", range(3))
def test_serialization_matches_tf(index):
    spec = fixtures.reference_examples()[index]
    expected = EXPECTED["examples"][index]
    message = build(spec)
    assert message.SerializeToString().hex() == expected["deterministic"]
    assert message.SerializeToString(deterministic=True).hex() == expected["deterministic"]
    if expected["single_default"]:
        assert message.SerializeToString().hex() == expected["single_default"]
        assert str(message) == expected["text"]
    assert _feature_blocks(str(message)) == _feature_blocks(expected["text"])
    parsed = Example.FromString(bytes.fromhex(expected["deterministic"]))
    assert parsed == message
    assert parsed.SerializeToString().hex() == expected["deterministic"]


def test_attribute_access_and_values():
    data = bytes.fromhex(EXPECTED["examples"][1]["deterministic"])
    e = Example()
    assert e.ParseFromString(data) == len(data)
    feature = e.features.feature
    assert feature["x"].float_list.value == [3.0, 4.0, float(np.float32(1e-8))]
    assert feature["label"].int64_list.value == [7]
    assert feature["name"].bytes_list.value[0] == b"cat\x00\xff"
    assert feature["x"].WhichOneof("kind") == "float_list"
    assert sorted(feature.keys()) == ["label", "name", "x"]
    assert "missing" not in feature and feature.get("missing") is None


def test_protobuf_style_mutation_and_presence():
    e = Example()
    assert not e.HasField("features") and e.SerializeToString() == b""
    _ = e.features.feature  # reading does not set anything
    assert not e.HasField("features")
    e.features.feature["v"].float_list.value.append(0.1)
    assert e.HasField("features")
    assert e.features.feature["v"].float_list.value == [0.10000000149011612]
    assert e.SerializeToString() == b"\n\x0f\n\r\n\x01v\x12\x08\x12\x06\n\x04\xcd\xcc\xcc="
    f = e.features.feature["v"]
    f.int64_list.value.extend(np.array([1, 2], dtype=np.int64))  # switches the oneof
    assert f.WhichOneof("kind") == "int64_list" and not f.HasField("float_list")
    assert Example() != Example(features=Features())
    copy = Example()
    copy.CopyFrom(e)
    assert copy == e and copy is not e
    copy.MergeFrom(e)  # map entries are replaced, repeated fields appended
    assert copy.features.feature["v"].int64_list.value == [1, 2]
    f.MergeFrom(f)
    assert f.int64_list.value == [1, 2, 1, 2]
    e.ClearField("features")
    assert e == Example()


def test_type_checks_match_protobuf():
    with pytest.raises(TypeError):
        Int64List(value=[1.5])
    with pytest.raises(TypeError):
        Int64List(value=[True])
    with pytest.raises(ValueError):
        Int64List(value=[1 << 63])
    with pytest.raises(TypeError):
        FloatList(value=["1.0"])
    with pytest.raises(TypeError):
        BytesList(value=["text"])
    with pytest.raises(ValueError):
        Example(foo=1)
    with pytest.raises(AttributeError):
        Example().features = Features()
    with pytest.raises(AttributeError):
        FloatList().value = [1.0]
    with pytest.raises(ValueError):
        Features().feature["x"] = Feature()
    assert FloatList(value=np.array([1e40, 2], np.float64)).value == [float("inf"), 2.0]
    assert Int64List(value=[np.int64(3)]).value == [3]
    assert BytesList(value=[np.bytes_(b"ab")]).value == [b"ab"]


def test_dict_construction_and_text_format():
    e = Example(features={"feature": {"x": {"float_list": {"value": [1, 0.5, 1 / 3]}},
                                      "b": {"bytes_list": {"value": [b"\x01'\"\n"]}}}})
    assert str(e) == (
        'features {\n  feature {\n    key: "b"\n    value {\n      bytes_list {\n'
        '        value: "\\001\\\'\\"\\n"\n      }\n    }\n  }\n'
        '  feature {\n    key: "x"\n    value {\n      float_list {\n        value: 1\n'
        '        value: 0.5\n        value: 0.333333343\n      }\n    }\n  }\n}\n')
    assert str(Example(features=Features())) == "features {\n}\n"


def test_map_order_follows_protobuf_python():
    keys = ["b", "ba", "", "aa", "a"]
    message = Features(feature={k: Feature() for k in keys})
    order = [entry.string(1) for entry in Fields(message.SerializeToString()).messages(1)]
    assert order == ["aa", "a", "ba", "b", ""]


def test_malformed_bytes_raise_decode_error():
    with pytest.raises(DecodeError, match="tensorflow.Example"):
        Example.FromString(b"\x0a\x05abc")


def test_parse_examples_matches_tf():
    serialized = list(tf_record_iterator(os.path.join(FIXTURES, "examples.tfrecord")))
    out = parse_examples(serialized, fixtures.reference_parse_features(ex_mod))
    want = EXPECTED["parse"]
    assert out["x"].dtype == np.float32 and out["x"].shape == (3, 3)
    np.testing.assert_array_equal(out["x"], np.array(want["x"], dtype=np.float32))
    assert out["name"].dtype == object
    assert out["name"].tolist() == [s.encode("latin-1") for s in want["name"]]
    indices, values, dense_shape = out["label"]
    assert indices.dtype == np.int64 and values.dtype == np.int64
    assert indices.tolist() == want["label_indices"]
    assert values.tolist() == want["label_values"]
    assert dense_shape.tolist() == want["label_dense_shape"]


@pytest.mark.parametrize("case", sorted(EXPECTED["errors"]))
def test_parse_errors_match_tf(case):
    serialized = list(tf_record_iterator(os.path.join(FIXTURES, "examples.tfrecord")))[2:]
    specs = {
        "missing": {"y": FixedLenFeature([2], dtypes.float32)},
        "wrong_size": {"x": FixedLenFeature([2], dtypes.float32)},
        "wrong_type": {"label": FixedLenFeature([1], dtypes.float32)},
        "varlen_wrong_type": {"x": VarLenFeature(dtypes.string)},
        "empty_list": {"empty": FixedLenFeature([], dtypes.float32, default_value=1.0)},
        "none_kind": {"none": FixedLenFeature([], dtypes.int64)},
        "wrong_size_bytes": {"tags": FixedLenFeature([], dtypes.string)},
        "wrong_size_int64": {"label": FixedLenFeature([2], dtypes.int64)},
    }
    error_class, message = EXPECTED["errors"][case]
    with pytest.raises(getattr(errors, error_class)) as info:
        parse_examples(serialized, specs[case])
    assert str(info.value) == message


def test_parse_defaults_single_and_empty_batch():
    e = build({"a": ("int64_list", [4, 5])}).SerializeToString()
    features = {"a": FixedLenFeature([2], "int64"), "b": FixedLenFeature([2], "float32",
                                                                         default_value=[1, 2]),
                "s": FixedLenFeature([], "string", default_value="dflt"),
                "v": VarLenFeature("int64")}
    out = parse_examples(e, features)
    assert out["a"].tolist() == [4, 5] and out["b"].tolist() == [1.0, 2.0]
    assert out["s"] == b"dflt"
    assert [x.tolist() for x in out["v"]] == [[], [], [0]]
    assert out["v"][0].shape == (0, 1)
    batch = parse_examples(np.array([e, e], dtype=object), features)
    assert batch["a"].shape == (2, 2) and batch["v"][2].tolist() == [2, 0]
    empty = parse_examples([], features)
    assert empty["a"].shape == (0, 2) and empty["v"][0].shape == (0, 2)
    assert empty["v"][2].tolist() == [0, 0]
    with pytest.raises(errors.InvalidArgumentError, match="reshape"):
        parse_examples([e], {"b": FixedLenFeature([2], "float32", default_value=1.0)})
    with pytest.raises(errors.InvalidArgumentError, match="int32"):
        parse_examples([e], {"a": FixedLenFeature([2], "int32")})
    with pytest.raises(errors.InvalidArgumentError, match="Could not parse example input"):
        parse_examples([b"\x0a\x05ab"], {"a": VarLenFeature("int64")})


def test_parse_large_batch_is_vectorised_per_feature():
    import time
    rows = np.random.default_rng(0).standard_normal((2000, 64)).astype(np.float32)
    serialized = [Example(features=Features(feature={
        "x": Feature(float_list=FloatList(value=r))})).SerializeToString() for r in rows]
    start = time.perf_counter()
    out = parse_examples(serialized, {"x": FixedLenFeature([64], "float32")})
    assert time.perf_counter() - start < 5.0
    np.testing.assert_array_equal(out["x"], rows)
