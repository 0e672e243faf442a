"""Recurrent layers (``tf.keras.layers.RNN``, ``SimpleRNN``, ``LSTM``, ``GRU``); the cells
are in ``recurrent_cells.py``, ``Bidirectional`` and ``TimeDistributed`` in
``wrappers.py``.

How a sequence runs: ``LSTM`` runs the whole sequence as one ``BlockLSTMV2`` op
(numflow/ops/rnn_ops.py, with its gradient op) whenever that gives the same results, by
TF's rule for its cuDNN kernel: tanh and sigmoid activations, no dropout while training,
no mask, ``unroll=False``. Otherwise, and for the other layers: with a built-in cell, the
input projection of ALL time steps is one matrix product (``[batch * time, input_dim] @
kernel``); the time loop then does one matrix product per step for all gates of the
recurrent part. The loop is unrolled in Python over the static number of steps, so inside
``fit``'s traced train step it becomes one graph through which gradients flow (numflow
has no ``tf.while_loop`` yet).

A sequence length unknown at graph-construction time is only accepted while Keras infers
shapes for the functional API (``Input(shape=(None, features))``): the layer then reports
its static output shape without building the loop. Running such a graph raises
ValueError; eager calls and ``fit`` always see the real length.

Masks (from ``Embedding(mask_zero=True)`` or ``Masking``, or ``mask=``) keep the states
and carry the previous output over masked steps; ``zero_output_for_mask=True`` emits
zeros there instead.
"""
import numflow as tf
from numflow.framework import nest
from numflow.keras import activations
from numflow.keras.engine import base_layer_utils as utils
from numflow.keras.engine.base_layer import Layer
from numflow.keras.layers import recurrent_cells as cells_lib
from numflow.keras.layers.recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell
from numflow.keras.utils import generic_utils
from numflow.ops import array_manip

__all__ = [
    "RNN", "SimpleRNN", "LSTM", "GRU"
]


def in_shape_inference():
    """True while Keras builds a layer call on KerasTensors (a scratch graph that is only
    used for static shapes and is never run)."""
    if tf.executing_eagerly():
        return False
    name = getattr(tf.compat.v1.get_default_graph(), "name", "") or ""
    return name.endswith("_scratch_graph") or name == "keras_shape"


class _StateHolder:
    """Holds a stateful RNN's state variables outside the layer's weights (Keras does not
    save them with the weights)."""

    def __init__(self):
        self.variables = None


