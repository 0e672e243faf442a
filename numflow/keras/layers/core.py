"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector,
Lambda, Masking, Embedding, Identity (``tf.keras.layers``)."""
import base64
import inspect
import marshal
import types

import numpy as np

import numflow as tf
from numflow.keras import activations, constraints, initializers, regularizers
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.input_spec import InputSpec

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "Permute", "RepeatVector",
           "Masking", "Embedding", "Identity", "Lambda"]


class Dense(Layer):
    """A densely-connected layer: ``activation(dot(inputs, kernel) + bias)``
    (``tf.keras.layers.Dense``).

    Args:
      units: the output size.
      activation: activation function or name (None: linear).
      use_bias: whether to add a bias vector.
      kernel_initializer, bias_initializer: initializers (``'glorot_uniform'``,
        ``'zeros'``).
      kernel_regularizer, bias_regularizer, activity_regularizer: regularizers.
      kernel_constraint, bias_constraint: constraints applied after updates.

    Inputs of rank > 2 are multiplied along their last axis. Weights: ``kernel`` of shape
    ``(input_dim, units)`` and ``bias`` of shape ``(units,)``.
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = int(units) if not isinstance(units, int) else units
        if self.units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units}")
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        last_dim = input_shape[-1] if input_shape.rank else None
        if last_dim is None:
            raise ValueError(f"The last dimension of the inputs to a Dense layer should be "
                             f"defined. Found None. Full input shape received: {input_shape}")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: last_dim})
        self.kernel = self.add_weight("kernel", shape=[last_dim, self.units],
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, dtype=self.dtype,
                                      trainable=True)
        if self.use_bias:
            self.bias = self.add_weight("bias", shape=[self.units],
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, dtype=self.dtype,
                                        trainable=True)
        else:
            self.bias = None
        self.built = True

    def call(self, inputs):
        if inputs.dtype.base_dtype.name != self.dtype:
            inputs = tf.cast(inputs, self.dtype)
        if inputs.shape.rank == 2:
            outputs = tf.matmul(inputs, self.kernel)
        else:
            outputs = tf.tensordot(inputs, self.kernel, [[inputs.shape.rank - 1], [0]])
        if self.use_bias:
            outputs = tf.nn.bias_add(outputs, self.bias)
        if self.activation is not activations.linear:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        return input_shape[:-1].concatenate([self.units])

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units, "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint)})
        return config


