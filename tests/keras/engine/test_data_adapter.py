"""Tests for numflow.keras.engine.data_adapter: batching, shuffling, casting, splitting."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras.engine import data_adapter as da


def test_unpack_and_pack():
    assert da.unpack_x_y_sample_weight(1) == (1, None, None)
    assert da.unpack_x_y_sample_weight((1,)) == (1, None, None)
    assert da.unpack_x_y_sample_weight([1, 2]) == (1, 2, None)
    assert da.unpack_x_y_sample_weight((1, 2, 3)) == (1, 2, 3)
    with pytest.raises(ValueError):
        da.unpack_x_y_sample_weight((1, 2, 3, 4))
    assert da.pack_x_y_sample_weight(1) == 1
    assert da.pack_x_y_sample_weight([1, 2]) == ([1, 2],)
    assert da.pack_x_y_sample_weight(1, 2) == (1, 2)


def test_array_batches_cast_and_order():
    x = np.arange(10, dtype=np.float64).reshape(10, 1)
    y = np.arange(10)
    adapter = da.ArrayAdapter(x, y, batch_size=4)
    batches = list(adapter.epoch_iterator())
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == y.dtype
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    shuffled = da.ArrayAdapter(x, y, batch_size=4, shuffle=True)
    xs, ys = zip(*shuffled.epoch_iterator())
    np.testing.assert_array_equal(np.concatenate(xs)[:, 0], np.concatenate(ys))
    assert sorted(np.concatenate(ys).tolist()) == list(range(10))


def test_nested_inputs_and_mismatched_sizes():
    adapter = da.ArrayAdapter({"a": np.zeros((6, 2)), "b": np.ones((6, 3))}, np.zeros(6),
                              batch_size=4)
    x, y = next(adapter.epoch_iterator())
    assert set(x) == {"a", "b"} and x["b"].shape == (4, 3)
    with pytest.raises(ValueError, match="Data cardinality is ambiguous"):
        da.ArrayAdapter(np.zeros((3, 1)), np.zeros(4))


def test_class_weight_to_sample_weight():
    sw = da.class_weight_to_sample_weight(np.array([0, 1, 1, 2]), {0: 1.0, 1: 2.0, 2: 0.5})
    np.testing.assert_array_equal(sw, [1.0, 2.0, 2.0, 0.5])
    onehot = np.eye(3)[[2, 0]]
    np.testing.assert_array_equal(da.class_weight_to_sample_weight(onehot, {2: 3.0}), [3, 1])


def test_train_validation_split_takes_the_tail():
    x, y = np.arange(10), np.arange(10) * 2
    (tx, ty, _), (vx, vy, _) = da.train_validation_split((x, y, None), 0.2)
    np.testing.assert_array_equal(vx, [8, 9])
    np.testing.assert_array_equal(ty, np.arange(8) * 2)


def test_select_adapter_kinds():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 2)), np.zeros(4))).batch(2)
    assert isinstance(da.select_adapter(ds), da.DatasetAdapter)
    assert isinstance(da.select_adapter(iter([(1, 2)])), da.GeneratorAdapter)
    assert isinstance(da.select_adapter(np.zeros((2, 2))), da.ArrayAdapter)
    with pytest.raises(ValueError, match="Failed to find data adapter"):
        da.select_adapter(None)


def test_data_handler_dataset_steps_and_running_out():
    ds = tf.data.Dataset.from_tensor_slices(np.arange(6.0)).batch(2)
    handler = da.DataHandler(ds, epochs=2)
    seen = [[int(b[0][0]) for _, b in handler.steps(it)] for _, it in handler.enumerate_epochs()]
    assert seen == [[0, 2, 4], [0, 2, 4]]
    gen = ((np.zeros((1, 1)), np.zeros(1)) for _ in range(3))
    handler = da.DataHandler(gen, epochs=3, steps_per_epoch=2)
    counts = []
    with pytest.warns(UserWarning, match="ran out of data"):
        for _, it in handler.enumerate_epochs():
            counts.append(len(list(handler.steps(it))))
    assert counts == [2, 1]


def test_python_lists_of_numbers_are_arrays():
    adapter = da.select_adapter([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], [0, 1, 1], batch_size=2)
    x, y = next(adapter.epoch_iterator())
    assert x.shape == (2, 2) and x.dtype == np.float32 and y.tolist() == [0, 1]