class RNN(Layer):
    """Base class for recurrent layers (``keras.layers.RNN(cell, return_sequences=False,
    return_state=False, go_backwards=False, stateful=False, unroll=False,
    zero_output_for_mask=False)``).

    Args:
      cell: an RNN cell (``call(inputs, states) -> (output, new_states)`` and a
        ``state_size``), or a list of cells, stacked.
      return_sequences: return every step's output ``[batch, time, units]`` instead of the
        last one ``[batch, units]``.
      return_state: also return the final states (``[output] + states``).
      go_backwards: read the sequence backwards (the returned sequence is reversed too).
      stateful: the last states of batch ``i`` are the initial states of batch ``i`` of the
        next call (needs a static batch size; ``reset_states()`` clears them).
      unroll: accepted; the loop is always unrolled over the static length.
      zero_output_for_mask: output zeros at masked steps instead of the previous output.

    Call args: ``sequences`` ``[batch, time, ...]``, ``initial_state`` (list of tensors),
    ``mask`` ``[batch, time]`` booleans, ``training``.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        time_major = kwargs.pop("time_major", False)
        if isinstance(cell, (list, tuple)):
            cell = cells_lib.StackedRNNCells(cell)
        if "call" not in dir(cell):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: "
                             f"cell={cell}")
        if getattr(cell, "state_size", None) is None:
            raise ValueError(f"The RNN cell should have a `state_size` attribute (single "
                             f"integer or list of integers, one integer per RNN state). "
                             f"Received: cell={cell}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.time_major = bool(time_major)
        self.supports_masking = True
        self._state_holder = _StateHolder()

    @property
    def state_size(self):
        """The cell's state sizes as a list."""
        s = self.cell.state_size
        return list(s) if isinstance(s, (list, tuple)) else [s]

    @property
    def states(self):
        """The state variables of a stateful layer (None before its first call)."""
        return self._state_holder.variables

    def _output_size(self):
        size = getattr(self.cell, "output_size", None)
        return self.state_size[0] if size is None else size

    # ---- build / shapes --------------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        if isinstance(sequences_shape, (list, tuple)) and sequences_shape and \
                isinstance(sequences_shape[0], (list, tuple, tf.TensorShape)):
            sequences_shape = sequences_shape[0]
        dims = tf.TensorShape(sequences_shape).as_list()
        if len(dims) < 3:
            raise ValueError(f"Input of layer {self.name} should be at least 3D "
                             f"(batch, timesteps, features); received input shape {tuple(dims)}")
        if self.time_major:
            dims[0], dims[1] = dims[1], dims[0]
        step_shape = tf.TensorShape([dims[0]] + dims[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            with utils.name_scope(self.cell.name):
                self.cell.build(step_shape)
            self.cell.built = True
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        if isinstance(sequences_shape, (list, tuple)) and sequences_shape and \
                isinstance(sequences_shape[0], (list, tuple, tf.TensorShape)):
            sequences_shape = sequences_shape[0]
        dims = tf.TensorShape(sequences_shape).as_list()
        batch, length = (dims[1], dims[0]) if self.time_major else (dims[0], dims[1])
        out = self._output_size()
        if self.return_sequences:
            output = [length, batch, out] if self.time_major else [batch, length, out]
        else:
            output = [batch, out]
        output = tf.TensorShape(output)
        if self.return_state:
            return [output] + [tf.TensorShape([batch, s]) for s in self.state_size]
        return output

    def compute_mask(self, inputs, mask=None):
        mask = nest.flatten(mask)[0] if mask is not None else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    # ---- running --------------------------------------------------------------------------
    def _initial_states(self, x, initial_state):
        batch = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]
        if initial_state is not None:
            states = [tf.convert_to_tensor(s) for s in nest.flatten(initial_state)]
            if len(states) != len(self.state_size):
                raise ValueError(f"Layer {self.name} expects {len(self.state_size)} state(s), "
                                 f"but it received {len(states)} initial state(s).")
            return states
        if self.stateful:
            return self._stateful_states(x)
        if hasattr(self.cell, "get_initial_state"):
            return nest.flatten(self.cell.get_initial_state(batch_size=batch, dtype=x.dtype))
        return [tf.zeros(tf.stack([batch, s]) if tf.is_tensor(batch) else [batch, s],
                         dtype=x.dtype) for s in self.state_size]

    def _stateful_states(self, x):
        if self._state_holder.variables is None:
            batch = x.shape[0]
            if batch is None:
                raise ValueError("If a RNN is stateful, it needs to know its batch size. "
                                 "Specify the batch size of your input tensors, e.g. "
                                 "`Input(batch_shape=(32, 10, 8))`.")
            with tf.init_scope():
                self._state_holder.variables = [
                    tf.Variable(tf.zeros([batch, s], dtype=x.dtype), trainable=False,
                                name=f"{self.name}/rnn_state_{i}")
                    for i, s in enumerate(self.state_size)]
        return [v.value() for v in self._state_holder.variables]

    def reset_states(self, states=None):
        """Sets a stateful layer's states to zeros (or to ``states``, NumPy arrays)."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if self._state_holder.variables is None:
            return
        values = [None] * len(self._state_holder.variables) if states is None else \
            nest.flatten(states)
        for var, value in zip(self._state_holder.variables, values):
            var.assign(tf.zeros_like(var) if value is None else value)

    def _step_function(self, x, training):
        """``(per-step inputs, step(inputs_t, states) -> (output, states))``."""
        cell = self.cell
        if all(hasattr(cell, a) for a in ("project_inputs", "step", "sequence_weights")):
            projected = cell.project_inputs(x, training=training)
            weights = cell.sequence_weights()
            return (tf.unstack(projected, axis=1),
                    lambda xt, states: cell.step(xt, states, training, weights))
        takes_training = "training" in cells_lib._call_args(cell)
        single = not isinstance(cell.state_size, (list, tuple))

        def step(xt, states):
            kwargs = {"training": training} if takes_training else {}
            if isinstance(cell, Layer):
                with utils.name_scope(cell.name):
                    cell._maybe_build(xt)
            out, new = cell.call(xt, states[0] if single else list(states), **kwargs)
            return out, nest.flatten(new)
        return tf.unstack(x, axis=1), step

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if isinstance(sequences, (list, tuple)):
            if initial_state is None and len(sequences) > 1:
                initial_state = list(sequences[1:])
            sequences = sequences[0]
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            mask = tf.convert_to_tensor(mask)
        x = sequences
        if self.time_major:
            x = array_manip.transpose(x, [1, 0] + list(range(2, x.shape.rank)))
        steps = x.shape[1]
        if steps is None:
            if in_shape_inference():
                return self._shapes_only(x)
            raise ValueError(f"Layer {self.name} needs a static number of timesteps in graph "
                             f"mode (numflow unrolls the time loop and has no tf.while_loop); "
                             f"got input shape {x.shape}.")
        for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
            if hasattr(self.cell, reset):
                getattr(self.cell, reset)()
        states = self._initial_states(x, initial_state)
        if self.go_backwards:
            x = array_manip.reverse(x, [1])
            mask = None if mask is None else array_manip.reverse(mask, [1])
        output, states = self._run_sequence(x, states, mask, training)
        if self.stateful:
            for var, value in zip(self._state_holder.variables, states):
                var.assign(value)
        if self.return_sequences and self.time_major:
            output = array_manip.transpose(output, [1, 0, 2])
        if self.return_state:
            return [output] + list(states)
        return output

    def _run_sequence(self, x, states, mask, training):
        """The time loop over ``x`` ``[batch, time, ...]`` (already reversed for
        ``go_backwards``), unrolled: ``(output, final states)``, where ``output`` is every
        step's output ``[batch, time, units]`` with ``return_sequences``, else the last."""
        inputs, step = self._step_function(x, training)
        masks = None if mask is None else tf.unstack(
            array_manip.expand_dims(tf.cast(mask, x.dtype), -1), axis=1)
        outputs, carried, last = [], None, None
        for t in range(x.shape[1]):
            out, new_states = step(inputs[t], states)
            new_states = nest.flatten(new_states)
            if masks is not None:
                m = masks[t]
                new_states = [o + m * (n - o) for n, o in zip(new_states, states)]
                prev = tf.zeros_like(out) if carried is None else carried
                carried = prev + m * (out - prev)
                out = out * m if self.zero_output_for_mask else carried
            states, last = new_states, out
            if self.return_sequences:
                outputs.append(out)
        return (tf.stack(outputs, axis=1) if self.return_sequences else last), states

    def _shapes_only(self, x):
        """Placeholders with the static output shapes (symbolic shape inference only)."""
        shapes = self.compute_output_shape(x.shape)
        dtype = x.dtype if x.dtype.is_floating else tf.float32
        return nest.map_structure(lambda s: tf.compat.v1.placeholder(dtype, s), shapes)

    # ---- config ---------------------------------------------------------------------------
    def _rnn_config(self):
        config = super().get_config()
        config.update({"return_sequences": self.return_sequences,
                       "return_state": self.return_state, "go_backwards": self.go_backwards,
                       "stateful": self.stateful, "unroll": self.unroll,
                       "zero_output_for_mask": self.zero_output_for_mask})
        if self.time_major:
            config["time_major"] = True
        return config

    def get_config(self):
        config = self._rnn_config()
        config["cell"] = generic_utils.serialize_keras_object(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = config.pop("cell")
        if isinstance(cell, list):
            cell = [cells_lib.deserialize_layer(c, custom_objects) for c in cell]
        else:
            cell = cells_lib.deserialize_layer(cell, custom_objects)
        return cls(cell, **config)


_CELL_ARGS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "unit_forget_bias",
              "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
              "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
              "recurrent_dropout", "reset_after", "seed")
_LAYER_ARGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
               "zero_output_for_mask", "time_major")