class Activation(Layer):
    """Applies an activation function (``tf.keras.layers.Activation(activation)``)."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Dropout(Layer):
    """Randomly sets a fraction ``rate`` of inputs to 0 while training, scaling the rest by
    ``1 / (1 - rate)`` (``tf.keras.layers.Dropout(rate, noise_shape=None, seed=None)``);
    the identity at inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, (int, float)) and not 0 <= rate <= 1:
            raise ValueError(f"Invalid value {rate} received for `rate`, expected a value "
                             f"between 0 and 1.")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = seed
        self.supports_masking = True

    def _get_noise_shape(self, inputs):
        if self.noise_shape is None:
            return None
        concrete = tf.shape(inputs)
        return [concrete[i] if d is None else d for i, d in enumerate(self.noise_shape)]

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return tf.identity(inputs)
        if isinstance(training, tf.Tensor) and not hasattr(training, "numpy"):
            raise NotImplementedError("Dropout with a symbolic `training` tensor")
        return tf.nn.dropout(inputs, rate=self.rate, noise_shape=self._get_noise_shape(inputs),
                             seed=self.seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config


class Flatten(Layer):
    """Flattens every axis but the batch axis (``tf.keras.layers.Flatten(data_format=None)``);
    ``(batch,)`` becomes ``(batch, 1)``."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        from numflow.keras import backend
        self.data_format = data_format or backend.image_data_format()
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        rank = inputs.shape.rank
        if self.data_format == "channels_first" and rank is not None and rank > 1:
            inputs = tf.transpose(inputs, [0] + list(range(2, rank)) + [1])
        if rank == 1:
            return tf.expand_dims(inputs, 1)
        rest = inputs.shape.as_list()[1:] if rank is not None else None
        if rest is not None and all(d is not None for d in rest):
            return tf.reshape(inputs, [-1, int(np.prod(rest)) if rest else 1])
        return tf.reshape(inputs, tf.stack([tf.shape(inputs)[0], -1]))

    def compute_output_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        rest = dims[1:]
        flat = int(np.prod(rest)) if all(d is not None for d in rest) else None
        return tf.TensorShape([dims[0], flat if rest else 1])

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshapes the inputs (batch axis kept) to ``target_shape``; one entry may be -1
    (``tf.keras.layers.Reshape(target_shape)``)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def _fix_unknown_dimension(self, input_shape, output_shape):
        output_shape = list(output_shape)
        msg = (f"total size of new array must be unchanged, input_shape = {list(input_shape)}, "
               f"output_shape = {output_shape}")
        known, unknown = 1, None
        for index, dim in enumerate(output_shape):
            if dim < 0:
                if unknown is None:
                    unknown = index
                else:
                    raise ValueError(f"There must be at most one unknown dimension in "
                                     f"output_shape. Received: output_shape={output_shape}.")
            else:
                known *= dim
        original = int(np.prod(input_shape))
        if unknown is not None:
            if known == 0 or original % known != 0:
                raise ValueError(msg)
            output_shape[unknown] = original // known
        elif original != known:
            raise ValueError(msg)
        return output_shape

    def call(self, inputs):
        rest = inputs.shape.as_list()[1:] if inputs.shape.rank is not None else None
        target = list(self.target_shape)
        if -1 in target and rest is not None and all(d is not None for d in rest):
            target = self._fix_unknown_dimension(rest, target)
        if -1 not in target:
            return tf.reshape(inputs, [-1] + target)
        return tf.reshape(inputs, tf.concat([tf.shape(inputs)[:1], tf.constant(target)], 0))

    def compute_output_shape(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        if None in dims[1:]:
            return tf.TensorShape([dims[0]] + [None if d == -1 else d for d in self.target_shape])
        return tf.TensorShape([dims[0]] + self._fix_unknown_dimension(dims[1:], self.target_shape))

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` are 1-based (``Permute((2, 1))``)."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The set "
                             f"of indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return tf.transpose(inputs, perm=(0,) + self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config


class RepeatVector(Layer):
    """Repeats a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return tf.tile(tf.expand_dims(inputs, 1), [1, self.n, 1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


class Masking(Layer):
    """Masks timesteps whose features all equal ``mask_value``; downstream masking-aware
    layers skip them (``tf.keras.layers.Masking(mask_value=0.0)``)."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.mask_value = mask_value

    def compute_mask(self, inputs, mask=None):
        return tf.reduce_any(tf.not_equal(inputs, tf.cast(self.mask_value, inputs.dtype)),
                             axis=-1)

    def call(self, inputs):
        keep = tf.reduce_any(tf.not_equal(inputs, tf.cast(self.mask_value, inputs.dtype)),
                             axis=-1, keepdims=True)
        return inputs * tf.cast(keep, inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config


class Embedding(Layer):
    """Turns integer indices into dense vectors (``tf.keras.layers.Embedding``).

    Args:
      input_dim: vocabulary size (largest index + 1).
      output_dim: size of each vector.
      embeddings_initializer: initializer of the ``embeddings`` matrix (``'uniform'``).
      embeddings_regularizer, activity_regularizer, embeddings_constraint: as in Dense.
      mask_zero: index 0 is padding; a mask is passed to downstream layers.
      input_length: a fixed sequence length (sets the input shape).
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, activity_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, input_length=None, **kwargs):
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,) if input_length else (None,)
        if int(input_dim) <= 0 or int(output_dim) <= 0:
            raise ValueError(f"Both `input_dim` and `output_dim` should be positive, Received "
                             f"input_dim = {input_dim} and output_dim = {output_dim}")
        kwargs["autocast"] = False
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.input_length = input_length

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            "embeddings", shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer, regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint, dtype=self.dtype)
        self.built = True

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return tf.not_equal(inputs, tf.cast(0, inputs.dtype))

    def call(self, inputs):
        if inputs.dtype.base_dtype.name not in ("int32", "int64"):
            inputs = tf.cast(inputs, "int32")
        return tf.gather(self.embeddings, inputs)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape).concatenate([self.output_dim])

    def get_config(self):
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim, "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero, "input_length": self.input_length})
        return config


