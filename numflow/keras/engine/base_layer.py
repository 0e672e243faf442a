"""Layer: the base class of every Keras layer and model (``tf.keras.layers.Layer``).

A layer creates its weights in ``build(input_shape)``, which runs on the first
``__call__``; ``call(inputs, training=None, mask=None)`` computes the outputs with
numflow's public ops. Called on KerasTensors (functional API) the layer runs ``call`` once
on placeholders inside a scratch graph to learn the output shapes and records a Node.
Weights, sublayers (attributes, lists, dicts) and losses are collected recursively.
"""
import contextlib
import weakref

import numpy as np

import numflow as tf
from numflow.framework import nest
from numflow.keras import backend
from numflow.keras.engine import base_layer_utils as utils
from numflow.keras.engine import input_spec as input_spec_lib
from numflow.keras.engine.keras_tensor import KerasTensor
from numflow.keras.engine.layer_connectivity import ConnectivityMixin
from numflow.keras.utils import generic_utils

_ALLOWED_KWARGS = {"input_dim", "input_shape", "batch_input_shape", "batch_size", "weights",
                   "activity_regularizer", "autocast", "implementation", "dynamic"}
# Attributes whose contents are never sublayers or weights of this layer.
_UNTRACKED = frozenset({"_inbound_nodes", "_outbound_nodes", "optimizer", "history",
                        "compiled_loss", "compiled_metrics", "_call_losses",
                        "_callable_losses", "_trainable_weights", "_non_trainable_weights",
                        "_compile_config", "stop_training", "_metrics",
                        "_made_input_spec"})
LAYER_CLASSES = {}
_CALL_INFO = {}
# id -> weak reference, for the layers whose ``_call_losses`` is not empty (``add_loss`` is
# what fills it): the clearing at the start of every outermost call walks the layer tree
# only when there is one. An entry removes itself when its layer is collected.
_HOLDING_CALL_LOSSES = {}


def _forget_call_losses(key):
    def callback(_ref):
        _HOLDING_CALL_LOSSES.pop(key, None)
    return callback


def _dtype_name(dtype):
    if isinstance(dtype, dict):   # Keras 3 DTypePolicy config
        dtype = dtype.get("config", {}).get("name", "float32")
    if dtype is None:
        return backend.floatx()
    if isinstance(dtype, str) and dtype.startswith("mixed_"):
        return "float32"
    return tf.as_dtype(dtype).name


def _is_variable(x):
    return isinstance(x, tf.Variable)


def _is_metric(x):
    return hasattr(x, "update_state") and hasattr(x, "result")


def _has_keras_tensor(args, kwargs):
    for x in (args + tuple(kwargs.values()) if kwargs else args):
        if isinstance(x, (tf.Tensor, np.ndarray)):    # the common cases: no flattening
            continue
        if isinstance(x, KerasTensor):
            return True
        if nest.is_nested(x) and any(isinstance(y, KerasTensor) for y in nest.flatten(x)):
            return True
    return False


def _autocast(x, target):
    """``x`` cast to the dtype named ``target`` when it is a floating tensor of another."""
    if isinstance(x, tf.Tensor):
        d = x.dtype
        if d.name != target and d.is_floating:
            return tf.cast(x, target)
    return x


