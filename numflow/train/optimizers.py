"""The TF1 optimizers: GradientDescent, Momentum, Adam, RMSProp, Adagrad, Adadelta.

Each update follows the arithmetic of TF's fused kernel (``ApplyAdam``, ``ApplyMomentum``...)
written with public ops, so results match TF's to float rounding. Hyperparameters may be
Python numbers, tensors or (eagerly) callables; they are cast to each variable's dtype.
"""
from numflow._api.export import export
from numflow.framework import context
from numflow.ops.apply import convert_to_tensor
from numflow.ops.math_elementwise import rsqrt, sqrt, square
from numflow.ops.training_ops import resource_apply_adam
from numflow.train.optimizer import Optimizer, _control_dependencies, _group, as_value, \
    cast_like


def _tensor(value, name):
    if isinstance(value, (int, float)) or not hasattr(value, "dtype"):
        return convert_to_tensor(value, name=name)
    return convert_to_tensor(value)


@export(v1=["train.GradientDescentOptimizer"])
class GradientDescentOptimizer(Optimizer):
    """``tf.compat.v1.train.GradientDescentOptimizer(learning_rate, use_locking=False,
    name="GradientDescent")``: ``var -= learning_rate * grad``."""

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._learning_rate_tensor = None

    def _prepare(self):
        lr = self._call_if_callable(self._learning_rate)
        self._learning_rate_tensor = _tensor(lr, "learning_rate")

    def _apply_dense(self, grad, var):
        return var.assign_sub(grad * cast_like(self._learning_rate_tensor, var))


@export(v1=["train.MomentumOptimizer"])
class MomentumOptimizer(Optimizer):
    """``tf.compat.v1.train.MomentumOptimizer(learning_rate, momentum, use_locking=False,
    name="Momentum", use_nesterov=False)``.

    ``accum = accum * momentum + grad``; ``var -= lr * accum``, or with Nesterov
    ``var -= lr * grad + lr * momentum * accum``. Slot "momentum" (``<var>/Momentum``).
    """

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum",
                 use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        self._learning_rate_tensor = _tensor(self._call_if_callable(self._learning_rate),
                                             "learning_rate")
        self._momentum_tensor = _tensor(self._call_if_callable(self._momentum), "momentum")

    def _apply_dense(self, grad, var):
        lr = cast_like(self._learning_rate_tensor, var)
        mom = cast_like(self._momentum_tensor, var)
        accum = self.get_slot(var, "momentum")
        accum_t = as_value(accum.assign(accum * mom + grad))
        if self._use_nesterov:
            return var.assign_sub(grad * lr + accum_t * mom * lr)
        return var.assign_sub(accum_t * lr)