class _CellLayer(RNN):
    """An RNN whose cell is built from the layer's own arguments (SimpleRNN, LSTM, GRU)."""

    _cell_class = None
    _cell_name = None

    def __init__(self, cell_kwargs, layer_kwargs, kwargs):
        kwargs.pop("implementation", None)
        kwargs.pop("use_cudnn", None)
        cell = self._cell_class(dtype=kwargs.get("dtype"),
                                trainable=kwargs.get("trainable", True),
                                name=self._cell_name, **cell_kwargs)
        super().__init__(cell, **layer_kwargs, **kwargs)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        return super().call(sequences, initial_state=initial_state, mask=mask,
                            training=training)

    def get_config(self):
        config = self._rnn_config()
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "batch_input_shape"):
            cell_config.pop(key, None)
        config.update(cell_config)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)

    def __getattr__(self, name):
        # units, activation, kernel_initializer... read through to the cell, as in Keras
        if name in _CELL_ARGS and "cell" in self.__dict__:
            return getattr(self.__dict__["cell"], name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


def _split(kwargs, cell_args):
    cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cell_args}
    layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _LAYER_ARGS}
    return cell_kwargs, layer_kwargs, kwargs


class SimpleRNN(_CellLayer):
    """Fully-connected RNN whose output is fed back as input (``keras.layers.SimpleRNN(
    units, activation='tanh', use_bias=True, kernel_initializer='glorot_uniform',
    recurrent_initializer='orthogonal', bias_initializer='zeros', kernel_regularizer=None,
    recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
    kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
    recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
    stateful=False, unroll=False, seed=None)``).

    Weights ``simple_rnn_cell/kernel``, ``recurrent_kernel``, ``bias``.
    """

    _cell_class = SimpleRNNCell
    _cell_name = "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True, **kwargs):
        kwargs.update(units=units, activation=activation, use_bias=use_bias)
        super().__init__(*_split(kwargs, _CELL_ARGS))


