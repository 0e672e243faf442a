"""Merge layers and their functional forms: NumPy references, broadcasting across ranks,
masks, shape errors."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.testing.layer_test import make_input, run_layer_test

ELEMENTWISE = [
    (layers.Add, layers.add, lambda a: a[0] + a[1] + a[2]),
    (layers.Multiply, layers.multiply, lambda a: a[0] * a[1] * a[2]),
    (layers.Average, layers.average, lambda a: (a[0] + a[1] + a[2]) / 3),
    (layers.Maximum, layers.maximum, lambda a: np.maximum(np.maximum(a[0], a[1]), a[2])),
    (layers.Minimum, layers.minimum, lambda a: np.minimum(np.minimum(a[0], a[1]), a[2])),
]


@pytest.mark.parametrize("layer_cls, fn, reference", ELEMENTWISE)
def test_elementwise_merges(layer_cls, fn, reference):
    data = [make_input((2, 3, 4), seed=i) for i in range(3)]
    run_layer_test(layer_cls, {}, input_data=data, expected_output=reference(data),
                   supports_masking=True)
    a, b, c = (layers.Input((3, 4)) for _ in range(3))
    out = fn([a, b, c])
    assert tuple(out.shape.as_list()) == (None, 3, 4)
    model = tf.keras.Model([a, b, c], out)
    np.testing.assert_allclose(model.predict(data, verbose=0), reference(data), atol=1e-6)


def test_subtract():
    data = [make_input((2, 5), seed=i) for i in range(2)]
    run_layer_test(layers.Subtract, {}, input_data=data, expected_output=data[0] - data[1])
    a, b = layers.Input((5,)), layers.Input((5,))
    assert tuple(layers.subtract([a, b]).shape.as_list()) == (None, 5)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Subtract()([a, b, a])


def test_broadcasting_and_rank_alignment():
    x = make_input((2, 3, 4))
    y = make_input((2, 1, 4), seed=1)
    run_layer_test(layers.Add, {}, input_data=[x, y], expected_output=x + y)
    z = make_input((2, 4), seed=2)     # lower rank: a size-1 axis goes after the batch axis
    run_layer_test(layers.Multiply, {}, input_data=[x, z], expected_output=x * z[:, None])
    a, b = layers.Input((3, 4)), layers.Input((1, 4))
    assert tuple(layers.add([a, b]).shape.as_list()) == (None, 3, 4)


def test_incompatible_shapes_raise():
    a, b = layers.Input((3,)), layers.Input((4,))
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.add([a, b])
    with pytest.raises(ValueError, match="list"):
        layers.Add()(a)
    with pytest.raises(ValueError, match="batch sizes"):
        layers.Add()([np.zeros((2, 3), "float32"), np.zeros((3, 3), "float32")])


def test_concatenate():
    data = [make_input((2, 3, 4)), make_input((2, 3, 2), seed=1)]
    run_layer_test(layers.Concatenate, {}, input_data=data,
                   expected_output=np.concatenate(data, -1))
    data = [make_input((2, 3, 4)), make_input((2, 1, 4), seed=1)]
    run_layer_test(layers.Concatenate, dict(axis=1), input_data=data,
                   expected_output=np.concatenate(data, 1))
    a, b, c = layers.Input((32,)), layers.Input((128,)), layers.Input((12,))
    assert tuple(layers.concatenate([b, a, c]).shape.as_list()) == (None, 172)
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        layers.concatenate([layers.Input((3, 4)), layers.Input((5, 4))])
    with pytest.raises(ValueError, match="matching shapes"):
        layers.concatenate([layers.Input((3, 4)), layers.Input((3,))])


def test_concatenate_mask():
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    emb1 = layers.Embedding(5, 2, mask_zero=True)
    emb2 = layers.Embedding(5, 3)
    concat = layers.Concatenate()
    out = concat([emb1(ids), emb2(ids)])
    mask = concat.compute_mask([emb1(ids), emb2(ids)], [emb1.compute_mask(ids), None])
    assert out.shape == (2, 3, 5)
    np.testing.assert_array_equal(np.asarray(mask), [[True] * 3, [True] * 3])


def test_merge_mask_is_and_of_masks():
    m1 = tf.constant([[True, False, True]])
    m2 = tf.constant([[True, True, False]])
    x = tf.zeros((1, 3, 2))
    mask = layers.Add().compute_mask([x, x], [m1, m2])
    np.testing.assert_array_equal(np.asarray(mask), [[True, False, False]])
    assert layers.Add().compute_mask([x, x], [None, None]) is None


def _normalize(v, axis):
    return v / np.maximum(np.linalg.norm(v, axis=axis, keepdims=True), 1e-6)


def test_dot():
    a, b = make_input((2, 5)), make_input((2, 5), seed=1)
    run_layer_test(layers.Dot, dict(axes=1), input_data=[a, b],
                   expected_output=np.sum(a * b, 1, keepdims=True))
    run_layer_test(layers.Dot, dict(axes=1, normalize=True), input_data=[a, b],
                   expected_output=np.sum(_normalize(a, 1) * _normalize(b, 1), 1, keepdims=True))
    x, y = make_input((2, 3, 4)), make_input((2, 4, 5), seed=1)
    run_layer_test(layers.Dot, dict(axes=(2, 1)), input_data=[x, y],
                   expected_output=np.einsum("bij,bjk->bik", x, y))
    x, y = make_input((2, 3, 4)), make_input((2, 3, 6), seed=1)
    run_layer_test(layers.Dot, dict(axes=1), input_data=[x, y],
                   expected_output=np.einsum("bji,bjk->bik", x, y))
    u, v = layers.Input((3, 4)), layers.Input((6, 4))
    assert tuple(layers.dot([u, v], axes=2).shape.as_list()) == (None, 3, 6)
    with pytest.raises(ValueError, match="Incompatible input shapes"):
        layers.dot([layers.Input((3,)), layers.Input((4,))], axes=1)
    with pytest.raises(ValueError, match="axes"):
        layers.Dot(axes=[1, 2, 3])


def test_functional_forms_take_layer_kwargs():
    a, b = layers.Input((3,)), layers.Input((3,))
    out = layers.add([a, b], name="my_add")
    assert out._keras_history.layer.name == "my_add"
    out = layers.concatenate([a, b], axis=-1, name="cat")
    assert out._keras_history.layer.get_config()["axis"] == -1
