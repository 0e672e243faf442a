"""Tests for numflow.keras.engine.input_spec."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.keras.engine.input_spec import InputSpec, assert_input_compatibility


def _t(shape, dtype="float32"):
    return tf.zeros(shape, dtype=dtype)


def test_rank_checks():
    assert_input_compatibility(InputSpec(ndim=2), _t((1, 2)), "l")
    with pytest.raises(ValueError, match='Input 0 of layer "l" is incompatible with the layer: '
                                         'expected ndim=3, found ndim=2'):
        assert_input_compatibility(InputSpec(ndim=3), _t((1, 2)), "l")
    with pytest.raises(ValueError, match="expected max_ndim=2"):
        assert_input_compatibility(InputSpec(max_ndim=2), _t((1, 2, 3)), "l")
    with pytest.raises(ValueError, match="expected min_ndim=4"):
        assert_input_compatibility(InputSpec(min_ndim=4), _t((1, 2, 3)), "l")


def test_dtype_axes_and_shape():
    with pytest.raises(ValueError, match="expected dtype=int32, found dtype=float32"):
        assert_input_compatibility(InputSpec(dtype="int32"), _t((1,)), "l")
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 4"):
        assert_input_compatibility(InputSpec(axes={-1: 4}), _t((2, 3)), "l")
    with pytest.raises(ValueError, match=r"expected shape=\(None, 3\), found shape=\(2, 4\)"):
        assert_input_compatibility(InputSpec(shape=(None, 3)), _t((2, 4)), "l")
    squeeze = InputSpec(shape=(None, 3, 1), allow_last_axis_squeeze=True)
    assert_input_compatibility(squeeze, _t((5, 3)), "l")


def test_count_and_type_errors():
    with pytest.raises(ValueError, match='Layer "l" expects 2 input'):
        assert_input_compatibility([InputSpec(), InputSpec()], [_t((1,))], "l")
    with pytest.raises(TypeError, match="should be tensors"):
        assert_input_compatibility(InputSpec(ndim=1), [object()], "l")


def test_config_and_repr():
    spec = InputSpec(dtype="float32", ndim=2, axes={-1: 3})
    assert "ndim=2" in repr(spec) and "axes={-1: 3}" in repr(spec)
    again = InputSpec.from_config(spec.get_config())
    assert again.axes == {-1: 3} and again.ndim == 2
    with pytest.raises(TypeError):
        InputSpec(axes={"a": 1})


def test_layer_input_spec_setter_validates():
    layer = layers.Layer()
    with pytest.raises(TypeError, match="InputSpec"):
        layer.input_spec = "bad"
    layer.input_spec = InputSpec(ndim=2)
    with pytest.raises(ValueError, match="expected ndim=2"):
        layer(np.ones((3,), np.float32))


def test_one_tensor_checks_match_the_list_forms():
    spec = InputSpec(min_ndim=2, axes={-1: 3})
    for form in (spec, [spec], (spec,)):
        assert_input_compatibility(form, _t((2, 3)), "l")
        with pytest.raises(ValueError, match='Input 0 of layer "l" .*axis -1 .*value 3'):
            assert_input_compatibility(form, _t((2, 4)), "l")
    assert_input_compatibility([None], _t((2, 4)), "l")      # a None spec checks nothing
    with pytest.raises(ValueError, match='Layer "l" expects 2 input'):
        assert_input_compatibility([spec, spec], _t((2, 3)), "l")