class LSTM(_CellLayer):
    """Long Short-Term Memory layer, Hochreiter 1997 (``keras.layers.LSTM(units,
    activation='tanh', recurrent_activation='sigmoid', use_bias=True,
    kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal',
    bias_initializer='zeros', unit_forget_bias=True, kernel_regularizer=None,
    recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
    kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
    recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
    go_backwards=False, stateful=False, unroll=False)``).

    Gate order ``i, f, c, o`` (so Keras weights load as they are); states ``[h, c]``.
    Weights ``lstm_cell/kernel`` ``(input_dim, 4 * units)``, ``recurrent_kernel``
    ``(units, 4 * units)``, ``bias`` ``(4 * units,)``.
    """

    _cell_class = LSTMCell
    _cell_name = "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, **kwargs):
        kwargs.update(units=units, activation=activation,
                      recurrent_activation=recurrent_activation, use_bias=use_bias)
        super().__init__(*_split(kwargs, _CELL_ARGS))

    def _can_fuse(self, mask, training):
        """Whether the sequence can run as one ``BlockLSTMV2`` op with the same results (TF's
        rule for its cuDNN kernel): tanh and sigmoid activations, no dropout while
        training, no mask, not unrolled."""
        cell = self.cell
        dropping = training and (0 < cell.dropout < 1 or 0 < cell.recurrent_dropout < 1)
        return (mask is None and not self.unroll and not dropping
                and cell.activation in (activations.tanh, tf.tanh)
                and cell.recurrent_activation in (activations.sigmoid, tf.sigmoid))

    def _run_sequence(self, x, states, mask, training):
        if not self._can_fuse(mask, training):
            return super()._run_sequence(x, states, mask, training)
        cell = self.cell
        units, dtype = cell.units, x.dtype
        # Keras's gate blocks i, f, c, o are BlockLSTMV2's IFCO layout: no reordering.
        w = tf.concat([cell.kernel, cell.recurrent_kernel], axis=0)
        b = cell.bias if cell.use_bias else tf.zeros([4 * units], dtype=dtype)
        no_peephole = tf.zeros([units], dtype=dtype)
        out = tf.raw_ops.BlockLSTMV2(
            seq_len_max=tf.constant(x.shape[1], tf.int64), x=tf.transpose(x, [1, 0, 2]),
            cs_prev=states[1], h_prev=states[0], w=w, wci=no_peephole, wcf=no_peephole,
            wco=no_peephole, b=b)
        output = tf.transpose(out.h, [1, 0, 2]) if self.return_sequences else out.h[-1]
        return output, [out.h[-1], out.cs[-1]]


class GRU(_CellLayer):
    """Gated Recurrent Unit, Cho et al. 2014 (``keras.layers.GRU(units, activation='tanh',
    recurrent_activation='sigmoid', use_bias=True, kernel_initializer='glorot_uniform',
    recurrent_initializer='orthogonal', bias_initializer='zeros', ..., dropout=0.0,
    recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
    go_backwards=False, stateful=False, unroll=False, reset_after=True)``).

    Gate order ``z, r, h``; with ``reset_after=True`` (the default, cuDNN-compatible) the
    bias is ``(2, 3 * units)``. Weights ``gru_cell/kernel``, ``recurrent_kernel``, ``bias``.
    """

    _cell_class = GRUCell
    _cell_name = "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, reset_after=True, **kwargs):
        kwargs.update(units=units, activation=activation, use_bias=use_bias,
                      recurrent_activation=recurrent_activation, reset_after=reset_after)
        super().__init__(*_split(kwargs, _CELL_ARGS))


# Keras 2's names for the same layers.
LSTMV1 = LSTM
GRUV1 = GRU
