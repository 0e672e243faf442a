"""Recurrent cells (``tf.keras.layers.SimpleRNNCell``, ``LSTMCell``, ``GRUCell``,
``StackedRNNCells``): one time step of a recurrent layer.

Each built-in cell has Keras's weights (``kernel`` ``(input_dim, G * units)``,
``recurrent_kernel`` ``(units, G * units)``, ``bias``) with Keras's gate order: LSTM
``i, f, c, o``; GRU ``z, r, h`` with ``reset_after=True`` by default and then a
``(2, 3 * units)`` bias (input bias row, recurrent bias row).

Besides ``call(inputs, states, training)`` the built-in cells expose the two halves the
``RNN`` layer uses to run a whole sequence fast: ``project_inputs`` multiplies every
time step by ``kernel`` in one matrix product (``[batch * time, input_dim] @ kernel``),
and ``step`` does the recurrent part of one step with one matrix product for all gates.
Dropout masks are drawn once per sequence (Keras's ``DropoutRNNCell``): one for the
inputs, one for the recurrent state.
"""
import numflow as tf
from numflow.framework import nest
from numflow.keras import activations, constraints, initializers, regularizers
from numflow.keras.engine.base_layer import Layer
from numflow.ops import array_manip

__all__ = [
    "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"
]


def _ser(module, value):
    return module.serialize(value) if value is not None else None


def _read(variable):
    """A variable's value as a tensor (one read, reused by every time step)."""
    return variable.value() if hasattr(variable, "value") else variable


class DropoutRNNCellMixin:
    """Per-sequence dropout masks for a cell (``get_dropout_mask``,
    ``get_recurrent_dropout_mask``, ``reset_dropout_mask``)."""

    def reset_dropout_mask(self):
        """Forgets the input mask (the RNN layer calls this before each sequence)."""
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        """Forgets the recurrent-state mask."""
        self._recurrent_dropout_mask = None

    def _mask_for(self, x, rate):
        return tf.nn.dropout(tf.ones_like(x), rate, seed=self.seed)

    def get_dropout_mask(self, step_input):
        """The input dropout mask for this sequence (drawn on first use)."""
        if getattr(self, "_dropout_mask", None) is None and self.dropout > 0:
            self._dropout_mask = self._mask_for(step_input, self.dropout)
        return getattr(self, "_dropout_mask", None)

    def get_recurrent_dropout_mask(self, step_state):
        """The recurrent-state dropout mask for this sequence (drawn on first use)."""
        if getattr(self, "_recurrent_dropout_mask", None) is None and \
                self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._mask_for(step_state, self.recurrent_dropout)
        return getattr(self, "_recurrent_dropout_mask", None)


