"""The Adam family: ``Adam``, ``AdamW``, ``Adamax`` and ``Nadam`` (Keras 3 update rules)."""
import numpy as np

import numflow as tf
from numflow.keras.optimizers.optimizer import Optimizer

_BASE_ARGS = ("weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, "
              "use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, "
              "loss_scale_factor=None, gradient_accumulation_steps=None, name=None")


def _step(optimizer, dtype, offset=1):
    """``iterations + offset`` as a float scalar of ``dtype``."""
    return tf.cast(tf.cast(optimizer.iterations, "int64") + np.int64(offset), dtype)


class Adam(Optimizer):
    __doc__ = f"""Adam: adaptive moment estimation (``tf.keras.optimizers.Adam(
    learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
    {_BASE_ARGS})``).

    With ``t = iterations + 1`` and ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``:
    ``m += (g - m) * (1 - beta_1)``, ``v += (g**2 - v) * (1 - beta_2)``,
    ``var -= m * alpha / (sqrt(v) + epsilon)`` (epsilon is "epsilon hat" of the paper).
    ``amsgrad`` uses the running maximum of ``v``.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name=None, **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _coefficients(self, learning_rate, dtype):
        t = _step(self, dtype)
        return (tf.cast(learning_rate, dtype), tf.math.pow(tf.cast(self.beta_1, dtype), t),
                tf.math.pow(tf.cast(self.beta_2, dtype), t))

    def _update(self, gradient, variable, coefficients):
        lr, beta_1_power, beta_2_power = coefficients
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        if not self.amsgrad and self._update_mask is None:
            # One fused in-place kernel: the same arithmetic as the branch below.
            tf.raw_ops.ResourceApplyAdam(
                var=variable.handle, m=m.handle, v=v.handle, beta1_power=beta_1_power,
                beta2_power=beta_2_power, lr=lr, beta1=self.beta_1, beta2=self.beta_2,
                epsilon=self.epsilon, grad=gradient)
            return
        alpha = lr * tf.math.sqrt(1.0 - beta_2_power) / (1.0 - beta_1_power)
        m = self.assign_add(m, (gradient - m) * (1.0 - self.beta_1))
        v = self.assign_add(v, (tf.math.square(gradient) - v) * (1.0 - self.beta_2))
        if self.amsgrad:
            v_hat = self._velocity_hats[i]
            v = self.assign(v_hat, tf.math.maximum(v_hat, v))
        self.assign_sub(variable, (m * alpha) / (tf.math.sqrt(v) + self.epsilon))

    def update_step(self, gradient, variable, learning_rate):
        """Applies one Adam update to ``variable``."""
        self._update(gradient, variable,
                     self._coefficients(learning_rate, variable.dtype.base_dtype))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    __doc__ = f"""Adam with decoupled weight decay (``tf.keras.optimizers.AdamW(
    learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    amsgrad=False, clipnorm=None, ..., name=None)``).

    Before each Adam update, ``var -= var * weight_decay * lr``; see ``Adam``. Other
    arguments: {_BASE_ARGS}.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name=None, **kwargs):
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, name=name, weight_decay=weight_decay, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")


class Adamax(Optimizer):
    __doc__ = f"""Adamax, the infinity-norm variant of Adam (``tf.keras.optimizers.Adamax(
    learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, {_BASE_ARGS})``).

    ``m += (g - m) * (1 - beta_1)``, ``u = max(beta_2 * u, |g|)``,
    ``var -= lr * m / ((1 - beta_1**t) * (u + epsilon))`` with ``t = iterations + 1``.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name=None, **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _coefficients(self, learning_rate, dtype):
        lr = tf.cast(learning_rate, dtype)
        t = _step(self, dtype)
        return lr, 1.0 - tf.math.pow(tf.cast(self.beta_1, dtype), t)

    def _update(self, gradient, variable, coefficients):
        lr, correction = coefficients
        i = self._get_variable_index(variable)
        m, u = self._m[i], self._u[i]
        m = self.assign_add(m, (gradient - m) * (1.0 - self.beta_1))
        u = self.assign(u, tf.math.maximum(self.beta_2 * u, tf.math.abs(gradient)))
        self.assign_sub(variable, (lr * m) / (correction * (u + self.epsilon)))

    def update_step(self, gradient, variable, learning_rate):
        """Applies one Adamax update to ``variable``."""
        self._update(gradient, variable,
                     self._coefficients(learning_rate, variable.dtype.base_dtype))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


class Nadam(Optimizer):
    __doc__ = f"""Adam with Nesterov momentum (``tf.keras.optimizers.Nadam(learning_rate=0.001,
    beta_1=0.9, beta_2=0.999, epsilon=1e-7, {_BASE_ARGS})``).

    Uses the momentum schedule ``u_t = beta_1 * (1 - 0.5 * 0.96**t)`` and its running
    product, as Keras does.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name=None, **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        dtype = var_list[0].dtype.base_dtype.name if var_list else "float32"
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])
        self._u_product = self.add_variable((), initializer="ones", dtype=dtype,
                                            name="u_product")

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        dtype = self._u_product.dtype.base_dtype
        t = _step(self, dtype)
        decay = self.beta_1 * (1.0 - 0.5 * tf.math.pow(tf.cast(0.96, dtype), t))
        self.assign(self._u_product, self._u_product * decay)
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def _coefficients(self, learning_rate, dtype):
        lr = tf.cast(learning_rate, dtype)
        t, t_next = _step(self, dtype), _step(self, dtype, 2)
        decay = tf.cast(0.96, dtype)
        b1 = tf.cast(self.beta_1, dtype)
        u_t = b1 * (1.0 - 0.5 * tf.math.pow(decay, t))
        u_t_1 = b1 * (1.0 - 0.5 * tf.math.pow(decay, t_next))
        u_product_t = tf.cast(self._u_product.value(), dtype)
        u_product_t_1 = u_product_t * u_t_1
        beta_2_power = tf.math.pow(tf.cast(self.beta_2, dtype), t)
        return lr, u_t, u_t_1, u_product_t, u_product_t_1, beta_2_power

    def _update(self, gradient, variable, coefficients):
        lr, u_t, u_t_1, u_product_t, u_product_t_1, beta_2_power = coefficients
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        m = self.assign_add(m, (gradient - m) * (1.0 - self.beta_1))
        v = self.assign_add(v, (tf.math.square(gradient) - v) * (1.0 - self.beta_2))
        m_hat = (u_t_1 * m) / (1.0 - u_product_t_1) + ((1.0 - u_t) * gradient) / \
            (1.0 - u_product_t)
        v_hat = v / (1.0 - beta_2_power)
        self.assign_sub(variable, (m_hat * lr) / (tf.math.sqrt(v_hat) + self.epsilon))

    def update_step(self, gradient, variable, learning_rate):
        """Applies one Nadam update to ``variable`` (``_u_product`` must already be advanced
        for this step, as ``apply`` does)."""
        self._update(gradient, variable,
                     self._coefficients(learning_rate, variable.dtype.base_dtype))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
