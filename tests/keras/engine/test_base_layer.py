"""Tests for numflow.keras.engine.base_layer: build on first call, add_weight naming,
training/mask plumbing, weights bookkeeping, losses, config, errors."""
import numpy as np
import pytest

import numflow as tf
from numflow import keras
from numflow.keras import layers


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


class Scale(layers.Layer):
    """A layer with one trainable and one frozen weight."""

    def build(self, input_shape):
        self.w = self.add_weight("w", shape=(input_shape[-1],), initializer="ones")
        self.c = self.add_weight("c", shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        return inputs * self.w + self.c


def test_deferred_build_and_weight_names():
    layer = layers.Dense(3)
    assert not layer.built and layer.weights == []
    out = layer(np.ones((2, 4), np.float32))
    assert layer.built and out.shape == (2, 3)
    assert [w.name for w in layer.weights] == ["dense/kernel:0", "dense/bias:0"]
    assert layer.kernel.shape == (4, 3)


def test_unique_default_names_and_clear_session():
    assert [layers.Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert layers.Activation("relu").name == "activation"
    keras.backend.clear_session()
    assert layers.Dense(1).name == "dense"


def test_custom_build_without_super_is_marked_built():
    s = Scale()
    s(np.ones((2, 3), np.float32))
    assert s.built
    assert [w.name for w in s.trainable_weights] == ["scale/w:0"]
    assert [w.name for w in s.non_trainable_weights] == ["scale/c:0"]
    assert s.weights == s.trainable_weights + s.non_trainable_weights


def test_trainable_switch_moves_weights():
    s = Scale()
    s(np.ones((1, 2), np.float32))
    s.trainable = False
    assert s.trainable_weights == [] and len(s.non_trainable_weights) == 2
    s.trainable = True
    assert len(s.trainable_weights) == 1


def test_nested_tracking_attributes_lists_dicts_variables():
    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.first = layers.Dense(2)
            self.stack = [layers.Dense(2), layers.Dense(2)]
            self.named = {"a": layers.Dense(2)}
            self.v = tf.Variable(np.zeros(2, np.float32), name="v")

        def call(self, x):
            x = self.first(x)
            for layer in self.stack:
                x = layer(x)
            return self.named["a"](x) + self.v

    b = Block()
    b(np.ones((1, 2), np.float32))
    assert len(b.trainable_weights) == 9
    assert len(list(b._flatten_layers(include_self=False))) == 4
    # A subclassed layer names the weights of sublayers built in its call under its own.
    assert b.first.kernel.name == "block/dense/kernel:0"


def test_get_set_weights_and_count_params():
    d = layers.Dense(2)
    with pytest.raises(ValueError, match="isn't built"):
        d.count_params()
    d(np.ones((1, 3), np.float32))
    assert d.count_params() == 8
    new = [np.arange(6, dtype=np.float32).reshape(3, 2), np.array([1, 2], np.float32)]
    d.set_weights(new)
    np.testing.assert_array_equal(d.get_weights()[0], new[0])
    with pytest.raises(ValueError, match="expecting 2 weights"):
        d.set_weights(new[:1])
    with pytest.raises(ValueError, match="not compatible"):
        d.set_weights([np.zeros((2, 2)), np.zeros(2)])


def test_training_flag_is_passed_only_when_accepted_and_propagates():
    seen = []

    class Probe(layers.Layer):
        def call(self, inputs, training=None):
            seen.append(training)
            return inputs

    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.probe = Probe()

        def call(self, inputs):     # no training argument: the flag still reaches Probe
            return self.probe(inputs)

    x = np.ones((1, 1), np.float32)
    Outer()(x, training=True)
    Probe()(x)
    Probe()(x, training=False)
    assert seen == [True, None, False]


def test_regularizer_and_activity_losses():
    d = layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.5),
                     activity_regularizer=keras.regularizers.l1(0.1),
                     kernel_initializer="ones")
    x = np.ones((4, 3), np.float32)
    y = d(x)
    losses = [float(l) for l in d.losses]
    assert len(losses) == 2
    assert np.isclose(sorted(losses)[1], 0.5 * 6)                          # kernel penalty
    assert np.isclose(sorted(losses)[0], 0.1 * np.abs(y.numpy()).sum() / 4)  # per sample
    d(x)   # an outermost call clears the previous call's activity losses
    assert len(d.losses) == 2


def test_add_loss_tensor_and_callable():
    class L(layers.Layer):
        def call(self, x):
            self.add_loss(tf.reduce_sum(x))
            return x
    layer = L()
    layer.add_loss(lambda: tf.constant(2.0))
    layer(np.ones((2, 2), np.float32))
    assert sorted(float(v) for v in layer.losses) == [2.0, 4.0]