class _GatedCell(DropoutRNNCellMixin, Layer):
    """Shared arguments, weights and config of the built-in cells (``gates`` blocks)."""

    gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(**kwargs)
        units = int(units)
        if units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a "
                             f"positive integer, got {units}.")
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = None if recurrent_activation is None else \
            activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self.state_size = units
        self.output_size = units
        self.bias = None

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = tf.TensorShape(input_shape)[-1]
        if input_dim is None:
            raise ValueError(f"The last dimension of the inputs to {type(self).__name__} should "
                             f"be defined. Found None (input shape {input_shape}).")
        g = self.gates * self.units
        self.kernel = self.add_weight(name="kernel", shape=(input_dim, g),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, g),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=self._bias_shape(),
                                        initializer=self._bias_init(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def get_initial_state(self, batch_size=None, dtype=None):
        """Zero states ``[batch, units]``, one per entry of ``state_size``."""
        dtype = dtype or self.dtype
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else \
            [self.state_size]
        return [tf.zeros(tf.stack([batch_size, s]) if tf.is_tensor(batch_size)
                         else [batch_size, s], dtype=dtype) for s in sizes]

    # ---- the sequence fast path ----------------------------------------------------------
    def _input_bias(self):
        return self.bias

    def project_inputs(self, sequences, training=False):
        """``[batch, time, input_dim]`` -> ``[batch, time, gates * units]``: every step's
        input times ``kernel`` (plus the input bias), in one matrix product."""
        x = sequences
        if training and 0 < self.dropout < 1:
            x = x * array_manip.expand_dims(self.get_dropout_mask(x[:, 0]), 1)
        dim = x.shape[-1]
        flat = tf.reshape(x, [-1, dim])
        proj = tf.matmul(flat, self.kernel)
        bias = self._input_bias()
        if bias is not None:
            proj = proj + bias
        shape = tf.shape(x)
        t = x.shape[1] if x.shape[1] is not None else shape[1]
        out = tf.reshape(proj, tf.stack([shape[0], t, self.gates * self.units]))
        if not tf.executing_eagerly():
            out.set_shape([x.shape[0], x.shape[1], self.gates * self.units])
        return out

    def sequence_weights(self):
        """What ``step`` needs from the recurrent kernel, read once per sequence."""
        return _read(self.recurrent_kernel)

    def _recurrent_input(self, h, training):
        if training and 0 < self.recurrent_dropout < 1:
            return h * self.get_recurrent_dropout_mask(h)
        return h

    def call(self, inputs, states, training=False):
        """One step: ``(output, new_states)`` for ``inputs [batch, input_dim]``."""
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        if training and 0 < self.dropout < 1:
            inputs = inputs * self.get_dropout_mask(inputs)
        xp = tf.matmul(inputs, self.kernel)
        if self._input_bias() is not None:
            xp = xp + self._input_bias()
        out, new_states = self.step(xp, states, training)
        return out, (new_states if nested else new_states[0])

    def _base_config(self):
        config = super().get_config()
        config.update({
            "units": self.units, "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": _ser(initializers, self.kernel_initializer),
            "recurrent_initializer": _ser(initializers, self.recurrent_initializer),
            "bias_initializer": _ser(initializers, self.bias_initializer),
            "kernel_regularizer": _ser(regularizers, self.kernel_regularizer),
            "recurrent_regularizer": _ser(regularizers, self.recurrent_regularizer),
            "bias_regularizer": _ser(regularizers, self.bias_regularizer),
            "kernel_constraint": _ser(constraints, self.kernel_constraint),
            "recurrent_constraint": _ser(constraints, self.recurrent_constraint),
            "bias_constraint": _ser(constraints, self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed})
        if self.recurrent_activation is not None:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        return config

    def get_config(self):
        return self._base_config()


class SimpleRNNCell(_GatedCell):
    """Cell of the fully-connected RNN (``keras.layers.SimpleRNNCell(units,
    activation='tanh', use_bias=True, kernel_initializer='glorot_uniform',
    recurrent_initializer='orthogonal', bias_initializer='zeros', kernel_regularizer=None,
    recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
    recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
    seed=None)``).

    ``h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)``; weights ``kernel``
    ``(input_dim, units)``, ``recurrent_kernel`` ``(units, units)``, ``bias``.
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, None, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)

    def step(self, xp, states, training=False, weights=None):
        """The recurrent half of a step; ``xp`` is the projected input and ``weights``
        what ``sequence_weights()`` returned (read once per sequence)."""
        u = self.sequence_weights() if weights is None else weights
        h = self.activation(xp + tf.matmul(self._recurrent_input(states[0], training), u))
        return h, [h]


class LSTMCell(_GatedCell):
    """Cell of the LSTM layer (``keras.layers.LSTMCell(units, activation='tanh',
    recurrent_activation='sigmoid', use_bias=True, kernel_initializer='glorot_uniform',
    recurrent_initializer='orthogonal', bias_initializer='zeros', unit_forget_bias=True,
    ..., dropout=0.0, recurrent_dropout=0.0, seed=None)``).

    With ``z = x @ kernel + h @ recurrent_kernel + bias`` split into ``i, f, c, o``
    blocks: ``c' = sig(f) * c + sig(i) * tanh(c_blk)``, ``h' = sig(o) * tanh(c')``.
    States ``[h, c]``. ``unit_forget_bias`` initializes the forget-gate bias to 1.
    """

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        init, u = self.bias_initializer, self.units

        def bias_initializer(shape, dtype=None, **kwargs):
            return array_manip.concat([init((u,), dtype=dtype), tf.ones([u], dtype=dtype),
                                       init((2 * u,), dtype=dtype)], axis=0)
        return bias_initializer

    def step(self, xp, states, training=False, weights=None):
        """The recurrent half of a step: one matrix product for the four gates, then one
        split (``xp`` is the projected input)."""
        u = self.sequence_weights() if weights is None else weights
        z = xp + tf.matmul(self._recurrent_input(states[0], training), u)
        i, f, g, o = array_manip.split(z, 4, axis=1)
        act, rec = self.activation, self.recurrent_activation
        c = rec(f) * states[1] + rec(i) * act(g)
        h = rec(o) * act(c)
        return h, [h, c]

    def get_config(self):
        config = self._base_config()
        config["unit_forget_bias"] = self.unit_forget_bias
        return config


class GRUCell(_GatedCell):
    """Cell of the GRU layer (``keras.layers.GRUCell(units, activation='tanh',
    recurrent_activation='sigmoid', use_bias=True, kernel_initializer='glorot_uniform',
    recurrent_initializer='orthogonal', bias_initializer='zeros', ..., dropout=0.0,
    recurrent_dropout=0.0, reset_after=True, seed=None)``).

    Gate blocks ``z, r, h``: ``z = sig(x_z + r_z)``, ``r = sig(x_r + r_r)``,
    ``hh = tanh(x_h + r * (h @ U_h + b_rh))`` (``reset_after=True``; else
    ``tanh(x_h + (r * h) @ U_h)``), ``h' = z * h + (1 - z) * hh``. With ``reset_after``
    the bias is ``(2, 3 * units)``: input bias row, recurrent bias row.
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True,
                 seed=None, **kwargs):
        super().__init__(units, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                         seed, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def sequence_weights(self):
        """The recurrent kernel and recurrent bias read once per sequence (the kernel split
        in two blocks when ``reset_after=False``)."""
        u = _read(self.recurrent_kernel)
        if self.reset_after:
            return u, (None if self.bias is None else self.bias[1])
        return tuple(array_manip.split(u, [2 * self.units, self.units], axis=1)), None

    def step(self, xp, states, training=False, weights=None):
        """The recurrent half of a step (``xp`` is the projected input)."""
        h = states[0]
        u, rb = self.sequence_weights() if weights is None else weights
        hr = self._recurrent_input(h, training)
        act, rec = self.activation, self.recurrent_activation
        xz, xr, xh = array_manip.split(xp, 3, axis=1)
        if self.reset_after:
            inner = tf.matmul(hr, u)
            if rb is not None:
                inner = inner + rb
            iz, ir, ih = array_manip.split(inner, 3, axis=1)
            z, r = rec(xz + iz), rec(xr + ir)
            hh = act(xh + r * ih)
        else:
            iz, ir = array_manip.split(tf.matmul(hr, u[0]), 2, axis=1)
            z, r = rec(xz + iz), rec(xr + ir)
            hh = act(xh + tf.matmul(r * hr, u[1]))
        h = z * h + (1 - z) * hh
        return h, [h]

    def get_config(self):
        config = self._base_config()
        config["reset_after"] = self.reset_after
        return config


class StackedRNNCells(Layer):
    """Runs several cells as one (``keras.layers.StackedRNNCells(cells)``): each cell's
    output is the next one's input; the states are the cells' states in order (flat)."""

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if "call" not in dir(cell) or not hasattr(cell, "state_size"):
                raise ValueError(f"All cells must have a `call` method and a `state_size` "
                                 f"attribute. Received cell without these: {cell}")
        self.cells = list(cells)

    @staticmethod
    def _sizes(cell):
        s = cell.state_size
        return list(s) if isinstance(s, (list, tuple)) else [s]

    @property
    def state_size(self):
        """The flat list of every cell's state sizes."""
        return [s for cell in self.cells for s in self._sizes(cell)]

    @property
    def output_size(self):
        """The last cell's output size."""
        last = self.cells[-1]
        return getattr(last, "output_size", self._sizes(last)[0])

    def get_initial_state(self, batch_size=None, dtype=None):
        """Every cell's initial states, flat."""
        out = []
        for cell in self.cells:
            if hasattr(cell, "get_initial_state"):
                out.extend(nest.flatten(cell.get_initial_state(batch_size=batch_size,
                                                               dtype=dtype)))
            else:
                out.extend(tf.zeros(tf.stack([batch_size, s]), dtype=dtype or self.dtype)
                           for s in self._sizes(cell))
        return out

    def build(self, input_shape):
        shape = tf.TensorShape(input_shape).as_list()
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                from numflow.keras.engine import base_layer_utils as utils
                with utils.name_scope(cell.name):
                    cell.build(tf.TensorShape(shape))
                cell.built = True
            out = getattr(cell, "output_size", self._sizes(cell)[0])
            shape = shape[:-1] + [out]
        self.built = True

    def call(self, inputs, states, training=False):
        """One step through every cell."""
        new_states, i = [], 0
        for cell in self.cells:
            n = len(self._sizes(cell))
            cell_states = list(states[i:i + n])
            i += n
            kwargs = {"training": training} if "training" in _call_args(cell) else {}
            inputs, cs = cell.call(inputs, cell_states, **kwargs)
            new_states.extend(nest.flatten(cs))
        return inputs, new_states

    def get_config(self):
        from numflow.keras.utils import generic_utils
        config = super().get_config()
        config["cells"] = [generic_utils.serialize_keras_object(c) for c in self.cells]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _call_args(cell):
    import inspect
    try:
        return inspect.signature(cell.call).parameters
    except (TypeError, ValueError):
        return {}


def deserialize_layer(config, custom_objects=None):
    """A layer (cell) from its ``{'class_name', 'config'}`` dict, looked up among
    numflow's Keras layer classes and ``custom_objects``."""
    from numflow.keras.engine.base_layer import LAYER_CLASSES
    from numflow.keras.utils import generic_utils
    return generic_utils.deserialize_keras_object(
        config, module_objects=LAYER_CLASSES, custom_objects=custom_objects,
        printable_module_name="layer")
