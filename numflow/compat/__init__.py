"""``tf.compat``: the v1 namespace and small compatibility helpers."""
from numflow.framework.tensor_shape import dimension_value  # noqa: F401
from numflow.compat import v1  # noqa: F401
