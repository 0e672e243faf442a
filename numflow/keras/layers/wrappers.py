"""Layer wrappers (``tf.keras.layers.Wrapper``, ``Bidirectional``, ``TimeDistributed``)."""
import copy

import numflow as tf
from numflow.framework import nest
from numflow.keras.engine import base_layer_utils as utils
from numflow.keras.engine.base_layer import Layer
from numflow.keras.layers.recurrent_cells import deserialize_layer
from numflow.keras.utils import generic_utils
from numflow.ops import array_manip

__all__ = [
    "Wrapper", "Bidirectional", "TimeDistributed"
]


def _build_child(layer, input_shape):
    """Builds a wrapped layer under its own name (weights ``outer/inner/kernel``)."""
    if layer.built:
        return
    with utils.name_scope(layer.name):
        layer.build(input_shape)
    Layer.build(layer, input_shape)


class Wrapper(Layer):
    """Base class of layers that wrap another layer (``keras.layers.Wrapper(layer)``)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Layer {layer} supplied to Wrapper isn't a supported layer type. "
                             f"Please ensure wrapped layer is a valid Keras layer.")
        super().__init__(**kwargs)
        self.layer = layer

    def get_config(self):
        config = super().get_config()
        config["layer"] = generic_utils.serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects)
        return cls(**config)


class TimeDistributed(Wrapper):
    """Applies ``layer`` to every time step of ``[batch, time, ...]``
    (``keras.layers.TimeDistributed(layer)``).

    The time axis is folded into the batch, ``layer`` runs once on
    ``[batch * time, ...]`` and the result is unfolded, so ``layer`` has one set of weights
    shared by all steps and no Python loop runs over steps.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _child_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        if len(dims) < 3:
            raise ValueError(f"`TimeDistributed` Layer should be passed an `input_shape` with "
                             f"at least 3 dimensions, received: {tuple(dims)}")
        return tf.TensorShape([dims[0]] + dims[2:]), dims

    def build(self, input_shape):
        child, _ = self._child_shape(input_shape)
        _build_child(self.layer, child)
        self.built = True

    def compute_output_shape(self, input_shape):
        child, dims = self._child_shape(input_shape)
        out = tf.TensorShape(self.layer.compute_output_shape(child)).as_list()
        return tf.TensorShape([dims[0], dims[1]] + out[1:])

    def call(self, inputs, training=None, mask=None):
        dims = inputs.shape.as_list()
        shape = tf.shape(inputs)
        batch = dims[0] if dims[0] is not None else shape[0]
        steps = dims[1] if dims[1] is not None else shape[1]
        inner = [d if d is not None else shape[i + 2] for i, d in enumerate(dims[2:])]
        flat = tf.reshape(inputs, tf.stack([-1] + inner) if any(
            tf.is_tensor(d) for d in inner) else [-1] + inner)
        kwargs = {}
        if self.layer._expects_training_arg:
            kwargs["training"] = training
        if mask is not None and self.layer._expects_mask_arg:
            kwargs["mask"] = tf.reshape(mask, [-1] + mask.shape.as_list()[2:])
        y = self.layer(flat, **kwargs)
        out_dims = y.shape.as_list()
        ys = tf.shape(y)
        new = [batch, steps] + [d if d is not None else ys[i + 1]
                                for i, d in enumerate(out_dims[1:])]
        out = tf.reshape(y, tf.stack(new) if any(tf.is_tensor(d) for d in new) else new)
        if not tf.executing_eagerly():
            out.set_shape([dims[0], dims[1]] + out_dims[1:])
        return out

    def compute_mask(self, inputs, mask=None):
        return mask


