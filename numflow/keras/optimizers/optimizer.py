"""The Keras 3 ``Optimizer`` base class.

State (``iterations``, the learning rate, slot variables) lives in ``tf.Variable``s and every
update is a variable ``assign*`` op, so ``apply_gradients`` works eagerly and inside a traced
``tf.function`` train step. Slot variables are created on the first ``apply`` in the eager
context (``tf.init_scope``), also when that first call happens while tracing.

Built-in optimizers compute their per-step scalars (learning rate, bias corrections) once per
step and dtype in ``_coefficients`` and apply one update expression per variable in
``_update``; a user subclass may instead override ``update_step(gradient, variable,
learning_rate)`` as in Keras.
"""
import re
import warnings

import numpy as np

import numflow as tf
from numflow.keras.optimizers import schedules as schedules_module


def _snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def _initial_array(initializer, shape, dtype):
    np_dtype = tf.as_dtype(dtype).as_numpy_dtype
    shape = tuple(int(d) for d in shape)
    if initializer is None or initializer == "zeros":
        return np.zeros(shape, np_dtype)
    if initializer == "ones":
        return np.ones(shape, np_dtype)
    if isinstance(initializer, (int, float, np.ndarray)):
        return np.broadcast_to(np.asarray(initializer, np_dtype), shape).copy()
    if isinstance(initializer, (str, dict)):
        from numflow.keras import initializers
        initializer = initializers.get(initializer)
    value = initializer(shape, dtype=dtype)
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value, np_dtype)


def _base_dtype(variable):
    return tf.as_dtype(variable.dtype).base_dtype