class Layer(ConnectivityMixin):
    """The base layer (``tf.keras.layers.Layer``).

    Args:
      trainable: whether the layer's weights are updated by training.
      name: the layer's name (unique default from the class name: ``dense``, ``dense_1``).
      dtype: the dtype of its weights and computations (default ``floatx()``).
      dynamic: accepted for compatibility (every layer may run eagerly).
      **kwargs: ``input_shape``/``batch_input_shape``/``input_dim``/``batch_size`` (the
        first layer of a Sequential creates its Input from them), ``weights`` (initial
        values set after build), ``activity_regularizer``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("numflow.keras."):
            LAYER_CLASSES.setdefault(cls.__name__, cls)

    def __init__(self, trainable=True, name=None, dtype=None, dynamic=False, **kwargs):
        generic_utils.validate_kwargs(kwargs, _ALLOWED_KWARGS)
        self._trainable = bool(trainable)
        self._name = name if name is not None else backend.unique_object_name(
            generic_utils.to_snake_case(type(self).__name__), zero_based=True)
        self._dtype = _dtype_name(dtype)
        self._autocast = kwargs.get("autocast", True)
        self.built = False
        self._input_spec = None
        self.supports_masking = False
        self._dynamic = dynamic
        self._trainable_weights = []
        self._non_trainable_weights = []
        self._call_losses = []
        self._callable_losses = []
        self._inbound_nodes = []
        self._outbound_nodes = []
        self._build_input_shape = None
        self._initial_weights = kwargs.get("weights")
        self._activity_regularizer = None
        if kwargs.get("activity_regularizer") is not None:
            from numflow.keras import regularizers
            self._activity_regularizer = regularizers.get(kwargs["activity_regularizer"])
        if "batch_input_shape" in kwargs or "input_shape" in kwargs or "input_dim" in kwargs:
            if "batch_input_shape" in kwargs:
                batch_input_shape = tuple(kwargs["batch_input_shape"])
            else:
                input_shape = kwargs.get("input_shape")
                if input_shape is None:
                    input_shape = (kwargs["input_dim"],)
                input_shape = (input_shape,) if isinstance(input_shape, int) else input_shape
                batch_input_shape = (kwargs.get("batch_size"),) + tuple(input_shape)
            self._batch_input_shape = batch_input_shape

    # ---- the API subclasses implement -----------------------------------------------------
    def build(self, input_shape):
        """Creates the layer's weights; the default only records the shape."""
        self._build_input_shape = input_shape
        self.built = True

    def call(self, inputs, *args, **kwargs):
        """The layer's computation; the default returns ``inputs`` unchanged."""
        return inputs

    def get_config(self):
        """The constructor arguments as a JSON-friendly dict (base: name, trainable, dtype).

        Raises:
          NotImplementedError: for a subclass whose ``__init__`` takes arguments of its own
            but that does not override ``get_config``.
        """
        if type(self).get_config is Layer.get_config:
            extra = utils.extra_init_args(type(self), Layer.__init__)
            if extra:
                raise NotImplementedError(
                    f"Layer {type(self).__name__} has arguments {extra} in `__init__` and "
                    f"therefore must override `get_config()`.")
        config = {"name": self.name, "trainable": self.trainable}
        if hasattr(self, "_batch_input_shape"):
            config["batch_input_shape"] = self._batch_input_shape
        config["dtype"] = self._dtype
        return config

    @classmethod
    def from_config(cls, config):
        """Creates a layer from ``get_config()``'s output."""
        return cls(**config)

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape``, found by running ``call`` on placeholders
        in a scratch graph (override for layers that cannot be traced)."""
        from numflow.eager.function import FuncGraph
        from numflow.ops.array_ops import placeholder
        structure = utils.shapes_to_structure(input_shape)
        with FuncGraph("keras_shape").as_default():
            inputs = nest.map_structure(lambda s: placeholder(self._dtype, s), structure)
            self._maybe_build(inputs)
            with utils.name_scope(self.name):
                outputs = self.call(inputs)
        return nest.map_structure(lambda t: t.shape, outputs)

    def compute_mask(self, inputs, mask=None):
        """The output mask: the input mask for masking-aware layers, else None."""
        if not self.supports_masking:
            if any(m is not None for m in nest.flatten(mask)):
                raise TypeError(f"Layer {self.name} does not support masking, but was passed "
                                f"an input_mask: {mask}")
            return None
        return mask

    # ---- calling ----------------------------------------------------------------------------
    def _get_call_info(self):
        cls = type(self)
        info = _CALL_INFO.get(cls)
        if info is None:
            info = _CALL_INFO[cls] = utils.call_arg_info(self.call)
        return info

    @property
    def _call_arg_names(self):
        return self._get_call_info()[0]

    @property
    def _expects_training_arg(self):
        info = self._get_call_info()
        return info[1] or info[3]

    @property
    def _expects_mask_arg(self):
        info = self._get_call_info()
        return info[2] or info[3]

    def __call__(self, *args, **kwargs):
        if not args:
            if "inputs" not in kwargs:
                raise ValueError("The first argument to `Layer.call` must always be passed.")
            args = (kwargs.pop("inputs"),)
        if _has_keras_tensor(args, kwargs):
            return self._functional_construction_call(args, kwargs)
        return self._call_impl(args, kwargs)

    def _resolve_training(self, args, kwargs, info):
        names, accepts_training, _, var_kw, default = info
        training, explicit_pos = None, None
        if "training" in kwargs:
            training = kwargs["training"]
        elif accepts_training:
            idx = names.index("training")
            if 0 < idx < len(args):
                explicit_pos = idx
                training = args[idx]
        if training is None:
            stack = utils.call_context.training
            if stack and stack[-1] is not None:
                training = stack[-1]
            elif accepts_training:
                training = default
        if accepts_training or var_kw:
            if explicit_pos is not None:
                args = args[:explicit_pos] + (training,) + args[explicit_pos + 1:]
            elif accepts_training or "training" in kwargs:
                kwargs["training"] = training
        else:
            kwargs.pop("training", None)
        return args, kwargs, training

    def _call_impl(self, args, kwargs):
        ctx = utils.call_context
        inputs = utils.convert_inputs(args[0])
        if self._autocast:
            inputs = self._maybe_cast_inputs(inputs)
        args = (inputs,) + tuple(args[1:])
        kwargs = dict(kwargs)
        if ctx.depth == 0:
            self._clear_call_losses()
        info = _CALL_INFO.get(type(self)) or self._get_call_info()
        args, kwargs, training = self._resolve_training(args, kwargs, info)
        previous_mask = None
        if self.supports_masking or info[2] or info[3]:
            previous_mask = utils.collect_masks(inputs)
            if info[2] and previous_mask is not None and kwargs.get("mask") is None:
                kwargs["mask"] = previous_mask
        input_spec = self._input_spec
        if input_spec is not None:
            input_spec_lib.assert_input_compatibility(input_spec, inputs, self.name)
        ctx.name_stack.append(self.name)
        ctx.training.append(training)
        ctx.depth += 1
        try:
            if not self.built:
                self._maybe_build(inputs)
            if tf.executing_eagerly():
                outputs = self.call(*args, **kwargs)
            else:   # graph ops get the layer's name scope ("dense/MatMul")
                with tf.name_scope(self.name):
                    outputs = self.call(*args, **kwargs)
        finally:
            ctx.depth -= 1
            ctx.training.pop()
            ctx.name_stack.pop()
        if self._activity_regularizer is not None:
            self._handle_activity_regularization(outputs)
        mask = kwargs.get("mask", previous_mask)
        # With the base compute_mask, no input mask gives no output mask: nothing to set.
        if type(self).compute_mask is not Layer.compute_mask or \
                (self.supports_masking and mask is not None):
            self._set_mask_metadata(inputs, outputs, mask)
        return outputs

    def _maybe_cast_inputs(self, inputs):
        target = self._dtype
        if isinstance(inputs, tf.Tensor):
            return _autocast(inputs, target)
        if nest.is_nested(inputs):
            return nest.map_structure(lambda x: _autocast(x, target), inputs)
        return inputs

    def _set_mask_metadata(self, inputs, outputs, previous_mask):
        if all(utils.get_mask(o) is not None for o in nest.flatten(outputs)):
            return
        output_masks = self.compute_mask(inputs, previous_mask)
        if output_masks is None:
            return
        flat_masks = nest.flatten(output_masks)
        for o, m in zip(nest.flatten(outputs), flat_masks):
            utils.set_mask(o, m)

    def _handle_activity_regularization(self, outputs):
        for output in nest.flatten(outputs):
            loss = self._activity_regularizer(output)
            batch = output.shape[0]
            if batch is None:
                batch = tf.cast(tf.shape(output)[0], loss.dtype)
            self.add_loss(loss / batch)

    def _maybe_build(self, inputs):
        if self.built:
            return
        input_shapes = None
        if all(hasattr(x, "shape") for x in nest.flatten(inputs)):
            input_shapes = nest.map_structure(lambda x: tf.TensorShape(x.shape), inputs)
        if not getattr(type(self).build, "_is_default", False):
            stack = utils.call_context.name_stack
            scope = contextlib.nullcontext() if stack and stack[-1] == self.name \
                else utils.name_scope(self.name)
            with tf.init_scope(), scope:
                self.build(input_shapes)
        Layer.build(self, input_shapes)
        if self._initial_weights is not None:
            with tf.init_scope():
                self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _functional_construction_call(self, args, kwargs):
        from numflow.keras.engine import functional_utils
        return functional_utils.symbolic_call(self, args, kwargs)

    # ---- weights ------------------------------------------------------------------------------
    def add_weight(self, name=None, shape=None, dtype=None, initializer=None, regularizer=None,
                   trainable=None, constraint=None, use_resource=None, synchronization=None,
                   aggregation=None, **kwargs):
        """Creates a ``tf.Variable`` owned by this layer, named ``'<layer>/<name>:0'``.

        Args:
          name: the weight's name.
          shape: its shape (default scalar).
          dtype: its dtype (default the layer's).
          initializer: an initializer, its name or a callable (default ``glorot_uniform``
            for floats, ``zeros`` otherwise).
          regularizer: adds ``regularizer(weight)`` to ``layer.losses``.
          trainable: whether training updates it (default True).
          constraint: a projection applied after each optimizer update.

        Returns:
          The variable.
        """
        from numflow.keras import constraints as constraints_lib
        from numflow.keras import initializers as initializers_lib
        from numflow.keras import regularizers as regularizers_lib
        generic_utils.validate_kwargs(kwargs, {"getter", "collections", "experimental_autocast",
                                               "caching_device", "partitioner"})
        shape = () if shape is None else tuple(tf.TensorShape(shape).as_list())
        dtype = tf.as_dtype(dtype or self._dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating else "zeros"
        initializer = initializers_lib.get(initializer)
        regularizer = regularizers_lib.get(regularizer)
        constraint = constraints_lib.get(constraint)
        trainable = True if trainable is None else bool(trainable)
        var_name = utils.scoped_name(name or "Variable")
        with tf.init_scope():
            variable = tf.Variable(lambda: initializer(shape, dtype=dtype), name=var_name,
                                   trainable=trainable, dtype=dtype, constraint=constraint)
        if trainable:
            self._trainable_weights.append(variable)
        else:
            self._non_trainable_weights.append(variable)
        if regularizer is not None:
            self.add_loss(lambda v=variable, r=regularizer: r(v))
        return variable

    def _direct_children(self):
        """Sublayers and attribute variables, in attribute order (recursing into lists,
        tuples and dicts)."""
        layers, variables = [], []
        stack = [iter(list(self.__dict__.items()))]
        seen = set()
        while stack:
            try:
                key, value = next(stack[-1])
            except StopIteration:
                stack.pop()
                continue
            if key in _UNTRACKED or id(value) in seen:
                continue
            if isinstance(value, Layer):
                if value is not self and not _is_metric(value):
                    seen.add(id(value))
                    layers.append(value)
            elif _is_variable(value):
                seen.add(id(value))
                variables.append(value)
            elif isinstance(value, (list, tuple)):
                seen.add(id(value))
                stack.append(iter([(None, v) for v in value]))
            elif isinstance(value, dict):
                seen.add(id(value))
                stack.append(iter([(None, v) for v in value.values()]))
        return layers, variables

    def _flatten_layers(self, include_self=True, recursive=True):
        """Yields this layer (optionally) and its sublayers, depth first, each once."""
        seen = set()
        if include_self:
            seen.add(id(self))
            yield self
        stack = [iter(self._direct_children()[0])]
        while stack:
            try:
                layer = next(stack[-1])
            except StopIteration:
                stack.pop()
                continue
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            yield layer
            if recursive:
                stack.append(iter(layer._direct_children()[0]))

    def _own_weights(self):
        owned = {id(v) for v in self._trainable_weights + self._non_trainable_weights}
        extra = [v for v in self._direct_children()[1] if id(v) not in owned]
        trainable = self._trainable_weights + [v for v in extra if v.trainable]
        non_trainable = self._non_trainable_weights + [v for v in extra if not v.trainable]
        return trainable, non_trainable

    @property
    def trainable_weights(self):
        """The trainable variables of this layer and its sublayers (empty when frozen)."""
        if not self.trainable:
            return []
        weights = list(self._own_weights()[0])
        for layer in self._flatten_layers(include_self=False, recursive=False):
            weights.extend(layer.trainable_weights)
        return utils.dedup(weights)

    @property
    def non_trainable_weights(self):
        """The non-trainable variables (all variables when the layer is frozen)."""
        own_t, own_n = self._own_weights()
        if self.trainable:
            weights = list(own_n)
            for layer in self._flatten_layers(include_self=False, recursive=False):
                weights.extend(layer.non_trainable_weights)
        else:
            weights = own_t + own_n
            for layer in self._flatten_layers(include_self=False, recursive=False):
                weights.extend(layer.weights)
        return utils.dedup(weights)

    @property
    def weights(self):
        """All variables: trainable ones first, then non-trainable ones."""
        return utils.dedup(self.trainable_weights + self.non_trainable_weights)

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def get_weights(self):
        """The current weight values as a list of NumPy arrays."""
        return [np.array(w.numpy(), copy=True) for w in self.weights]

    def set_weights(self, weights):
        """Sets the weights from a list of NumPy arrays (same order and shapes as
        ``get_weights()``)."""
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(f'You called `set_weights(weights)` on layer "{self.name}" with a '
                             f"weight list of length {len(weights)}, but the layer was "
                             f"expecting {len(params)} weights. Provided weights: "
                             f"{str(weights)[:50]}...")
        for param, value in zip(params, weights):
            value = np.asarray(value)
            ref_shape = tuple(param.shape.as_list())
            if ref_shape != value.shape:
                raise ValueError(f"Layer {self.name} weight shape {ref_shape} is not compatible "
                                 f"with provided weight shape {value.shape}.")
            param.assign(value.astype(param.dtype.base_dtype.as_numpy_dtype, copy=False))

    def count_params(self):
        """The number of scalars in the layer's weights.

        Raises:
          ValueError: if the layer is not built yet.
        """
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer {self.name}, but the "
                             f"layer isn't built. You can build it manually via: "
                             f"`{self.name}.build(batch_input_shape)`.")
        return int(sum(int(np.prod(w.shape.as_list())) for w in self.weights))

    # ---- losses -------------------------------------------------------------------------------
    def add_loss(self, losses, inputs=None):
        """Adds loss tensors (or zero-argument callables returning one) to ``losses``."""
        for loss in nest.flatten(losses):
            if loss is None:
                continue
            if isinstance(loss, KerasTensor):
                raise NotImplementedError(
                    "add_loss on symbolic KerasTensors (functional-API model losses) is not "
                    "supported; add the loss inside a custom layer's call instead.")
            if callable(loss):
                self._callable_losses.append(loss)
            else:
                self._call_losses.append(tf.convert_to_tensor(loss))
                if id(self) not in _HOLDING_CALL_LOSSES:
                    _HOLDING_CALL_LOSSES[id(self)] = weakref.ref(
                        self, _forget_call_losses(id(self)))

    @property
    def losses(self):
        """Losses added during the last call (activity regularizers, ``add_loss``) plus
        the weight-regularization penalties, for this layer and its sublayers."""
        collected = []
        for layer in self._flatten_layers():
            collected.extend(layer._call_losses)
            for fn in layer._callable_losses:
                value = fn()
                if value is not None:
                    collected.append(value)
        return collected

    def _clear_call_losses(self):
        if not _HOLDING_CALL_LOSSES:
            return
        for layer in self._flatten_layers():
            if layer._call_losses:
                layer._call_losses = []
                _HOLDING_CALL_LOSSES.pop(id(layer), None)

    @property
    def metrics(self):
        """Metric objects tracked by the layer (none for plain layers)."""
        return []

    @property
    def updates(self):
        """Kept for old code: updates run inside ``call`` in TF2."""
        return []

    # ---- properties --------------------------------------------------------------------------
    @property
    def name(self):
        """The layer's name."""
        return self._name

    @property
    def dtype(self):
        """The dtype of the layer's weights (``'float32'``...)."""
        return self._dtype

    @property
    def compute_dtype(self):
        """The dtype of the layer's computations."""
        return self._dtype

    variable_dtype = dtype

    @property
    def dynamic(self):
        """Whether the layer was declared dynamic (informational)."""
        return self._dynamic

    @property
    def trainable(self):
        """Whether training updates the layer's weights; setting it sets it for sublayers."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        for layer in self._flatten_layers():
            layer._trainable = bool(value)

    @property
    def input_spec(self):
        """The InputSpec (or list of them) that inputs are checked against."""
        return self._input_spec

    @input_spec.setter
    def input_spec(self, value):
        for v in nest.flatten(value):
            if v is not None and not isinstance(v, input_spec_lib.InputSpec):
                raise TypeError(f"Layer input_spec must be an instance of InputSpec. Got: {v}")
        self._input_spec = value

    @property
    def activity_regularizer(self):
        """The regularizer applied to the layer's outputs."""
        return self._activity_regularizer

    @activity_regularizer.setter
    def activity_regularizer(self, regularizer):
        self._activity_regularizer = regularizer

    @property
    def stateful(self):
        """Whether the layer keeps state between batches (RNNs with ``stateful=True``)."""
        return getattr(self, "_stateful", False)

    @stateful.setter
    def stateful(self, value):
        self._stateful = value

    @property
    def submodules(self):
        """Every sublayer, recursively."""
        return tuple(self._flatten_layers(include_self=False))
