"""The minimal tf.sparse.SparseTensor (numflow.data.sparse) and sparse dataset elements."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as v1
from numflow.framework import errors

D = tf.data.Dataset


def test_sparse_tensor_parts_and_to_dense():
    sp = tf.sparse.SparseTensor(indices=[[0, 0], [1, 2]], values=[1.0, 2.0],
                                dense_shape=[3, 4])
    assert sp.indices.dtype == tf.int64 and sp.dense_shape.dtype == tf.int64
    assert sp.dtype == tf.float32 and sp.shape.as_list() == [3, 4]
    dense = tf.sparse.to_dense(sp).numpy()
    assert dense.tolist() == [[1, 0, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    assert tf.sparse.to_dense(sp, default_value=-1.0).numpy()[2, 0] == -1.0
    strs = tf.SparseTensor([[1]], ["x"], [2])
    assert tf.sparse.to_dense(strs).numpy().tolist() == [b"", b"x"]
    assert "SparseTensor(indices=" in repr(sp)
    assert sp.with_values([5.0, 6.0]).values.numpy().tolist() == [5.0, 6.0]


def test_to_dense_validates_indices():
    with pytest.raises(errors.InvalidArgumentError, match="out of order"):
        tf.sparse.to_dense(tf.SparseTensor([[1], [0]], [1, 2], [3]))
    assert tf.sparse.to_dense(tf.SparseTensor([[1], [0]], [1, 2], [3]),
                              validate_indices=False).numpy().tolist() == [2, 1, 0]
    with pytest.raises(errors.InvalidArgumentError, match="out of bounds"):
        tf.sparse.to_dense(tf.SparseTensor([[5]], [1], [3]))
    with pytest.raises(errors.InvalidArgumentError, match="repeated"):
        tf.sparse.to_dense(tf.SparseTensor([[1], [1]], [1, 2], [3]))
    with pytest.raises(TypeError):
        tf.sparse.to_dense(np.zeros(3))


def test_sparse_in_graph_mode():
    with v1.Graph().as_default():
        ind = v1.placeholder(v1.int64, [None, 2])
        sp = v1.SparseTensor(ind, v1.constant([7, 8]), v1.constant([2, 2], v1.int64))
        dense = v1.sparse_tensor_to_dense(sp)
        assert dense.shape.as_list() == [2, 2]
        with v1.Session() as sess:
            assert sess.run(dense, {ind: [[0, 1], [1, 0]]}).tolist() == [[0, 7], [8, 0]]
            val = sp.eval({ind: [[0, 1], [1, 0]]}, session=sess)
            assert isinstance(val, v1.SparseTensorValue) and val.values.tolist() == [7, 8]


def test_sparse_dataset_elements_batch_and_unbatch():
    def gen():
        yield tf.SparseTensor([[0]], [1], [2])
        yield tf.SparseTensor([[0], [2]], [2, 3], [3])
    ds = D.from_generator(gen, output_signature=tf.SparseTensorSpec([None], tf.int32))
    items = list(ds)
    assert isinstance(items[1], tf.SparseTensor)
    batch = next(iter(ds.batch(2)))
    assert batch.dense_shape.numpy().tolist() == [2, 3]
    assert tf.sparse.to_dense(batch).numpy().tolist() == [[1, 0, 0], [2, 0, 3]]
    rows = list(ds.batch(2).unbatch())
    assert [r.values.numpy().tolist() for r in rows] == [[1], [2, 3]]
    mapped = ds.map(lambda s: tf.sparse.to_dense(s))
    assert mapped._fn.traced
    assert [x.tolist() for x in mapped.as_numpy_iterator()] == [[1, 0], [2, 0, 3]]
    np_vals = list(ds.as_numpy_iterator())
    assert isinstance(np_vals[0], v1.SparseTensorValue)
