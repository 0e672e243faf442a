"""Learning-rate schedules (``tf.keras.optimizers.schedules``): callables ``step -> lr``
written with numflow ops, so they evaluate eagerly or inside a traced train step."""
import math

import numflow as tf
from numflow.keras.losses import divide_no_nan


class LearningRateSchedule:
    """Base class of learning-rate schedules (``tf.keras.optimizers.schedules.
    LearningRateSchedule``): subclasses implement ``__call__(step)`` returning the learning
    rate for an (int or tensor) step, and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  f"override `__call__(self, step)`.")

    def get_config(self):
        """The constructor arguments as a JSON-serialisable dict."""
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  f"override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        """Rebuilds the schedule from ``get_config()``'s output."""
        return cls(**config)


def _check_steps(value, arg):
    if value <= 0:
        raise ValueError(f"Argument `{arg}` must be > 0. Received: {arg}={value}")


def _float_step(step, dtype):
    return tf.cast(step, dtype)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (``tf.keras.optimizers.
    schedules.ExponentialDecay(initial_learning_rate, decay_steps, decay_rate,
    staircase=False, name="ExponentialDecay")``); ``staircase`` floors the exponent."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _check_steps(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        lr = tf.cast(self.initial_learning_rate, "float32")
        p = _float_step(step, lr.dtype) / tf.cast(self.decay_steps, lr.dtype)
        if self.staircase:
            p = tf.math.floor(p)
        return lr * tf.math.pow(tf.cast(self.decay_rate, lr.dtype), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` for ``boundaries[i-1] < step <= boundaries[i]`` (``tf.keras.optimizers.
    schedules.PiecewiseConstantDecay(boundaries, values, name="PiecewiseConstant")``);
    ``values`` has one more entry than ``boundaries``."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"The length of boundaries should be 1 less than the length of "
                             f"values. Received: boundaries={boundaries} of length "
                             f"{len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        values = [tf.cast(v, "float32") for v in self.values]
        step = tf.cast(step, "float32")
        bounds = [float(b) for b in self.boundaries]
        result = tf.cast(step <= bounds[0], "float32") * values[0]
        result += tf.cast(step > bounds[-1], "float32") * values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            inside = tf.math.logical_and(step > low, step <= high)
            result += tf.cast(inside, "float32") * value
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end`` with the step capped at
    ``decay_steps`` (``tf.keras.optimizers.schedules.PolynomialDecay(initial_learning_rate,
    decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
    name="PolynomialDecay")``); ``cycle`` stretches ``decay_steps`` to the next multiple
    instead."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_steps(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        lr = tf.cast(self.initial_learning_rate, "float32")
        end = tf.cast(self.end_learning_rate, "float32")
        step = _float_step(step, "float32")
        decay_steps = tf.cast(self.decay_steps, "float32")
        if self.cycle:
            multiplier = tf.where(tf.math.equal(step, 0.0), tf.ones_like(step),
                                  tf.math.ceil(step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = tf.math.minimum(step, decay_steps)
        p = step / decay_steps
        return (lr - end) * tf.math.pow(1.0 - p, tf.cast(self.power, "float32")) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (``tf.keras.
    optimizers.schedules.InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate,
    staircase=False, name="InverseTimeDecay")``); ``staircase`` floors the ratio."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        _check_steps(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        lr = tf.cast(self.initial_learning_rate, "float32")
        p = _float_step(step, "float32") / tf.cast(self.decay_steps, "float32")
        if self.staircase:
            p = tf.math.floor(p)
        return lr / (1.0 + tf.cast(self.decay_rate, "float32") * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay with optional linear warmup (``tf.keras.optimizers.schedules.
    CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
    warmup_target=None, warmup_steps=0)``).

    Decay: ``lr * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha)`` with the
    step capped at ``decay_steps``. With ``warmup_target`` the rate first rises linearly from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then decays from it.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_steps(decay_steps, "decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step, decay_steps, decay_from):
        fraction = step / decay_steps
        cosine = 0.5 * (1.0 + tf.math.cos(math.pi * fraction))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        lr = tf.cast(self.initial_learning_rate, "float32")
        decay_steps = tf.cast(self.decay_steps, "float32")
        step = _float_step(step, "float32")
        if self.warmup_target is None:
            return self._decay(tf.math.minimum(step, decay_steps), decay_steps, lr)
        target = tf.cast(self.warmup_target, "float32")
        warmup_steps = tf.cast(self.warmup_steps, "float32")
        step = tf.math.minimum(step, decay_steps + warmup_steps)
        warm = (target - lr) * divide_no_nan(step, warmup_steps) + lr
        decayed = self._decay(step - warmup_steps, decay_steps, target)
        return tf.where(step < warmup_steps, warm, decayed)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR) (``tf.keras.optimizers.schedules.
    CosineDecayRestarts(initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
    alpha=0.0, name="SGDRDecay")``): period ``i`` lasts ``first_decay_steps * t_mul**i``
    steps and starts at ``initial_learning_rate * m_mul**i``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _check_steps(first_decay_steps, "first_decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        lr = tf.cast(self.initial_learning_rate, "float32")
        fraction = _float_step(step, "float32") / float(self.first_decay_steps)
        if self._t_mul == 1.0:
            i_restart = tf.math.floor(fraction)
            fraction = fraction - i_restart
        else:
            t_mul = float(self._t_mul)
            i_restart = tf.math.floor(tf.math.log(1.0 - fraction * (1.0 - t_mul)) /
                                      math.log(t_mul))
            sum_r = (1.0 - tf.math.pow(t_mul, i_restart)) / (1.0 - t_mul)
            fraction = (fraction - sum_r) / tf.math.pow(t_mul, i_restart)
        m_fac = tf.math.pow(tf.cast(self._m_mul, "float32"), i_restart)
        cosine = 0.5 * m_fac * (1.0 + tf.math.cos(math.pi * fraction))
        return lr * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay,
                                      PolynomialDecay, InverseTimeDecay, CosineDecay,
                                      CosineDecayRestarts)}


def serialize(learning_rate_schedule):
    """``{"module", "class_name", "config", "registered_name"}`` for a schedule
    (``tf.keras.optimizers.schedules.serialize``)."""
    return {"module": "keras.optimizers.schedules",
            "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Rebuilds a schedule from ``serialize``'s output (``tf.keras.optimizers.schedules.
    deserialize(config, custom_objects=None)``); class names are looked up only among the
    built-in schedules and ``custom_objects``."""
    table = dict(_SCHEDULES)
    table.update(custom_objects or {})
    cls = table.get(config.get("class_name")) or table.get(config.get("registered_name") or "")
    if cls is None:
        raise ValueError(f"Unknown decay: '{config.get('class_name')}'")
    return cls.from_config(dict(config.get("config") or {}))
