"""``tf.estimator``: ``Estimator``, ``RunConfig``, ``EstimatorSpec``, ``ModeKeys`` and the
session-run hooks (TF removed Estimators in 2.16; numflow keeps them). The public names
live on ``tf.estimator``."""
from numflow.estimator import estimator, hooks, run_config  # noqa: F401
from numflow.estimator.estimator import Estimator  # noqa: F401
from numflow.estimator.hooks import (  # noqa: F401
    LoggingTensorHook, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues,
    StopAtStepHook)
from numflow.estimator.run_config import EstimatorSpec, ModeKeys, RunConfig  # noqa: F401
