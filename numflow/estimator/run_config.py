"""``tf.estimator`` value types: ``ModeKeys``, ``EstimatorSpec`` and ``RunConfig``."""
import collections
import copy
import os

from numflow._api.export import export


@export("estimator.ModeKeys", v1=["estimator.ModeKeys"])
class ModeKeys:
    """The three modes a ``model_fn`` is called in (``tf.estimator.ModeKeys``)."""

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


_SPEC_FIELDS = ("mode", "predictions", "loss", "train_op", "eval_metric_ops",
                "export_outputs", "training_chief_hooks", "training_hooks", "scaffold",
                "evaluation_hooks", "prediction_hooks")


@export("estimator.EstimatorSpec", v1=["estimator.EstimatorSpec"])
class EstimatorSpec(collections.namedtuple("EstimatorSpec", _SPEC_FIELDS)):
    """What a ``model_fn`` returns (``tf.estimator.EstimatorSpec(mode, predictions=None,
    loss=None, train_op=None, eval_metric_ops=None, export_outputs=None,
    training_chief_hooks=None, training_hooks=None, scaffold=None, evaluation_hooks=None,
    prediction_hooks=None)``).

    TRAIN needs ``loss`` and ``train_op``; EVAL needs ``loss`` (``eval_metric_ops`` maps
    names to ``(value_tensor, update_op)`` pairs); PREDICT needs ``predictions`` (a tensor
    or a dict of tensors).

    Raises:
      ValueError: when the mode's required fields are missing or a mode is unknown.
    """

    def __new__(cls, mode, predictions=None, loss=None, train_op=None, eval_metric_ops=None,
                export_outputs=None, training_chief_hooks=None, training_hooks=None,
                scaffold=None, evaluation_hooks=None, prediction_hooks=None):
        if mode not in (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT):
            raise ValueError(f"mode={mode!r} is not one of ModeKeys.TRAIN, EVAL, PREDICT.")
        if mode == ModeKeys.TRAIN and train_op is None:
            raise ValueError("Missing train_op.")
        if mode in (ModeKeys.TRAIN, ModeKeys.EVAL) and loss is None:
            raise ValueError("Missing loss.")
        if mode == ModeKeys.PREDICT and predictions is None:
            raise ValueError("Missing predictions.")
        eval_metric_ops = dict(eval_metric_ops or {})
        for name, value in eval_metric_ops.items():
            ok = (isinstance(value, (tuple, list)) and len(value) == 2) or (
                hasattr(value, "update_state") and hasattr(value, "result"))
            if not ok:
                raise TypeError(f"Values of eval_metric_ops must be (metric_value, update_op) "
                                f"tuples or Keras metrics, given: {value!r} for key: {name}")
        return super().__new__(
            cls, mode, predictions, loss, train_op, eval_metric_ops, export_outputs,
            tuple(training_chief_hooks or ()), tuple(training_hooks or ()), scaffold,
            tuple(evaluation_hooks or ()), tuple(prediction_hooks or ()))


_USE_DEFAULT = object()


