"""A one-call test harness for Keras layers (after Keras's ``run_layer_test``).

``run_layer_test(layer_cls, kwargs, input_shape, ...)`` checks, for one configuration of
a layer:

1. eager call: the output shape (None entries of ``expected_output_shape`` match any
   size) and dtype; ``layer.compute_output_shape`` equals the runtime shape;
2. fixed weights (``weights=``): the output equals ``expected_output`` (a NumPy
   reference) within ``atol``/``rtol``;
3. the functional API: called on ``Input(batch_shape=input_shape)`` the KerasTensor's
   static shape equals the runtime shape, and with an unknown batch size it agrees
   wherever it is known;
4. ``tf.function``: the traced call gives the eager result;
5. config round trip: ``get_config()`` is JSON-serializable, ``from_config`` rebuilds a
   layer whose config is the same and which, given the same weights, computes the same
   output;
6. training: every trainable weight gets a finite gradient, not zero everywhere, and one
   gradient-descent step on a squared-error loss lowers it.

It returns the eager output (a NumPy array, or a list of them) for further checks.
"""
import json

import numpy as np

import numflow as tf
from numflow.framework import nest


def _np(x):
    return [np.asarray(v) for v in x] if isinstance(x, (list, tuple)) else np.asarray(x)


def _shape(t):
    return tuple(tf.TensorShape(t.shape).as_list())


def _match(actual, expected, what):
    actual, expected = tuple(actual), tuple(expected)
    ok = len(actual) == len(expected) and all(e is None or a is None or a == e
                                              for a, e in zip(actual, expected))
    assert ok, f"{what}: got shape {actual}, expected {expected}"


def make_input(input_shape, input_dtype="float32", seed=0, low=-1.0, high=1.0, int_high=10):
    """Random test data: uniform floats in ``[low, high)`` or ints in ``[0, int_high)``."""
    rng = np.random.RandomState(seed)
    if np.dtype(input_dtype).kind in "iu":
        return rng.randint(0, int_high, size=input_shape).astype(input_dtype)
    return rng.uniform(low, high, size=input_shape).astype(input_dtype)


def _comparable(config):
    return json.loads(json.dumps(config, sort_keys=True, default=str))


def check_config_round_trip(layer, layer_cls, data, output, custom_objects=None, atol=1e-6,
                            call_kwargs=None):
    """``get_config`` -> JSON -> ``from_config`` gives the same config, and with the same
    weights the same output."""
    config = layer.get_config()
    text = json.dumps(config)                     # must be JSON-serializable
    config2 = json.loads(text)
    if custom_objects:
        from numflow.keras.utils import generic_utils
        with generic_utils.custom_object_scope(custom_objects):
            clone = layer_cls.from_config(config2)
    else:
        clone = layer_cls.from_config(config2)
    assert _comparable(clone.get_config()) == _comparable(config), (
        f"config round trip changed the config:\n{clone.get_config()}\n!=\n{config}")
    if layer.weights:
        clone(data, **(call_kwargs or {}))
        clone.set_weights(layer.get_weights())
    out2 = _np(clone(data, **(call_kwargs or {})))
    for a, b in zip(nest.flatten(_np(output)), nest.flatten(out2)):
        np.testing.assert_allclose(b, a, atol=atol, rtol=atol,
                                   err_msg="rebuilt layer computes a different output")
    return clone


def check_functional_shapes(layer_cls, kwargs, input_data, runtime_shapes, call_kwargs=None):
    """Static KerasTensor shapes equal the runtime shapes (fully known batch), and agree
    with them where known (unknown batch)."""
    from numflow.keras.engine.input_layer import Input
    multi = isinstance(input_data, (list, tuple))
    arrays = list(input_data) if multi else [input_data]
    for known in (True, False):
        xs = [Input(batch_shape=np.shape(a) if known else (None,) + np.shape(a)[1:],
                    dtype=np.asarray(a).dtype.name) for a in arrays]
        y = layer_cls(**kwargs)(xs if multi else xs[0], **(call_kwargs or {}))
        for kt, rt in zip(nest.flatten(y), runtime_shapes):
            static = _shape(kt)
            if known:
                assert static == tuple(rt), (
                    f"functional API: static shape {static} != runtime shape {tuple(rt)}")
            else:
                _match(rt, static, "functional API (unknown batch)")


def check_gradients_and_training(layer, data, call_kwargs=None, lr=None, seed=0):
    """Every trainable weight gets a finite, non-zero gradient, and (for deterministic
    layers) a gradient step on ``mean((y - target)**2)`` lowers that loss."""
    call_kwargs = dict(call_kwargs or {})
    weights = layer.trainable_weights
    if not weights:
        return
    rng = np.random.RandomState(seed)
    out = nest.flatten(layer(data, **call_kwargs))
    targets = [rng.uniform(-1, 1, np.shape(o)).astype(np.asarray(o).dtype) for o in out]

    def loss_fn():
        ys = nest.flatten(layer(data, **call_kwargs))
        total = 0.0
        for y, t in zip(ys, targets):
            if y.dtype.is_floating:
                total = total + tf.reduce_mean(tf.square(y - t))
        return total

    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, weights)
    for w, g in zip(weights, grads):
        assert g is not None, f"no gradient reaches weight {w.name}"
        g = np.asarray(g)
        assert np.all(np.isfinite(g)), f"non-finite gradient for {w.name}"
        assert np.any(g != 0), f"gradient of {w.name} is zero everywhere"
    before = float(loss)
    if abs(float(loss_fn()) - before) > 1e-6 * max(1.0, abs(before)):
        return          # a stochastic layer (dropout while training): no descent check
    norm = sum(float(np.sum(np.square(np.asarray(g)))) for g in grads)
    step = lr if lr is not None else min(0.1, 0.1 * before / max(norm, 1e-12))
    for w, g in zip(weights, grads):
        w.assign_sub(step * np.asarray(g))
    after = float(loss_fn())
    assert after < before, f"a gradient step did not lower the loss ({before} -> {after})"