class Bidirectional(Wrapper):
    """Runs a recurrent layer forwards and a copy of it backwards and merges the two
    (``keras.layers.Bidirectional(layer, merge_mode='concat', weights=None,
    backward_layer=None)``).

    Args:
      layer: an RNN layer (LSTM, GRU, SimpleRNN, RNN); the forward layer is a copy named
        ``forward_<name>``.
      merge_mode: ``"concat"``, ``"sum"``, ``"mul"``, ``"ave"`` or None (a list of both).
      weights: initial weights (forward ones, then backward ones).
      backward_layer: the layer run backwards (default: a copy of ``layer`` with
        ``go_backwards=True``, named ``backward_<name>``).

    Weights: the forward layer's, then the backward layer's. With ``return_sequences``
    the backward outputs are reversed back into time order before merging.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `Bidirectional` layer with a "
                             f"`keras.layers.Layer` instance. Received: {layer}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"`backward_layer` need to be a `keras.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should "
                             f'be one of {{"sum", "mul", "ave", "concat", None}}')
        if weights:
            kwargs["weights"] = weights
        config = generic_utils.serialize_keras_object(layer)
        config["config"]["name"] = "forward_" + _strip(layer.name, "forward_")
        forward = deserialize_layer(config)
        if backward_layer is None:
            config = generic_utils.serialize_keras_object(layer)
            config["config"]["go_backwards"] = True
            config["config"]["name"] = "backward_" + _strip(layer.name, "backward_")
            backward_layer = deserialize_layer(config)
        super().__init__(forward, **kwargs)
        self.forward_layer = forward
        self.backward_layer = backward_layer
        if forward.go_backwards == backward_layer.go_backwards:
            raise ValueError(f"Forward layer and backward layer should have different "
                             f"`go_backwards` value. Received: forward_layer.go_backwards "
                             f"{forward.go_backwards}, backward_layer.go_backwards="
                             f"{backward_layer.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(forward, attr) != getattr(backward_layer, attr):
                raise ValueError(f'Forward layer and backward layer are expected to have the '
                                 f'same value for attribute "{attr}", got '
                                 f'"{getattr(forward, attr)}" for forward layer and '
                                 f'"{getattr(backward_layer, attr)}" for backward layer')
        for sub in (forward, backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = forward.return_sequences
        self.return_state = forward.return_state
        self.stateful = forward.stateful
        self.supports_masking = True

    def build(self, sequences_shape, initial_state_shape=None):
        if isinstance(sequences_shape, (list, tuple)) and sequences_shape and \
                isinstance(sequences_shape[0], (list, tuple, tf.TensorShape)):
            sequences_shape = sequences_shape[0]
        _build_child(self.forward_layer, sequences_shape)
        _build_child(self.backward_layer, sequences_shape)
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
            states = states + copy.copy(states)
        dims = tf.TensorShape(shape).as_list()
        if self.merge_mode == "concat":
            dims[-1] = None if dims[-1] is None else 2 * dims[-1]
            out = tf.TensorShape(dims)
        elif self.merge_mode is None:
            out = [tf.TensorShape(dims), tf.TensorShape(dims)]
        else:
            out = tf.TensorShape(dims)
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if isinstance(sequences, (list, tuple)):
            if initial_state is None and len(sequences) > 1:
                initial_state = list(sequences[1:])
            sequences = sequences[0]
        forward_state = backward_state = None
        if initial_state is not None:
            initial_state = nest.flatten(initial_state)
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        kwargs = {"training": training}
        if mask is not None:
            kwargs["mask"] = nest.flatten(mask)[0]
        y = self.forward_layer(sequences, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, **kwargs)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = array_manip.reverse(y_rev, [1])
        if self.merge_mode == "concat":
            output = array_manip.concat([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + states
        return output

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.merge_mode is None:
            output_mask = [output_mask, output_mask]
        if self.return_state:
            n = len(self.forward_layer.state_size) * 2
            return (output_mask if isinstance(output_mask, list) else [output_mask]) + \
                [None] * n
        return output_mask

    def reset_states(self, states=None):
        """Resets both directions' states (stateful layers)."""
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        half = len(states) // 2
        self.forward_layer.reset_states(states[:half])
        self.backward_layer.reset_states(states[half:])

    def get_config(self):
        config = Layer.get_config(self)
        config["merge_mode"] = self.merge_mode
        config["layer"] = generic_utils.serialize_keras_object(self.forward_layer)
        config["backward_layer"] = generic_utils.serialize_keras_object(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["layer"] = deserialize_layer(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_layer(config["backward_layer"],
                                                         custom_objects)
        return cls(**config)


def _strip(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name