class Optimizer:
    """Base class for Keras optimizers (``tf.keras.optimizers.Optimizer(learning_rate,
    weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
    ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
    gradient_accumulation_steps=None, name=None)``).

    Args:
      learning_rate: a float, a ``LearningRateSchedule`` (called with ``iterations``), or a
        callable with no arguments.
      weight_decay: if set, each variable is decayed by ``variable * weight_decay * lr``
        before the update.
      clipnorm / clipvalue / global_clipnorm: clip each gradient's norm, each gradient's
        values, or the norm of all gradients together (only one may be set).
      use_ema, ema_momentum, ema_overwrite_frequency: keep an exponential moving average
        of the trained variables; overwrite them with it every ``ema_overwrite_frequency``
        steps, or at ``finalize_variable_values``.
      loss_scale_factor: ``scale_loss`` multiplies the loss by it and the gradients are
        divided by it before the update.
      gradient_accumulation_steps: update only every N steps, with the mean of the
        gradients accumulated since the last update.
      name: the name prefix of the optimizer's variables.
      decay: (Keras 2) the learning rate is ``lr / (1 + decay * iterations)``; Keras 3
        ignores this argument, numflow applies it as Keras 2 did.
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        self.decay = float(kwargs.pop("decay", None) or 0.0)
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can "
                             f"be set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps and gradient_accumulation_steps < 2:
            raise ValueError(f"`gradient_accumulation_steps` must be an integer >= 2. "
                             f"Received: gradient_accumulation_steps="
                             f"{gradient_accumulation_steps}")
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"`ema_momentum` must be in the range [0, 1]. "
                             f"Received: ema_momentum={ema_momentum}")
        self.name = name or _snake_case(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._index = {}
        self._exclude_ids, self._exclude_pattern = set(), None
        self._update_mask = None
        self._iterations = self._new_variable(np.int64(0), "iteration")
        if isinstance(learning_rate, schedules_module.LearningRateSchedule) or \
                callable(learning_rate):
            self._learning_rate = learning_rate
        else:
            self._learning_rate = self._new_variable(np.float32(_as_float(learning_rate)),
                                                     "learning_rate")

    # ---- variables ------------------------------------------------------------------------
    def _new_variable(self, value, name):
        with tf.init_scope():
            variable = tf.Variable(value, trainable=False, name=f"{self.name}/{name}")
        self._variables.append(variable)
        return variable

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none",
                     name=None):
        """Creates and tracks an optimizer variable of ``shape`` (``"zeros"`` by default)."""
        value = _initial_array(initializer, shape, dtype or "float32")
        return self._new_variable(value, name or "variable")

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """An optimizer variable shaped like ``reference_variable``, named
        ``{reference name}_{name}``."""
        ref = getattr(reference_variable, "path", None) or str(reference_variable.name)
        ref = ref.replace("/", "_").replace(":", "_")
        return self.add_variable(reference_variable.shape, initializer=initializer,
                                 dtype=_base_dtype(reference_variable).name,
                                 name=f"{ref}_{name or 'var'}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot variable per trainable variable for each name in ``name`` (a string or a
        list), created interleaved as Keras does; returns a list (or a tuple of lists)."""
        names = [name] if isinstance(name, str) else list(name)
        inits = initializer if isinstance(initializer, (list, tuple)) else \
            [initializer] * len(names)
        out = tuple([] for _ in names)
        for variable in trainable_variables:
            for i, (n, init) in enumerate(zip(names, inits)):
                out[i].append(self.add_variable_from_reference(variable, n, init))
        return out[0] if isinstance(name, str) else out

    @property
    def variables(self):
        """All optimizer variables: ``iterations``, the learning rate (when a float was
        given), then the slot variables in creation order."""
        return list(self._variables)

    @property
    def iterations(self):
        """The number of update steps applied so far (an int64 ``tf.Variable``); with
        gradient accumulation, the number of actual updates (a tensor)."""
        if self.gradient_accumulation_steps:
            return tf.math.floordiv(self._iterations.value(),
                                    np.int64(self.gradient_accumulation_steps))
        return self._iterations

    def build(self, variables):
        """Creates the slot variables for ``variables``; subclasses extend it."""
        variables = list(variables)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(variables,
                                                                                "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = self.add_optimizer_variables(
                variables, "gradient_accumulator")
        for i, variable in enumerate(variables):
            self._index[id(variable)] = i
        self._trainable_variables = variables
        self.built = True

    def _get_variable_index(self, variable):
        return self._index[id(variable)]

    def get_weights(self):
        """The values of ``variables`` as NumPy arrays."""
        return [np.array(v.numpy(), copy=True) for v in self._variables]

    def set_weights(self, weights):
        """Sets ``variables`` from a list of arrays (the optimizer must be built)."""
        if len(weights) != len(self._variables):
            raise ValueError(f"Optimizer has {len(self._variables)} variables but "
                             f"{len(weights)} weights were given.")
        for variable, w in zip(self._variables, weights):
            w = np.asarray(w)
            if tuple(variable.shape.as_list()) != w.shape:
                raise ValueError(f"Optimizer variable {variable.name} has shape "
                                 f"{variable.shape} not compatible with provided weight "
                                 f"shape {w.shape}.")
            variable.assign(w.astype(_base_dtype(variable).as_numpy_dtype))

    def save_own_variables(self, store):
        """Writes the variables' values into ``store`` under ``"0"``, ``"1"``..."""
        for i, v in enumerate(self._variables):
            store[str(i)] = np.array(v.numpy(), copy=True)

    def load_own_variables(self, store):
        """Reads the variables back from ``store``; warns and skips on a count mismatch."""
        if len(store.keys()) != len(self._variables):
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}', because "
                          f"it has {len(self._variables)} variables whereas the saved "
                          f"optimizer has {len(store.keys())} variables.", stacklevel=2)
            return
        self.set_weights([store[str(i)] for i in range(len(self._variables))])

    # ---- learning rate --------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate: the variable, or the schedule's value at
        ``iterations``, divided by ``1 + decay * iterations`` when the Keras 2 ``decay``
        argument was given. Assigning a float sets the variable; assigning a schedule or
        callable replaces it."""
        lr = self._learning_rate
        if isinstance(lr, schedules_module.LearningRateSchedule):
            lr = lr(self._iterations.value())
        elif not isinstance(lr, tf.Variable):
            lr = lr()
        if self.decay:
            steps = tf.cast(self._iterations.value(), "float32")
            lr = tf.cast(lr, "float32") / (1.0 + self.decay * steps)
        return lr

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        if isinstance(learning_rate, schedules_module.LearningRateSchedule) or \
                callable(learning_rate):
            self._learning_rate = learning_rate
            return
        if not isinstance(self._learning_rate, tf.Variable):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object "
                            "as its `learning_rate` constructor argument, hence its learning "
                            "rate is not settable. If you need the learning rate to be "
                            "settable, you should instantiate the optimizer with a float "
                            "`learning_rate` argument.")
        self._learning_rate.assign(np.float32(_as_float(learning_rate)))

    lr = learning_rate

    def _lr_tensor(self, dtype="float32"):
        return tf.cast(self.learning_rate, dtype)

    # ---- applying gradients ----------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Applies ``(gradient, variable)`` pairs; returns ``iterations`` (in a TF1 graph,
        the update op to run)."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        grads, variables = zip(*pairs)
        op = self.apply(list(grads), list(variables))
        return self._iterations if op is None else op

    def apply(self, grads, trainable_variables=None):
        """Updates ``trainable_variables`` with ``grads`` (one per variable). On the first
        call the optimizer is built for these variables; later calls must pass variables it
        was built with (or none, meaning all of them)."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer "
                                 "must already be built on a list of variables. Call "
                                 "`optimizer.build(trainable_variables)` first.")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(f"When passing `grads` as a list of gradient tensors, the "
                                 f"gradients must match `optimizer.variables` one-to-one. "
                                 f"Received a list of {len(grads)} gradients, but the "
                                 f"optimizer is tracking {len(self._trainable_variables)} "
                                 f"trainable variables.")
            trainable_variables = self._trainable_variables
        else:
            trainable_variables = list(trainable_variables)
            if not self.built:
                self.build(trainable_variables)
                self.built = True
            unknown = [v.name for v in trainable_variables if id(v) not in self._index]
            if unknown:
                raise ValueError(f"Unknown variables {unknown}: this optimizer can only be "
                                 f"called for the variables it was originally built with. "
                                 f"Create a new optimizer for new variables.")
        graph = _tf1_graph()
        first_op = len(graph.get_operations()) if graph is not None else 0
        grads, trainable_variables = self._filter_empty_gradients(grads, trainable_variables)
        grads = [tf.cast(g, _base_dtype(v)) for g, v in zip(grads, trainable_variables)]
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        self._backend_apply_gradients(grads, trainable_variables)
        if graph is None:
            for variable in trainable_variables:
                constraint = getattr(variable, "constraint", None)
                if constraint is not None:
                    variable.assign(constraint(variable))
            self._iterations.assign_add(np.int64(1))
            return None
        # TF1 graph: nothing runs unless fetched, so return one op that runs every update,
        # then the constraints, then the step counter (ordered by control dependencies).
        updates = [op for op in graph.get_operations()[first_op:] if op.type in _ASSIGN_OPS]
        with tf.control_dependencies(updates):
            after = [v.assign(v.constraint(v)) for v in trainable_variables
                     if getattr(v, "constraint", None) is not None]
        with tf.control_dependencies(updates + after):
            increment = self._iterations.assign_add(np.int64(1))
        return tf.group(*updates, *after, increment, name=f"{self.name}_update")

    def _backend_apply_gradients(self, grads, trainable_variables):
        if self.gradient_accumulation_steps:
            steps = self.gradient_accumulation_steps
            step = self._iterations.value() + np.int64(1)
            mask = tf.cast(tf.math.equal(tf.math.floormod(step, np.int64(steps)),
                                         np.int64(0)), "float32")
            new_grads = []
            for g, v in zip(grads, trainable_variables):
                acc = self._accumulated_gradients[self._get_variable_index(v)]
                m = tf.cast(mask, g.dtype)
                total = g + acc.value()
                acc.assign(total * (1.0 - m))
                new_grads.append(total / float(steps))
            grads = new_grads
            self._update_mask = mask
        try:
            grads = self._clip_gradients(grads)
            self._apply_weight_decay(trainable_variables)
            self._backend_update_step(grads, trainable_variables, self.learning_rate)
        finally:
            self._update_mask = None
        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            if self.ema_overwrite_frequency:
                due = tf.math.equal(tf.math.floormod(
                    tf.cast(self.iterations, "int64") + np.int64(1),
                    np.int64(self.ema_overwrite_frequency)), np.int64(0))
                due = tf.cast(due, "float32")
                for var, avg in zip(self._trainable_variables,
                                    self._model_variables_moving_average):
                    d = tf.cast(due, _base_dtype(var))
                    var.assign(d * avg.value() + (1.0 - d) * var.value())

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        cache = {}
        for grad, variable in zip(grads, trainable_variables):
            dtype = _base_dtype(variable)
            if dtype not in cache:
                cache[dtype] = self._coefficients(learning_rate, dtype)
            self._update(grad, variable, cache[dtype])

    def _coefficients(self, learning_rate, dtype):
        """The per-step scalars shared by all variables of ``dtype`` (built-ins override)."""
        return learning_rate

    def _update(self, gradient, variable, coefficients):
        """Updates one variable; the default defers to ``update_step``."""
        self.update_step(gradient, variable, coefficients)

    def update_step(self, gradient, variable, learning_rate):
        """Updates ``variable`` with ``gradient`` (Keras's per-variable hook)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step()")

    # ---- assignment helpers (masked while accumulating gradients) ---------------------------
    def assign(self, variable, value):
        """``variable.assign(value)``, skipped on accumulation-only steps."""
        value = tf.cast(value, _base_dtype(variable))
        if self._update_mask is not None:
            m = tf.cast(self._update_mask, _base_dtype(variable))
            value = m * value + (1.0 - m) * variable.value()
        return variable.assign(value)

    def assign_add(self, variable, value):
        """``variable.assign_add(value)``, skipped on accumulation-only steps."""
        value = tf.cast(value, _base_dtype(variable))
        if self._update_mask is not None:
            value = value * tf.cast(self._update_mask, _base_dtype(variable))
        return variable.assign_add(value)

    def assign_sub(self, variable, value):
        """``variable.assign_sub(value)``, skipped on accumulation-only steps."""
        value = tf.cast(value, _base_dtype(variable))
        if self._update_mask is not None:
            value = value * tf.cast(self._update_mask, _base_dtype(variable))
        return variable.assign_sub(value)

    def _filter_empty_gradients(self, grads, variables):
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            raise ValueError("No gradients provided for any variable.")
        if len(kept) < len(grads):
            missing = [v.name for g, v in zip(grads, variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing "
                          f"the loss. If using `model.compile()`, did you forget to provide "
                          f"a `loss` argument?")
        return [g for g, _ in kept], [v for _, v in kept]

    def _clip_by_norm(self, values):
        l2sum = tf.reduce_sum(tf.math.square(values), keepdims=True)
        positive = l2sum > 0.0
        safe = tf.where(positive, l2sum, tf.ones_like(l2sum))
        l2norm = tf.where(positive, tf.math.sqrt(safe), l2sum)
        return values * self.clipnorm / tf.math.maximum(l2norm, self.clipnorm)

    def _clip_gradients(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return [self._clip_by_norm(g) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            v = self.clipvalue
            return [tf.clip_by_value(g, -v, v) for g in grads]
        return grads

    # ---- weight decay and EMA --------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Excludes ``var_list`` and variables whose name contains one of ``var_names``
        from weight decay; call it before the optimizer is built."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before "
                             "the optimizer is built.")
        self._exclude_ids = {id(v) for v in var_list or []}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern is not None and
                    self._exclude_pattern.search(variable.name))

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        lr = None
        for variable in variables:
            if self._use_weight_decay(variable):
                if lr is None:
                    lr = self._lr_tensor()
                dtype = _base_dtype(variable)
                decay = tf.cast(lr, dtype) * float(self.weight_decay)
                self.assign(variable, variable.value() - variable.value() * decay)

    def _update_model_variables_moving_average(self, trainable_variables):
        not_first = tf.cast(tf.math.not_equal(tf.cast(self.iterations, "int64"),
                                              np.int64(0)), "float32")
        momentum = not_first * float(self.ema_momentum)
        for var, avg in zip(trainable_variables, self._model_variables_moving_average):
            m = tf.cast(momentum, _base_dtype(var))
            avg.assign(m * avg.value() + (1.0 - m) * var.value())

    def finalize_variable_values(self, var_list):
        """Overwrites ``var_list`` with their moving averages when ``use_ema`` is set
        (``fit`` calls this at the end of training)."""
        if self.use_ema:
            for var, avg in zip(var_list, self._model_variables_moving_average):
                var.assign(avg.value())

    # ---- conveniences ----------------------------------------------------------------------
    def minimize(self, loss, var_list, tape=None):
        """Computes gradients of ``loss`` with respect to ``var_list`` and applies them
        (``Optimizer.minimize(loss, var_list, tape=None)``). ``loss`` is a zero-argument
        callable (evaluated under a new tape and scaled by ``scale_loss``), or a tensor
        computed under ``tape`` (scaled by the caller if a ``loss_scale_factor`` is used);
        ``var_list`` may be a callable. Returns ``iterations``; in a TF1 graph the loss
        may be a tensor without a tape, and the update op is returned."""
        if _tf1_graph() is not None and tape is None:      # TF1 graph: symbolic gradients
            loss = self.scale_loss(loss() if callable(loss) else loss)
            var_list = list(var_list() if callable(var_list) else var_list)
            return self.apply_gradients(zip(tf.compat.v1.gradients(loss, var_list), var_list))
        if callable(loss):
            with tf.GradientTape() as tape:
                if callable(var_list):
                    var_list = var_list()
                tape.watch(var_list)
                loss = self.scale_loss(loss())
        elif tape is None:
            raise ValueError("`tape` is required when a `Tensor` loss is passed. Received: "
                             f"loss={loss}, tape={tape}.")
        if callable(var_list):
            var_list = var_list()
        var_list = list(var_list)
        grads = tape.gradient(loss, var_list)
        return self.apply_gradients(zip(grads, var_list))

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` when one is set, else ``loss``."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    def get_config(self):
        """The constructor arguments as a JSON-serialisable dict."""
        lr = self._learning_rate
        if isinstance(lr, schedules_module.LearningRateSchedule):
            lr = schedules_module.serialize(lr)
        elif isinstance(lr, tf.Variable):
            lr = float(np.asarray(lr.numpy()))
        else:
            lr = getattr(lr, "__name__", str(lr))
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps,
                **({"decay": self.decay} if self.decay else {})}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates an optimizer (without state) from ``get_config()``'s output."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_module.deserialize(config["learning_rate"],
                                                                   custom_objects)
        config.pop("is_legacy_optimizer", None)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


_ASSIGN_OPS = ("Assign", "AssignAdd", "AssignSub", "ResourceApplyAdam")


def _tf1_graph():
    """The default graph when building a TF1 graph (not eager, not a tf.function trace)."""
    if tf.executing_eagerly():
        return None
    graph = tf.compat.v1.get_default_graph()
    return None if getattr(graph, "is_function_graph", False) else graph


def _as_float(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    return float(np.asarray(value))


def global_norm(value_list):
    """``sqrt(sum(sum(square(v))))`` over the tensors in ``value_list`` (Nones skipped)."""
    squares = [tf.reduce_sum(tf.math.square(v)) for v in value_list if v is not None]
    return tf.math.sqrt(tf.add_n(squares))


def clip_by_global_norm(value_list, clip_norm):
    """Scales every tensor by ``clip_norm / max(global_norm, clip_norm)``; a non-finite
    global norm makes every value NaN (as Keras)."""
    norm = global_norm(value_list)
    scale = clip_norm * tf.math.minimum(1.0 / norm, 1.0 / clip_norm) + (norm - norm)
    return [v * tf.cast(scale, v.dtype) if v is not None else v for v in value_list]