class Identity(Layer):
    """Returns its inputs unchanged (``tf.keras.layers.Identity``)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return tf.identity(inputs) if isinstance(inputs, tf.Tensor) else inputs


# ---- Lambda ------------------------------------------------------------------------------------
def func_dump(func):
    """Serializes a Python function's bytecode (Keras's Lambda format)."""
    code = base64.b64encode(marshal.dumps(func.__code__)).decode("ascii")
    closure = tuple(c.cell_contents for c in func.__closure__) if func.__closure__ else None
    return code, func.__defaults__, closure


def func_load(code, defaults=None, closure=None, globs=None):
    """Rebuilds a function from ``func_dump`` output (runs the stored bytecode: only for
    trusted files, under ``SafeModeScope(False)``)."""
    if isinstance(code, (tuple, list)):
        code, defaults, closure = code
        if isinstance(defaults, list):
            defaults = tuple(defaults)

    def cell(value):
        return (lambda: value).__closure__[0]
    if closure is not None:
        closure = tuple(cell(c) for c in closure)
    raw = base64.b64decode(code.encode("ascii") if isinstance(code, str) else code)
    code_obj = marshal.loads(raw)
    return types.FunctionType(code_obj, globs if globs is not None else {"tf": tf},
                              name=code_obj.co_name, argdefs=defaults, closure=closure)


class Lambda(Layer):
    """Wraps an expression as a layer (``tf.keras.layers.Lambda(function,
    output_shape=None, mask=None, arguments=None)``).

    ``function(inputs, **arguments)`` may also accept ``mask`` and ``training``. Configs
    store named functions by name and lambdas as bytecode; loading bytecode is refused
    unless ``SafeModeScope(False)`` (``safe_mode=False`` when loading) is in effect.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = arguments or {}
        self.mask = mask
        self._output_shape = output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_expects_training = "training" in params
        self._fn_expects_mask = "mask" in params
        self.supports_masking = mask is not None

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask:
            kwargs["mask"] = mask
        if self._fn_expects_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        config = super().get_config()
        fn = self.function
        if getattr(fn, "__name__", "<lambda>") == "<lambda>" or not hasattr(fn, "__module__"):
            config.update({"function": func_dump(fn), "function_type": "lambda",
                           "module": getattr(fn, "__module__", None)})
        else:
            config.update({"function": fn.__name__, "function_type": "function",
                           "module": fn.__module__})
        out = self._output_shape
        if callable(out):
            config.update({"output_shape": func_dump(out), "output_shape_type": "lambda"})
        else:
            config.update({"output_shape": out, "output_shape_type": "raw"})
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from numflow.keras.layers.serialization import in_safe_mode
        from numflow.keras.utils import generic_utils
        config = dict(config)
        fn_type = config.pop("function_type", "function")
        config.pop("module", None)
        fn = config["function"]
        if fn_type == "lambda" or isinstance(fn, (list, tuple)):
            if in_safe_mode():
                raise ValueError(
                    "Requested the deserialization of a Lambda layer with a Python `lambda` "
                    "inside it. This carries a potential risk of arbitrary code execution and "
                    "thus it is disallowed by default. If you trust the source of the saved "
                    "model, you can pass `safe_mode=False` to the loading function in order "
                    "to allow Lambda layer loading.")
            config["function"] = func_load(fn)
        else:
            found = generic_utils.get_registered_object(fn, custom_objects)
            if found is None:
                from numflow.keras import activations as acts
                found = acts._ALL.get(fn)
            if found is None:
                raise ValueError(f"Unknown function in Lambda layer config: '{fn}'. Pass it in "
                                 f"`custom_objects`.")
            config["function"] = found
        out_type = config.pop("output_shape_type", "raw")
        config.pop("output_shape_module", None)
        if out_type == "lambda" and config.get("output_shape") is not None:
            if in_safe_mode():
                raise ValueError("Requested the deserialization of a Lambda layer output_shape "
                                 "function; pass `safe_mode=False` to allow it.")
            config["output_shape"] = func_load(config["output_shape"])
        return cls(**config)