def run_layer_test(layer_cls, kwargs=None, input_shape=None, input_dtype="float32",
                   input_data=None, expected_output_shape=None, expected_output_dtype=None,
                   expected_output=None, weights=None, call_kwargs=None,
                   expected_num_trainable_weights=None, expected_num_non_trainable_weights=None,
                   expected_weight_shapes=None, supports_masking=None, custom_objects=None,
                   check_functional=True, check_function=True, check_training=True,
                   atol=1e-5, rtol=1e-5):
    """Runs the checks listed in the module docstring on ``layer_cls(**kwargs)``.

    Args:
      layer_cls: the layer class.
      kwargs: constructor arguments.
      input_shape: the full input shape (batch included), or a list of shapes for
        multi-input layers; ignored when ``input_data`` is given.
      input_dtype: dtype of the generated input.
      input_data: the input (a NumPy array or a list of them).
      expected_output_shape: shape (or list of shapes) with None for any size.
      expected_output_dtype: dtype name of the output.
      expected_output: NumPy reference output for ``weights`` (or for the layer's
        deterministic initial weights when ``weights`` is None).
      weights: a list of arrays given to ``set_weights`` before the reference check.
      call_kwargs: extra call arguments (``training=True``...).
      expected_num_trainable_weights, expected_num_non_trainable_weights: weight counts.
      expected_weight_shapes: the shapes of ``layer.weights`` in order.
      supports_masking: the expected ``layer.supports_masking``.
      custom_objects: for ``from_config``.
      check_functional, check_function, check_training: turn those checks off.

    Returns:
      The eager output as NumPy (a list for several outputs).
    """
    kwargs = dict(kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    multi = input_data is not None and isinstance(input_data, (list, tuple)) or (
        input_shape is not None and input_shape and isinstance(input_shape[0], (list, tuple)))
    if input_data is None:
        if multi:
            input_data = [make_input(s, input_dtype, seed=i) for i, s in enumerate(input_shape)]
        else:
            input_data = make_input(input_shape, input_dtype)
    shapes = [np.shape(d) for d in input_data] if multi else np.shape(input_data)

    layer = layer_cls(**kwargs)
    output = layer(input_data, **call_kwargs)
    flat = nest.flatten(output)
    runtime_shapes = [tuple(np.shape(o)) for o in flat]
    if expected_output_shape is not None:
        expected = expected_output_shape if isinstance(expected_output_shape, list) else \
            [expected_output_shape]
        assert len(expected) == len(runtime_shapes), (
            f"expected {len(expected)} outputs, got {len(runtime_shapes)}")
        for rt, ex in zip(runtime_shapes, expected):
            _match(rt, ex, "eager output")
    if expected_output_dtype is not None:
        for o in flat:
            assert o.dtype.base_dtype.name == expected_output_dtype, (
                f"output dtype {o.dtype.name} != {expected_output_dtype}")
    static = layer.compute_output_shape(
        [tf.TensorShape(s) for s in shapes] if multi else tf.TensorShape(shapes))
    for s, rt in zip(nest.flatten(static) if isinstance(static, list) else [static],
                     runtime_shapes):
        _match(rt, tuple(tf.TensorShape(s).as_list()), "compute_output_shape")
    if supports_masking is not None:
        assert layer.supports_masking == supports_masking
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights, \
            [w.name for w in layer.trainable_weights]
    if expected_num_non_trainable_weights is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights, \
            [w.name for w in layer.non_trainable_weights]
    if expected_weight_shapes is not None:
        got = [tuple(w.shape.as_list()) for w in layer.weights]
        assert got == [tuple(s) for s in expected_weight_shapes], got
    if weights is not None:
        layer.set_weights(weights)
        output = layer(input_data, **call_kwargs)
    if expected_output is not None:
        for a, b in zip(nest.flatten(_np(output)), nest.flatten(expected_output)):
            np.testing.assert_allclose(a, np.asarray(b), atol=atol, rtol=rtol,
                                       err_msg="output differs from the reference")
    if check_function and not call_kwargs.get("training"):
        traced = tf.function(lambda x: layer(x, **call_kwargs))(input_data)
        for a, b in zip(nest.flatten(_np(traced)), nest.flatten(_np(output))):
            np.testing.assert_allclose(a, b, atol=atol, rtol=rtol,
                                       err_msg="tf.function result differs from eager")
    if check_functional:
        check_functional_shapes(layer_cls, kwargs, input_data, runtime_shapes, call_kwargs)
    if not call_kwargs.get("training"):
        check_config_round_trip(layer, layer_cls, input_data, output, custom_objects,
                                atol=max(atol, 1e-6), call_kwargs=call_kwargs)
    if check_training:
        check_gradients_and_training(layer, input_data, call_kwargs)
    return _np(output)
