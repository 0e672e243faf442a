"""Normalization layers (``tf.keras.layers.BatchNormalization``, ``LayerNormalization``,
``UnitNormalization``).

BatchNormalization normalizes with the batch statistics and updates its moving statistics
(``moving = moving * momentum + batch * (1 - momentum)``, with the biased batch variance,
as Keras 3 does) only when called with ``training=True`` on a trainable layer; the updates
are ``assign`` ops, so inside ``fit``'s traced train step they run with every step.
Otherwise it normalizes with the moving statistics.
"""
import numflow as tf
from numflow.keras import constraints, initializers, regularizers
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.input_spec import InputSpec
from numflow.ops import array_manip

__all__ = [
    "BatchNormalization", "LayerNormalization", "UnitNormalization"
]


def _axes(axis):
    if isinstance(axis, (list, tuple)):
        return [int(a) for a in axis]
    return [int(axis)]


def _resolve_axes(axes, rank, layer_name):
    out = []
    for a in axes:
        if a < -rank or a >= rank:
            raise ValueError(f"Invalid axis {a} for layer {layer_name}: the input has rank "
                             f"{rank}.")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ValueError(f"Duplicate axis: {axes}")
    return sorted(out)


def _ser(module, value):
    return module.serialize(value) if value is not None else None


class BatchNormalization(Layer):
    """Normalizes each feature with the batch statistics while training and the moving
    statistics at inference (``keras.layers.BatchNormalization(axis=-1, momentum=0.99,
    epsilon=0.001, center=True, scale=True, beta_initializer='zeros',
    gamma_initializer='ones', moving_mean_initializer='zeros',
    moving_variance_initializer='ones', beta_regularizer=None, gamma_regularizer=None,
    beta_constraint=None, gamma_constraint=None, synchronized=False)``).

    ``output = (x - mean) / sqrt(var + epsilon) * gamma + beta``.

    Args:
      axis: the feature axis (or list of axes) that keeps its own statistics.
      momentum: the moving-average decay.
      epsilon: added to the variance.
      center: learn the offset ``beta``.
      scale: learn the factor ``gamma``.
      *_initializer, *_regularizer, *_constraint: for the weights.
      synchronized: accepted (a single device synchronizes trivially).

    Call args:
      inputs: the tensor to normalize.
      training: True uses (and records) the batch statistics; False/None the moving ones.
      mask: optional ``inputs.shape[:-1]`` mask; masked entries do not count in the batch
        statistics.

    Weights, in Keras's order: ``gamma``, ``beta`` (trainable), ``moving_mean``,
    ``moving_variance`` (non-trainable), each of the feature axes' shape.
    """

    _KERAS2_ARGS = {"renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
                    "fused": None, "virtual_batch_size": None, "adjustment": None}

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        for name, default in self._KERAS2_ARGS.items():
            value = kwargs.pop(name, default)
            if name in ("renorm", "virtual_batch_size", "adjustment") and value not in (
                    default, False):
                raise NotImplementedError(f"BatchNormalization({name}={value!r}) is not "
                                          f"supported by numflow")
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else _axes(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.synchronized = bool(synchronized)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = self.beta = None

    def build(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        rank = len(dims)
        self._feature_axes = _resolve_axes(_axes(self.axis), rank, self.name)
        for a in self._feature_axes:
            if dims[a] is None:
                raise ValueError(f"Axis {a} of input tensor should have a defined dimension but "
                                 f"the layer received an input with shape {tuple(dims)}.")
        self._reduction_axes = [i for i in range(rank) if i not in self._feature_axes]
        shape = tuple(dims[a] for a in self._feature_axes)
        # broadcast shape of the statistics against the input
        self._bshape = [dims[i] if i in self._feature_axes else 1 for i in range(rank)]
        self.input_spec = InputSpec(ndim=rank, axes={a: dims[a] for a in self._feature_axes})
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, trainable=True)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, trainable=True)
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape,
                                           initializer=self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer=self.moving_variance_initializer,
                                               trainable=False)
        self.built = True

    def _b(self, v, dtype):
        """A per-feature vector reshaped to broadcast against the input."""
        v = tf.cast(v, dtype) if v.dtype.base_dtype != dtype else v
        if len(self._feature_axes) == 1 and self._feature_axes[0] == len(self._bshape) - 1:
            return v
        return tf.reshape(v, self._bshape)

    def _moments(self, x, mask):
        axes = self._reduction_axes
        if mask is None:
            mean, var = tf.nn.moments(x, axes, keepdims=True)
        else:
            m = tf.cast(array_manip.expand_dims(mask, -1), x.dtype) * tf.ones_like(x)
            count = tf.reduce_sum(m, axis=axes, keepdims=True) + 1e-7
            mean = tf.reduce_sum(x * m, axis=axes, keepdims=True) / count
            var = tf.reduce_sum(tf.square((x - mean) * m), axis=axes, keepdims=True) / count
        shape = [self._bshape[a] for a in self._feature_axes]
        return tf.reshape(mean, shape), tf.reshape(var, shape)

    def call(self, inputs, training=None, mask=None):
        if mask is not None:
            mask = tf.convert_to_tensor(mask)
        if mask is not None and mask.shape.rank is not None and inputs.shape.rank is not None \
                and mask.shape.rank != inputs.shape.rank - 1:
            raise ValueError(f"The mask provided should be one dimension less than the inputs. "
                             f"Received: mask.shape={mask.shape}, inputs.shape={inputs.shape}")
        in_dtype = inputs.dtype.base_dtype
        x = tf.cast(inputs, tf.float32) if in_dtype in (tf.float16,) else inputs
        dtype = x.dtype.base_dtype
        if training is True and self.trainable:
            mean, var = self._moments(x, mask)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + tf.cast(mean, self.moving_mean.dtype)
                                    * (1.0 - m))
            self.moving_variance.assign(self.moving_variance * m + tf.cast(
                var, self.moving_variance.dtype) * (1.0 - m))
        else:
            mean, var = self.moving_mean, self.moving_variance
        inv = tf.math.rsqrt(self._b(var, dtype) + self.epsilon)
        if self.gamma is not None:
            inv = inv * self._b(self.gamma, dtype)
        out = (x - self._b(mean, dtype)) * inv
        if self.beta is not None:
            out = out + self._b(self.beta, dtype)
        return tf.cast(out, in_dtype) if out.dtype.base_dtype != in_dtype else out

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": _ser(initializers, self.beta_initializer),
            "gamma_initializer": _ser(initializers, self.gamma_initializer),
            "moving_mean_initializer": _ser(initializers, self.moving_mean_initializer),
            "moving_variance_initializer": _ser(initializers, self.moving_variance_initializer),
            "beta_regularizer": _ser(regularizers, self.beta_regularizer),
            "gamma_regularizer": _ser(regularizers, self.gamma_regularizer),
            "beta_constraint": _ser(constraints, self.beta_constraint),
            "gamma_constraint": _ser(constraints, self.gamma_constraint),
            "synchronized": self.synchronized})
        return config