def test_float64_inputs_are_cast_to_layer_dtype():
    d = layers.Dense(1)
    assert d(np.ones((1, 2))).dtype == tf.float32
    d64 = layers.Dense(1, dtype="float64")
    assert d64(np.ones((1, 2))).dtype == tf.float64


def test_input_spec_errors_are_clear():
    d = layers.Dense(2)
    d(np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match='Input 0 of layer "dense" is incompatible.*axis -1 .*'
                                         'value 3.*shape \\(1, 4\\)'):
        d(np.ones((1, 4), np.float32))
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        layers.Dense(2)(np.ones((3,), np.float32))


def test_config_round_trip_and_base_keys():
    d = layers.Dense(5, activation="relu", use_bias=False, name="d1",
                     kernel_initializer=keras.initializers.he_normal(seed=3))
    cfg = d.get_config()
    assert cfg["name"] == "d1" and cfg["trainable"] is True and cfg["dtype"] == "float32"
    assert cfg["kernel_initializer"] == {"class_name": "HeNormal", "config": {"seed": 3}}
    clone = layers.Dense.from_config(cfg)
    assert clone.get_config() == cfg


def test_compute_output_shape_by_tracing():
    class Double(layers.Layer):
        def call(self, x):
            return tf.concat([x, x], axis=-1)
    assert Double().compute_output_shape((None, 3)).as_list() == [None, 6]
    assert layers.Dense(4).compute_output_shape((2, 7)).as_list() == [2, 4]


def test_unknown_kwarg_rejected():
    with pytest.raises(TypeError, match="Keyword argument not understood"):
        layers.Dense(2, foo=1)


def test_mask_propagation_to_layers_accepting_mask():
    got = {}

    class Sink(layers.Layer):
        def call(self, x, mask=None):
            got["mask"] = mask
            return x

    emb = layers.Embedding(10, 3, mask_zero=True)
    x = np.array([[1, 2, 0]])
    Sink()(emb(x))
    np.testing.assert_array_equal(got["mask"].numpy(), [[True, True, False]])


def test_get_config_required_for_layers_with_init_args():
    class NeedsConfig(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

    with pytest.raises(NotImplementedError, match="must override `get_config"):
        NeedsConfig(3).get_config()
    assert layers.Layer(name="plain").get_config()["name"] == "plain"


def test_call_losses_cleared_only_for_the_called_tree():
    class AddsLoss(layers.Layer):
        def __init__(self, add, **kwargs):
            super().__init__(**kwargs)
            self.add = add

        def call(self, x):
            if self.add:
                self.add_loss(tf.reduce_sum(x))
            return x

    a, b = AddsLoss(True), AddsLoss(True)
    x = np.ones((1, 2), np.float32)
    a(x)
    b(x)
    assert len(a.losses) == 1 and len(b.losses) == 1
    a.add = False
    a(x)                        # a's outermost call clears a's losses, not b's
    assert a.losses == [] and len(b.losses) == 1
    b.add = False
    b(x)
    assert b.losses == []


def test_keras_tensor_found_in_nested_arguments():
    class Pair(layers.Layer):
        def call(self, inputs, extra=None):
            return inputs[0] + inputs[1]

    x = keras.Input((2,))
    ones = np.ones((1, 2), np.float32)
    assert type(Pair()([x, x])).__name__ == "KerasTensor"
    assert type(Pair()((ones, ones), extra={"a": x})).__name__ == "KerasTensor"
    assert type(Pair()((ones, ones), extra={"a": 1})).__name__ == "EagerTensor"


def test_output_mask_set_only_when_there_is_one():
    class Keep(layers.Layer):
        def __init__(self):
            super().__init__()
            self.supports_masking = True

        def call(self, x):
            return x * 1.0

    from numflow.keras.engine import base_layer_utils as utils
    out = Keep()(tf.ones((1, 3)))
    assert utils.get_mask(out) is None
    emb = layers.Embedding(10, 3, mask_zero=True)
    out = Keep()(emb(np.array([[1, 0, 2]])))
    np.testing.assert_array_equal(utils.get_mask(out).numpy(), [[True, False, True]])


def test_call_losses_of_unhashable_and_collected_layers():
    import gc
    from numflow.keras.engine import base_layer

    class Unhashable(layers.Layer):
        __hash__ = None

        def __eq__(self, other):
            return NotImplemented

        def call(self, x):
            self.add_loss(tf.reduce_sum(x))
            return x

    layer = Unhashable()
    layer(np.ones((1, 2), np.float32))
    key = id(layer)
    assert len(layer.losses) == 1 and key in base_layer._HOLDING_CALL_LOSSES
    del layer
    gc.collect()
    assert key not in base_layer._HOLDING_CALL_LOSSES
