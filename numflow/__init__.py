"""numflow: TensorFlow's programming model on NumPy.

``import numflow as tf`` behaves like TensorFlow 2 (eager by default, ``tf.keras``,
``tf.data``, ``tf.function``, ``tf.GradientTape``). ``numflow.compat.v1`` is
``tensorflow.compat.v1``; ``numflow.v1`` is TensorFlow 1.x with its pre-1.0 names.
"""
__version__ = "2.21.0"
VERSION = __version__

from numflow._api import modules as _modules, namespace as _namespace  # noqa: E402
import numflow.io  # noqa: E402,F401 - imported before the namespace shadows `io`
import numflow.train  # noqa: E402,F401 - likewise for `train`

_modules.import_all()

from numflow.runtime import allocator as _allocator  # noqa: E402
_allocator.configure()

from numflow.eager.tape import GradientTape  # noqa: E402
from numflow.ops import operators as _operators  # noqa: E402
from numflow.graph.tensor import Tensor as _Tensor  # noqa: E402
from numflow.variables import Variable as _Variable  # noqa: E402

_operators.install_operators(_Tensor, _Variable)
_operators.install_tensor_equality(_Tensor)
_namespace.build(__import__("sys").modules[__name__], "v2")


def __getattr__(name):
    # Heavy subpackages load on first use so `import numflow` stays light.
    if name in ("keras", "data", "compat", "v1", "examples"):
        import importlib
        return importlib.import_module(f"numflow.{name}")
    raise AttributeError(f"module 'numflow' has no attribute {name!r}")