class LayerNormalization(Layer):
    """Normalizes each example over ``axis`` (``keras.layers.LayerNormalization(axis=-1,
    epsilon=0.001, center=True, scale=True, rms_scaling=False, beta_initializer='zeros',
    gamma_initializer='ones', beta_regularizer=None, gamma_regularizer=None,
    beta_constraint=None, gamma_constraint=None)``).

    ``output = (x - mean) / sqrt(var + epsilon) * gamma + beta`` with the mean and
    variance of each example over ``axis``; the same in training and inference.

    Args:
      axis: an int or list of ints, the normalized axes (``gamma``/``beta`` have their
        shape).
      epsilon: added to the variance.
      center, scale: learn ``beta`` / ``gamma``.
      rms_scaling: divide by the root mean square instead (no centering; ``gamma`` only).

    Weights: ``gamma`` then ``beta``.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = self.beta = None

    def build(self, input_shape):
        dims = tf.TensorShape(input_shape).as_list()
        self._norm_axes = _resolve_axes(_axes(self.axis), len(dims), self.name)
        shape = tuple(dims[a] for a in self._norm_axes)
        if any(d is None for d in shape):
            raise ValueError(f"LayerNormalization needs static sizes on axes {self._norm_axes}, "
                             f"got input shape {tuple(dims)}")
        self._bshape = [dims[i] if i in self._norm_axes else 1 for i in range(len(dims))]
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(name="gamma", shape=shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint, trainable=True)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(name="beta", shape=shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint, trainable=True)
        self.built = True

    def _b(self, v):
        if self._norm_axes == [len(self._bshape) - 1]:
            return v
        return tf.reshape(v, self._bshape)

    def call(self, inputs):
        in_dtype = inputs.dtype.base_dtype
        x = tf.cast(inputs, tf.float32) if in_dtype == tf.float16 else inputs
        if self.rms_scaling:
            ms = tf.reduce_mean(tf.square(x), axis=self._norm_axes, keepdims=True)
            out = x * tf.math.rsqrt(ms + self.epsilon) * self._b(tf.cast(self.gamma, x.dtype))
        else:
            mean, var = tf.nn.moments(x, self._norm_axes, keepdims=True)
            inv = tf.math.rsqrt(var + self.epsilon)
            if self.gamma is not None:
                inv = inv * self._b(tf.cast(self.gamma, x.dtype))
            out = (x - mean) * inv
            if self.beta is not None:
                out = out + self._b(tf.cast(self.beta, x.dtype))
        return tf.cast(out, in_dtype) if out.dtype.base_dtype != in_dtype else out

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale, "rms_scaling": self.rms_scaling,
            "beta_initializer": _ser(initializers, self.beta_initializer),
            "gamma_initializer": _ser(initializers, self.gamma_initializer),
            "beta_regularizer": _ser(regularizers, self.beta_regularizer),
            "gamma_regularizer": _ser(regularizers, self.gamma_regularizer),
            "beta_constraint": _ser(constraints, self.beta_constraint),
            "gamma_constraint": _ser(constraints, self.gamma_constraint)})
        return config


class UnitNormalization(Layer):
    """Scales each example to unit L2 norm over ``axis``
    (``keras.layers.UnitNormalization(axis=-1)``)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else int(axis)
        self.supports_masking = True

    def call(self, inputs):
        return tf.math.l2_normalize(inputs, axis=self.axis, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        return tf.TensorShape(input_shape)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
