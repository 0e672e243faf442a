import pytest

import numflow as tf
from numflow.framework.tensor_shape import Dimension, TensorShape, unknown_shape


def test_known_and_unknown():
    s = TensorShape([None, 784])
    assert s.as_list() == [None, 784] and s.rank == 2
    assert s.num_elements() is None and not s.is_fully_defined()
    assert TensorShape([2, 3]).num_elements() == 6
    assert TensorShape(None).rank is None
    with pytest.raises(ValueError):
        TensorShape(None).as_list()
    assert unknown_shape(3).as_list() == [None] * 3


def test_compatibility_and_merge():
    a, b = TensorShape([None, 3]), TensorShape([5, None])
    assert a.is_compatible_with(b)
    assert a.merge_with(b).as_list() == [5, 3]
    assert not a.is_compatible_with([5, 4])
    with pytest.raises(ValueError):
        a.merge_with([5, 4])
    assert TensorShape(None).is_compatible_with([1, 2, 3])
    assert not TensorShape([1]).is_compatible_with([1, 1])


def test_indexing_and_equality():
    s = TensorShape([4, None, 2])
    assert s[0] == 4 and s[1] is None and s[1:].as_list() == [None, 2]
    assert s == [4, None, 2] and s != [4, 1, 2]
    assert str(TensorShape([None, 784])) == "(None, 784)"
    assert tf.TensorShape([3]).concatenate([4]).as_list() == [3, 4]


def test_dimension():
    assert Dimension(3).value == 3 and Dimension(None).value is None
    assert (Dimension(3) == Dimension(None)) is None
    assert (Dimension(2) * 3).value == 6
    assert Dimension(3).merge_with(None).value == 3
    with pytest.raises(ValueError):
        Dimension(-1)
    with pytest.raises(ValueError):
        Dimension(2).merge_with(3)


def test_with_rank():
    with pytest.raises(ValueError):
        TensorShape([1, 2]).with_rank(3)
    assert TensorShape(None).with_rank(2).as_list() == [None, None]
