"""numflow's summary writing: TF2 ``tf.summary`` (:mod:`numflow.summary.writer`) and TF1
``tf.compat.v1.summary`` (:mod:`numflow.summary.v1`). The public names live on ``tf.summary``
and ``tf.compat.v1.summary``."""
from numflow.summary import v1, writer  # noqa: F401