@export(v1=["train.AdamOptimizer"])
class AdamOptimizer(Optimizer):
    """``tf.compat.v1.train.AdamOptimizer(learning_rate=0.001, beta1=0.9, beta2=0.999,
    epsilon=1e-08, use_locking=False, name="Adam")``.

    TF's update (``ApplyAdam``), with ``beta1_power``/``beta2_power`` the non-slot variables
    holding ``beta^t``::

        lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
        m += (grad - m) * (1 - beta1);  v += (grad**2 - v) * (1 - beta2)
        var -= m * lr_t / (sqrt(v) + epsilon)

    Slots "m" (``<var>/Adam``) and "v" (``<var>/Adam_1``).
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8,
                 use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._lr, self._beta1, self._beta2, self._epsilon = learning_rate, beta1, beta2, epsilon

    def _get_beta_accumulators(self):
        graph = None if context.executing_eagerly() else context.get_default_graph()
        return (self._get_non_slot_variable("beta1_power", graph),
                self._get_non_slot_variable("beta2_power", graph))

    def _create_slots(self, var_list):
        first = min(var_list, key=lambda x: x.name)
        self._create_non_slot_variable(self._call_if_callable(self._beta1), "beta1_power",
                                       first)
        self._create_non_slot_variable(self._call_if_callable(self._beta2), "beta2_power",
                                       first)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _prepare(self):
        self._lr_t = _tensor(self._call_if_callable(self._lr), "learning_rate")
        self._beta1_t = _tensor(self._call_if_callable(self._beta1), "beta1")
        self._beta2_t = _tensor(self._call_if_callable(self._beta2), "beta2")
        self._epsilon_t = _tensor(self._call_if_callable(self._epsilon), "epsilon")

    def _apply_dense(self, grad, var):
        beta1_power, beta2_power = self._get_beta_accumulators()
        return resource_apply_adam(
            var, self.get_slot(var, "m"), self.get_slot(var, "v"),
            cast_like(beta1_power, var), cast_like(beta2_power, var),
            cast_like(self._lr_t, var), cast_like(self._beta1_t, var),
            cast_like(self._beta2_t, var), cast_like(self._epsilon_t, var), grad,
            use_locking=self._use_locking)

    def _finish(self, update_ops, name_scope):
        beta1_power, beta2_power = self._get_beta_accumulators()
        with _control_dependencies(update_ops if not context.executing_eagerly() else []):
            update_beta1 = beta1_power.assign(beta1_power * self._beta1_t)
            update_beta2 = beta2_power.assign(beta2_power * self._beta2_t)
        return _group(list(update_ops) + [update_beta1, update_beta2], name_scope)


@export(v1=["train.RMSPropOptimizer"])
class RMSPropOptimizer(Optimizer):
    """``tf.compat.v1.train.RMSPropOptimizer(learning_rate, decay=0.9, momentum=0.0,
    epsilon=1e-10, use_locking=False, centered=False, name="RMSProp")``.

    TF's update (``ApplyRMSProp``)::

        ms += (grad**2 - ms) * (1 - decay)
        mom = mom * momentum + lr * grad / sqrt(ms + epsilon)
        var -= mom

    Centered: ``mg += (grad - mg) * (1 - decay)`` and the denominator is
    ``sqrt(ms - mg**2 + epsilon)``. Slots "rms" (``<var>/RMSProp``, initialized to ones),
    "mg" (centered only) and "momentum" (the next ``RMSProp_N``).
    """

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10,
                 use_locking=False, centered=False, name="RMSProp"):
        super().__init__(use_locking, name)
        self._learning_rate, self._decay = learning_rate, decay
        self._momentum, self._epsilon, self._centered = momentum, epsilon, centered

    def _create_slots(self, var_list):
        from numflow.train.init_ops import Ones
        for v in var_list:
            dtype = v.dtype.base_dtype
            self._get_or_make_slot_with_initializer(v, Ones(dtype=dtype), v.get_shape(),
                                                    dtype, "rms", self._name)
            if self._centered:
                self._zeros_slot(v, "mg", self._name)
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        c = self._call_if_callable
        self._learning_rate_tensor = _tensor(c(self._learning_rate), "learning_rate")
        self._decay_tensor = _tensor(c(self._decay), "decay")
        self._momentum_tensor = _tensor(c(self._momentum), "momentum")
        self._epsilon_tensor = _tensor(c(self._epsilon), "epsilon")

    def _apply_dense(self, grad, var):
        lr = cast_like(self._learning_rate_tensor, var)
        one_minus_rho = 1 - cast_like(self._decay_tensor, var)
        momentum = cast_like(self._momentum_tensor, var)
        eps = cast_like(self._epsilon_tensor, var)
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        ms_t = as_value(rms.assign(rms + (square(grad) - rms) * one_minus_rho))
        if self._centered:
            mg = self.get_slot(var, "mg")
            mg_t = as_value(mg.assign(mg + (grad - mg) * one_minus_rho))
            denom = ms_t - square(mg_t) + eps
        else:
            denom = ms_t + eps
        mom_t = as_value(mom.assign(mom * momentum + grad * lr / sqrt(denom)))
        return var.assign_sub(mom_t)


@export(v1=["train.AdagradOptimizer"])
class AdagradOptimizer(Optimizer):
    """``tf.compat.v1.train.AdagradOptimizer(learning_rate, initial_accumulator_value=0.1,
    use_locking=False, name="Adagrad")``: ``accum += grad**2; var -= lr * grad /
    sqrt(accum)``. Slot "accumulator" (``<var>/Adagrad``).

    Raises:
      ValueError: ``initial_accumulator_value <= 0``.
    """

    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False,
                 name="Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: "
                             f"{initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list):
        from numflow.train.init_ops import Constant
        for v in var_list:
            dtype = v.dtype.base_dtype
            init = Constant(self._initial_accumulator_value, dtype=dtype)
            self._get_or_make_slot_with_initializer(v, init, v.get_shape(), dtype,
                                                    "accumulator", self._name)

    def _prepare(self):
        self._learning_rate_tensor = _tensor(self._call_if_callable(self._learning_rate),
                                             "learning_rate")

    def _apply_dense(self, grad, var):
        lr = cast_like(self._learning_rate_tensor, var)
        acc = self.get_slot(var, "accumulator")
        acc_t = as_value(acc.assign_add(square(grad)))
        return var.assign_sub(grad * lr * rsqrt(acc_t))


@export(v1=["train.AdadeltaOptimizer"])
class AdadeltaOptimizer(Optimizer):
    """``tf.compat.v1.train.AdadeltaOptimizer(learning_rate=0.001, rho=0.95, epsilon=1e-08,
    use_locking=False, name="Adadelta")``.

    TF's update (``ApplyAdadelta``)::

        accum = accum * rho + grad**2 * (1 - rho)
        update = sqrt(accum_update + epsilon) / sqrt(accum + epsilon) * grad
        var -= update * lr
        accum_update = accum_update * rho + update**2 * (1 - rho)

    Slots "accum" (``<var>/Adadelta``) and "accum_update" (``<var>/Adadelta_1``).
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-8, use_locking=False,
                 name="Adadelta"):
        super().__init__(use_locking, name)
        self._lr, self._rho, self._epsilon = learning_rate, rho, epsilon

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "accum", self._name)
            self._zeros_slot(v, "accum_update", self._name)

    def _prepare(self):
        c = self._call_if_callable
        self._lr_t = _tensor(c(self._lr), "lr")
        self._rho_t = _tensor(c(self._rho), "rho")
        self._epsilon_t = _tensor(c(self._epsilon), "epsilon")

    def _apply_dense(self, grad, var):
        lr, rho = cast_like(self._lr_t, var), cast_like(self._rho_t, var)
        eps = cast_like(self._epsilon_t, var)
        accum, accum_update = self.get_slot(var, "accum"), self.get_slot(var, "accum_update")
        old_update = accum_update.value() if context.executing_eagerly() else accum_update
        accum_t = as_value(accum.assign(accum * rho + square(grad) * (1 - rho)))
        update = sqrt(old_update + eps) * rsqrt(accum_t + eps) * grad
        var_update = var.assign_sub(update * lr)
        update_t = accum_update.assign(old_update * rho + square(update) * (1 - rho))
        if context.executing_eagerly():
            return None
        return _group([var_update, update_t], None)
