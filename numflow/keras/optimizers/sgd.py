"""``SGD`` and the accumulator-based optimizers ``RMSprop``, ``Adagrad``, ``Adadelta`` and
``Ftrl`` (Keras 3 update rules)."""
import numflow as tf
from numflow.keras.optimizers.adam import _BASE_ARGS
from numflow.keras.optimizers.optimizer import Optimizer


class _Simple(Optimizer):
    """Shared ``update_step`` for optimizers whose per-step scalar is the learning rate."""

    def _coefficients(self, learning_rate, dtype):
        return tf.cast(learning_rate, dtype)

    def update_step(self, gradient, variable, learning_rate):
        """Applies one update to ``variable``."""
        self._update(gradient, variable,
                     self._coefficients(learning_rate, variable.dtype.base_dtype))


class SGD(_Simple):
    __doc__ = f"""Gradient descent with optional (Nesterov) momentum (``tf.keras.optimizers.
    SGD(learning_rate=0.01, momentum=0.0, nesterov=False, {_BASE_ARGS})``).

    Without momentum ``var -= lr * g``; with it ``m = momentum * m - lr * g`` and
    ``var += m`` (Nesterov: ``var += momentum * m - lr * g``).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None,
                 **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        try:
            momentum = float(momentum)
        except (TypeError, ValueError):
            momentum = -1.0
        if not 0.0 <= momentum <= 1.0:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")

    def _update(self, gradient, variable, lr):
        if self.momentum == 0:
            self.assign_sub(variable, gradient * lr)
            return
        m = self.momentums[self._get_variable_index(variable)]
        m = self.assign(m, m * self.momentum - gradient * lr)
        if self.nesterov:
            self.assign_add(variable, m * self.momentum - gradient * lr)
        else:
            self.assign_add(variable, m)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config


class RMSprop(_Simple):
    __doc__ = f"""RMSprop (``tf.keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9,
    momentum=0.0, epsilon=1e-7, centered=False, {_BASE_ARGS})``).

    ``v = rho * v + (1 - rho) * g**2``; the step is ``lr * g / sqrt(v + epsilon)`` (centered:
    ``sqrt(v - mg**2 + epsilon)`` with ``mg`` the moving mean of ``g``), applied directly or
    through a momentum accumulator ``m = momentum * m + step``.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name=None, **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = self.add_optimizer_variables(var_list, "momentum") \
            if self.momentum > 0 else []
        self._average_gradients = self.add_optimizer_variables(var_list, "average_gradient") \
            if self.centered else []

    def _update(self, gradient, variable, lr):
        i = self._get_variable_index(variable)
        rho = self.rho
        velocity = self.assign(self._velocities[i], rho * self._velocities[i] +
                               (1 - rho) * tf.math.square(gradient))
        if self.centered:
            avg = self._average_gradients[i]
            avg = self.assign(avg, rho * avg + (1 - rho) * gradient)
            denominator = velocity - tf.math.square(avg) + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = (lr * gradient) / tf.math.sqrt(denominator)
        if self.momentum > 0:
            m = self._momentums[i]
            m = self.assign(m, self.momentum * m + increment)
            self.assign_sub(variable, m)
        else:
            self.assign_sub(variable, increment)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config


class Adagrad(_Simple):
    __doc__ = f"""Adagrad (``tf.keras.optimizers.Adagrad(learning_rate=0.001,
    initial_accumulator_value=0.1, epsilon=1e-7, {_BASE_ARGS})``).

    ``acc += g**2``; ``var -= lr * g / sqrt(acc + epsilon)``; accumulators start at
    ``initial_accumulator_value``.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name=None, **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(
            var_list, "accumulator", initializer=float(self.initial_accumulator_value))

    def _update(self, gradient, variable, lr):
        acc = self._accumulators[self._get_variable_index(variable)]
        acc = self.assign_add(acc, tf.math.square(gradient))
        self.assign_sub(variable, (lr * gradient) / tf.math.sqrt(acc + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config


class Adadelta(_Simple):
    __doc__ = f"""Adadelta (``tf.keras.optimizers.Adadelta(learning_rate=0.001, rho=0.95,
    epsilon=1e-7, {_BASE_ARGS})``).

    ``Eg = rho * Eg + (1 - rho) * g**2``; ``delta = -sqrt(Ed + eps) * g / sqrt(Eg + eps)``;
    ``Ed = rho * Ed + (1 - rho) * delta**2``; ``var += lr * delta``.
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"])

    def _update(self, gradient, variable, lr):
        i = self._get_variable_index(variable)
        rho, eps = self.rho, self.epsilon
        acc_grad, acc_delta = self._accumulated_grads[i], self._accumulated_delta_vars[i]
        acc_grad = self.assign(acc_grad, rho * acc_grad + (1 - rho) * tf.math.square(gradient))
        delta = -(tf.math.sqrt(acc_delta + eps) * gradient) / tf.math.sqrt(acc_grad + eps)
        self.assign(acc_delta, rho * acc_delta + (1 - rho) * tf.math.square(delta))
        self.assign_add(variable, lr * delta)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config


class Ftrl(_Simple):
    __doc__ = f"""Follow-the-regularized-leader (``tf.keras.optimizers.Ftrl(
    learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
    l1_regularization_strength=0.0, l2_regularization_strength=0.0,
    l2_shrinkage_regularization_strength=0.0, beta=0.0, {_BASE_ARGS})``), with Keras's
    update rule (accumulator ``n``, linear term ``z``)."""

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, name=None, **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        for arg, value in (("initial_accumulator_value", initial_accumulator_value),
                           ("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength",
                            l2_shrinkage_regularization_strength)):
            if value < 0.0:
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: "
                                 f"{arg}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError(f"`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"],
            initializer=[float(self.initial_accumulator_value), "zeros"])

    def _update(self, gradient, variable, lr):
        i = self._get_variable_index(variable)
        accum, linear = self._accumulators[i], self._linears[i]
        power = -self.learning_rate_power
        l2_reg = self.l2_regularization_strength + self.beta / (2.0 * lr)
        grad_to_use = gradient + 2 * self.l2_shrinkage_regularization_strength * variable
        new_accum = accum + tf.math.square(gradient)
        new_accum_pow = tf.math.pow(new_accum, power)
        linear = self.assign_add(
            linear, grad_to_use - (new_accum_pow - tf.math.pow(accum, power)) / lr * variable)
        quadratic = new_accum_pow / lr + 2 * l2_reg
        l1 = self.l1_regularization_strength
        clipped = tf.clip_by_value(linear, -l1, l1)
        self.assign(variable, (clipped - linear) / quadratic)
        self.assign(accum, new_accum)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta})
        return config