@export("estimator.RunConfig", v1=["estimator.RunConfig"])
class RunConfig:
    """Configuration of an Estimator's run (``tf.estimator.RunConfig(model_dir=None,
    tf_random_seed=None, save_summary_steps=100, save_checkpoints_steps=None,
    save_checkpoints_secs=600, session_config=None, keep_checkpoint_max=5,
    keep_checkpoint_every_n_hours=10000, log_step_count_steps=100, ...)``).

    Checkpoints are written every ``save_checkpoints_steps`` steps or
    ``save_checkpoints_secs`` seconds (not both) and at the end of ``train``;
    ``keep_checkpoint_max`` most recent ones are kept. Summaries in the model's
    ``tf.compat.v1.summary`` collection are written every ``save_summary_steps``.
    Distribution settings are accepted and ignored (numflow trains in one process).

    Raises:
      ValueError: if both checkpoint intervals are set, or for a negative count.
    """

    def __init__(self, model_dir=None, tf_random_seed=None, save_summary_steps=100,
                 save_checkpoints_steps=_USE_DEFAULT, save_checkpoints_secs=_USE_DEFAULT,
                 session_config=None, keep_checkpoint_max=5,
                 keep_checkpoint_every_n_hours=10000, log_step_count_steps=100,
                 train_distribute=None, device_fn=None, protocol=None, eval_distribute=None,
                 experimental_distribute=None, experimental_max_worker_delay_secs=None,
                 session_creation_timeout_secs=7200, checkpoint_save_graph_def=True):
        if save_checkpoints_steps is _USE_DEFAULT and save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_steps, save_checkpoints_secs = None, 600
        elif save_checkpoints_steps is _USE_DEFAULT:
            save_checkpoints_steps = None
        elif save_checkpoints_secs is _USE_DEFAULT:
            save_checkpoints_secs = None
        if save_checkpoints_steps and save_checkpoints_secs:
            raise ValueError("Can not provide both save_checkpoints_steps and "
                             "save_checkpoints_secs.")
        for name, value in (("save_summary_steps", save_summary_steps),
                            ("keep_checkpoint_max", keep_checkpoint_max),
                            ("log_step_count_steps", log_step_count_steps)):
            if value is not None and value < 0:
                raise ValueError(f"{name} should be >= 0, given: {value}")
        self._model_dir = os.fspath(model_dir) if model_dir is not None else None
        self._tf_random_seed = tf_random_seed
        self._save_summary_steps = save_summary_steps
        self._save_checkpoints_steps = save_checkpoints_steps
        self._save_checkpoints_secs = save_checkpoints_secs
        self._session_config = session_config
        self._keep_checkpoint_max = keep_checkpoint_max
        self._keep_checkpoint_every_n_hours = keep_checkpoint_every_n_hours
        self._log_step_count_steps = log_step_count_steps
        self._train_distribute = train_distribute
        self._eval_distribute = eval_distribute
        self._device_fn = device_fn
        self._protocol = protocol
        self._session_creation_timeout_secs = session_creation_timeout_secs
        self._checkpoint_save_graph_def = checkpoint_save_graph_def

    model_dir = property(lambda self: self._model_dir, doc="The model directory.")
    tf_random_seed = property(lambda self: self._tf_random_seed, doc="The graph seed.")
    save_summary_steps = property(lambda self: self._save_summary_steps)
    save_checkpoints_steps = property(lambda self: self._save_checkpoints_steps)
    save_checkpoints_secs = property(lambda self: self._save_checkpoints_secs)
    session_config = property(lambda self: self._session_config)
    keep_checkpoint_max = property(lambda self: self._keep_checkpoint_max)
    keep_checkpoint_every_n_hours = property(lambda self: self._keep_checkpoint_every_n_hours)
    log_step_count_steps = property(lambda self: self._log_step_count_steps)
    train_distribute = property(lambda self: self._train_distribute)
    eval_distribute = property(lambda self: self._eval_distribute)
    device_fn = property(lambda self: self._device_fn)
    protocol = property(lambda self: self._protocol)
    session_creation_timeout_secs = property(lambda self: self._session_creation_timeout_secs)
    checkpoint_save_graph_def = property(lambda self: self._checkpoint_save_graph_def)
    cluster_spec = property(lambda self: None)
    evaluation_master = property(lambda self: "")
    master = property(lambda self: "")
    is_chief = property(lambda self: True)
    num_ps_replicas = property(lambda self: 0)
    num_worker_replicas = property(lambda self: 1)
    task_id = property(lambda self: 0)
    task_type = property(lambda self: "worker")
    global_id_in_cluster = property(lambda self: 0)
    service = property(lambda self: None)

    def replace(self, **kwargs):
        """A copy with the given properties replaced (``RunConfig.replace``).

        Raises:
          ValueError: for a property that cannot be replaced.
        """
        allowed = {"model_dir", "tf_random_seed", "save_summary_steps",
                   "save_checkpoints_steps", "save_checkpoints_secs", "session_config",
                   "keep_checkpoint_max", "keep_checkpoint_every_n_hours",
                   "log_step_count_steps", "train_distribute", "device_fn", "protocol",
                   "eval_distribute", "session_creation_timeout_secs",
                   "checkpoint_save_graph_def"}
        bad = set(kwargs) - allowed
        if bad:
            raise ValueError(f"Replacing {sorted(bad)} is not supported. Allowed properties "
                             f"are {sorted(allowed)}.")
        new = copy.copy(self)
        if "save_checkpoints_steps" in kwargs and kwargs["save_checkpoints_steps"]:
            new._save_checkpoints_secs = None
        if "save_checkpoints_secs" in kwargs and kwargs["save_checkpoints_secs"]:
            new._save_checkpoints_steps = None
        for key, value in kwargs.items():
            setattr(new, "_" + key, os.fspath(value) if key == "model_dir" and value else value)
        if new._save_checkpoints_steps and new._save_checkpoints_secs:
            raise ValueError("Can not provide both save_checkpoints_steps and "
                             "save_checkpoints_secs.")
        return new

    def __repr__(self):
        keys = ("model_dir", "tf_random_seed", "save_summary_steps", "save_checkpoints_steps",
                "save_checkpoints_secs", "keep_checkpoint_max", "log_step_count_steps")
        return "RunConfig(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in keys) + ")"
