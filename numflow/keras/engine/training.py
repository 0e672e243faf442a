"""Model: a Layer with a training loop (``tf.keras.Model``).

``keras.Model(inputs, outputs)`` builds a functional model; subclasses define ``call``.
``compile`` resolves the optimizer, losses and metrics; ``fit`` / ``evaluate`` /
``predict`` batch the data with NumPy and run one step per batch: ``train_step`` traced
once per batch signature by ``tf.function`` (unless ``run_eagerly=True``, which runs it
op by op with the same numbers).
"""
import json

import numpy as np

import numflow as tf
from numflow.framework import nest
from numflow.keras.engine import compile_utils, data_adapter, training_loops
from numflow.keras.engine.base_layer import Layer
from numflow.keras.engine.base_layer_utils import dedup as _dedup


def _is_functional_init(args, kwargs):
    return (len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)
            or ("inputs" in kwargs and "outputs" in kwargs))


def _default(fn):
    fn._is_default = True
    return fn


class Model(Layer):
    """Groups layers into an object with training and inference features
    (``tf.keras.Model``).

    Either ``Model(inputs, outputs, name=None)`` (functional API: ``inputs``/``outputs`` are
    KerasTensors, lists or dicts of them) or a subclass that creates layers in
    ``__init__`` and defines ``call(inputs, training=None)``.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_init(args, kwargs):
            from numflow.keras.engine.functional import Functional
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        from numflow.keras.engine.functional import Functional
        if _is_functional_init(args, kwargs) and not isinstance(self, Functional):
            # A subclass calling super().__init__(inputs, outputs): make it functional.
            cls = type(self)
            self.__class__ = type(cls.__name__, (cls, Functional),
                                  {"__module__": cls.__module__, "__doc__": cls.__doc__})
            Functional.__init__(self, *args, **kwargs)
            return
        if args:
            raise TypeError(f"Model.__init__ got unexpected positional arguments {args}")
        allowed = {"name", "trainable", "dtype", "dynamic", "autocast", "input_shape",
                   "batch_input_shape", "input_dim", "batch_size"}
        bad = [k for k in kwargs if k not in allowed]
        if bad:
            raise TypeError(f"Keyword argument not understood: {bad[0]!r}")
        super().__init__(**kwargs)
        self._init_model_state()

    def _init_model_state(self):
        self._is_compiled = False
        self.optimizer = None
        self.compiled_loss = None
        self.compiled_metrics = None
        self._run_eagerly = None
        self.train_function = None
        self.test_function = None
        self.predict_function = None
        self.stop_training = False
        self.history = None
        self._compile_config = None
        self._eval_data_handler = None

    # ---- structure ---------------------------------------------------------------------------
    @property
    def layers(self):
        """The model's direct sublayers, in order."""
        return list(self._flatten_layers(include_self=False, recursive=False))

    # Keras orders a model's variables layer by layer (``get_weights`` / ``set_weights``
    # and weight files rely on it); its own variables come after its layers'.
    @property
    def weights(self):
        """All variables, layer by layer (each layer's trainable ones, then the rest)."""
        out = []
        for layer in self._flatten_layers(include_self=False, recursive=False):
            out.extend(layer.weights)
        own_t, own_n = self._own_weights()
        return _dedup(out + own_t + own_n)

    @property
    def trainable_weights(self):
        """The trainable variables of the layers, in layer order (empty when frozen)."""
        if not self.trainable:
            return []
        out = []
        for layer in self._flatten_layers(include_self=False, recursive=False):
            out.extend(layer.trainable_weights)
        return _dedup(out + self._own_weights()[0])

    @property
    def non_trainable_weights(self):
        """The non-trainable variables (all of them when the model is frozen)."""
        out = []
        for layer in self._flatten_layers(include_self=False, recursive=False):
            out.extend(layer.non_trainable_weights if self.trainable else layer.weights)
        own_t, own_n = self._own_weights()
        return _dedup(out + (own_n if self.trainable else own_t + own_n))

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def get_layer(self, name=None, index=None):
        """The layer called ``name`` or at position ``index`` of ``layers``.

        Raises:
          ValueError: if no such layer exists or neither argument is given.
        """
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: "
                             f"index={index}, name={name}.")
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in self.layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def call(self, inputs, training=None, mask=None):
        """The model's forward pass; subclasses override it."""
        raise NotImplementedError(
            "Unimplemented `tf.keras.Model.call()`: if you intend to create a `Model` with the "
            "Functional API, please provide `inputs` and `outputs` arguments. Otherwise, "
            "subclass `Model` with an overridden `call()` method.")

    @_default
    def build(self, input_shape):
        """Builds a subclassed model's weights by calling it on placeholders of
        ``input_shape`` (a shape, or a list/dict of shapes)."""
        if self.built or input_shape is None:
            self.built = True
            return
        from numflow.eager.function import FuncGraph
        from numflow.keras.engine.base_layer_utils import shapes_to_structure
        from numflow.ops.array_ops import placeholder
        structure = shapes_to_structure(input_shape)
        with FuncGraph("build_graph").as_default():
            inputs = nest.map_structure(lambda s: placeholder(self._dtype, s), structure)
            self(inputs, training=False)
        self._clear_call_losses()
        self.built = True

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints a table of the layers, their output shapes and parameter counts.

        Raises:
          ValueError: if the model is not built yet.
        """
        from numflow.keras.engine import layer_utils
        if not self.built:
            raise ValueError("This model has not yet been built. Build the model first by "
                             "calling `build()` or by calling the model on a batch of data.")
        layer_utils.print_summary(self, line_length=line_length, positions=positions,
                                  print_fn=print_fn, expand_nested=expand_nested,
                                  show_trainable=show_trainable)

    # ---- compile ------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None,
                jit_compile=None, **kwargs):
        """Configures the model for training.

        Args:
          optimizer: an optimizer or its name (``'adam'``).
          loss: a loss (name, function or Loss), or a list/dict with one per output
            (dict keys are output-layer names).
          metrics: metrics for every output (a list), or a list of lists / dict per output;
            ``'accuracy'``/``'acc'`` pick binary, categorical or sparse categorical accuracy
            from the loss and shapes; history keys use the names as given.
          loss_weights: a list or dict of per-output loss coefficients.
          weighted_metrics: metrics that use ``sample_weight``.
          run_eagerly: run the train step op by op instead of tracing it.
          steps_per_execution, jit_compile: accepted and ignored.
        """
        from numflow.keras import optimizers as optimizers_mod
        kwargs.pop("experimental_steps_per_execution", None)
        kwargs.pop("sample_weight_mode", None)
        if kwargs:
            raise TypeError(f"Invalid keyword argument(s) in `compile()`: {tuple(kwargs)}.")
        self.optimizer = optimizers_mod.get(optimizer)
        output_names = self._output_names_for_compile()
        self.compiled_loss = compile_utils.LossesContainer(loss, loss_weights, output_names)
        self.compiled_metrics = compile_utils.MetricsContainer(metrics, weighted_metrics,
                                                               output_names, losses=loss)
        self._run_eagerly = run_eagerly
        self._is_compiled = True
        self.loss = loss
        self._compile_config = {"optimizer": optimizer, "loss": loss, "metrics": metrics,
                                "loss_weights": loss_weights,
                                "weighted_metrics": weighted_metrics}
        self.train_function = self.test_function = self.predict_function = None

    def _output_names_for_compile(self):
        names = getattr(self, "output_names", None)
        return list(names) if names else ["output_1"]

    @property
    def run_eagerly(self):
        """Whether ``fit``/``evaluate``/``predict`` run op by op (settable)."""
        return bool(self._run_eagerly)

    @run_eagerly.setter
    def run_eagerly(self, value):
        self._run_eagerly = value
        self.train_function = self.test_function = self.predict_function = None

    @property
    def metrics(self):
        """The loss trackers and compiled metrics (built on the first batch)."""
        out = []
        if self.compiled_loss is not None:
            out.extend(self.compiled_loss.metrics)
        if self.compiled_metrics is not None:
            out.extend(self.compiled_metrics.metrics)
        return out

    @property
    def metrics_names(self):
        """The names of ``metrics``: ``['loss', ...]`` as the logs are keyed."""
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        """Resets the state of every metric (done at the start of each epoch)."""
        for m in self.metrics:
            m.reset_state()

    # ---- steps ----------------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """The total loss of a batch: compiled losses plus ``self.losses``."""
        return self.compiled_loss(y, y_pred, sample_weight,
                                  regularization_losses=self.losses)

    def compute_metrics(self, x, y, y_pred, sample_weight):
        """Updates the compiled metrics and returns ``get_metrics_result()``."""
        self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """``{name: result}`` for every metric."""
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        """One training step: forward pass under a GradientTape, loss, optimizer update,
        metrics. Override it to customise ``fit``; returns a dict of logs."""
        x, y, sample_weight = data_adapter.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        self.optimizer.minimize(loss, self.trainable_variables, tape=tape)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        """One evaluation step (forward pass, loss, metrics); returns a dict of logs."""
        x, y, sample_weight = data_adapter.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        self.compute_loss(x, y, y_pred, sample_weight)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """One inference step: ``self(x, training=False)``."""
        x, _, _ = data_adapter.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    def _wrap_step(self, step):
        if self.run_eagerly:
            def eager_step(data):
                return step(nest.map_structure(_to_tensor, data))
            return eager_step
        return tf.function(step)

    def make_train_function(self, force=False):
        """The per-batch callable ``fit`` uses (a traced ``train_step``)."""
        if self.train_function is None or force:
            self.train_function = self._wrap_step(self.train_step)
        return self.train_function

    def make_test_function(self, force=False):
        """The per-batch callable ``evaluate`` uses (a traced ``test_step``)."""
        if self.test_function is None or force:
            self.test_function = self._wrap_step(self.test_step)
        return self.test_function

    def make_predict_function(self, force=False):
        """The per-batch callable ``predict`` uses (a traced ``predict_step``)."""
        if self.predict_function is None or force:
            self.predict_function = self._wrap_step(self.predict_step)
        return self.predict_function

    def _assert_compile_was_called(self):
        if not self._is_compiled:
            raise RuntimeError("You must compile your model before training/testing. Use "
                               "`model.compile(optimizer, loss)`.")

    # ---- loops --------------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
            use_multiprocessing=False):
        """Trains the model for ``epochs`` epochs; returns the History callback.

        ``x``/``y`` may be NumPy arrays, lists or dicts of them (dicts keyed by input /
        output names), a ``tf.data.Dataset`` of ``(x, y[, sample_weight])``, a Python
        generator or a ``keras.utils.Sequence``. ``validation_split`` holds out the last
        fraction of array data; ``validation_data`` is ``(x, y[, sw])`` or a dataset.
        """
        return training_loops.fit(self, x, y, batch_size, epochs, verbose, callbacks,
                                  validation_split, validation_data, shuffle, class_weight,
                                  sample_weight, initial_epoch, steps_per_epoch,
                                  validation_steps, validation_batch_size, validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, max_queue_size=10, workers=1,
                 use_multiprocessing=False, return_dict=False, **kwargs):
        """Returns the loss and metric values on the data (a scalar, a list in
        ``metrics_names`` order, or a dict with ``return_dict=True``)."""
        return training_loops.evaluate(self, x, y, batch_size, verbose, sample_weight, steps,
                                       callbacks, return_dict,
                                       kwargs.pop("_use_cached_eval_dataset", False))

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                max_queue_size=10, workers=1, use_multiprocessing=False):
        """The model's outputs on ``x`` as NumPy arrays (one array per output, in the
        outputs' structure), computed batch by batch."""
        return training_loops.predict(self, x, batch_size, verbose, steps, callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       reset_metrics=True, return_dict=False):
        """Runs one training step on one batch; returns the logs like ``evaluate``."""
        self._assert_compile_was_called()
        adapter = data_adapter.ArrayAdapter(x, y, sample_weight, batch_size=None,
                                            class_weight=class_weight)
        fn = self.make_train_function()
        logs = {}
        for batch in _whole(adapter):
            logs = training_loops.to_python(fn(batch))
        if reset_metrics:
            self.reset_metrics()
        return training_loops.format_logs(self, logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True,
                      return_dict=False):
        """Evaluates one batch; returns the logs like ``evaluate``."""
        self._assert_compile_was_called()
        adapter = data_adapter.ArrayAdapter(x, y, sample_weight)
        fn = self.make_test_function()
        logs = {}
        for batch in _whole(adapter):
            logs = training_loops.to_python(fn(batch))
        if reset_metrics:
            self.reset_metrics()
        return training_loops.format_logs(self, logs, return_dict)

    def predict_on_batch(self, x):
        """The model's outputs for one batch, as NumPy arrays."""
        adapter = data_adapter.ArrayAdapter(x)
        fn = self.make_predict_function()
        out = None
        for batch in _whole(adapter):
            out = nest.map_structure(lambda t: np.asarray(t), fn(batch))
        return out

    # ---- serialization ------------------------------------------------------------------------
    def get_config(self):
        """Subclassed models must override ``get_config`` to be serialized."""
        raise NotImplementedError(
            f"Model {type(self).__name__} is a subclassed Model: implement `get_config()` "
            f"(and `from_config()`) to serialize it, or build it with the functional API.")

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A model from its config: a functional config (``layers``, ``input_layers``,
        ``output_layers``) is rebuilt as a graph; otherwise ``cls(**config)``."""
        from numflow.keras.utils import generic_utils
        if all(k in config for k in ("layers", "input_layers", "output_layers")):
            from numflow.keras.engine import functional_config
            inputs, outputs, _ = functional_config.reconstruct_from_config(config,
                                                                           custom_objects)
            return cls(inputs=inputs, outputs=outputs, name=config.get("name"))
        with generic_utils.CustomObjectScope(custom_objects or {}):
            return cls(**config)

    def to_json(self, **kwargs):
        """The model's architecture as a JSON string (``{'class_name', 'config', ...}``)."""
        return json.dumps(self._serialized_architecture(), **kwargs)

    def to_yaml(self, **kwargs):
        """The model's architecture as a YAML string (needs PyYAML)."""
        try:
            import yaml
        except ImportError:
            raise ImportError("Requires yaml module installed (`pip install pyyaml`).") from None
        return yaml.safe_dump(json.loads(self.to_json()), **kwargs)

    def _serialized_architecture(self):
        config = self.get_config()
        return {"class_name": self._class_name_for_config(), "config": config,
                "keras_version": "2.21.0", "backend": "tensorflow"}

    def _class_name_for_config(self):
        return type(self).__name__

    def _saving(self, what):
        try:
            from numflow.keras import saving
        except ImportError:
            raise NotImplementedError(f"{what} (numflow.keras.saving is not available)") \
                from None
        fn = getattr(saving, what.split("(")[0].strip(), None)
        if fn is None:
            raise NotImplementedError(f"{what} (numflow.keras.saving has no such function)")
        return fn

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None,
             signatures=None, options=None, save_traces=True):
        """Saves the architecture, weights and optimizer state (``.h5`` / ``.keras``)."""
        return self._saving("save_model")(self, filepath, overwrite=overwrite,
                                          include_optimizer=include_optimizer,
                                          save_format=save_format)

    def save_weights(self, filepath, overwrite=True, save_format=None, options=None):
        """Saves the weights (``.h5`` / ``.weights.h5`` or a TF checkpoint prefix)."""
        return self._saving("save_weights")(self, filepath, overwrite=overwrite,
                                            save_format=save_format)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False, options=None):
        """Loads weights saved by ``save_weights`` (or by TensorFlow)."""
        return self._saving("load_weights")(self, filepath, by_name=by_name,
                                            skip_mismatch=skip_mismatch)

    def __reduce__(self):
        raise TypeError("Keras models cannot be pickled; use model.save() instead.")

    def __deepcopy__(self, memo):
        raise TypeError("Keras models cannot be deep-copied; use keras.models.clone_model().")


def _to_tensor(x):
    return tf.convert_to_tensor(x) if isinstance(x, np.ndarray) else x


def _whole(adapter):
    """One batch with all samples of an ArrayAdapter."""
    adapter._batch_size = max(adapter._size, 1)
    adapter._num_batches = 1
    return adapter.epoch_iterator()

