"""``tensorflow.compat.v1``: TF1 names; eager until ``disable_eager_execution()`` /
``disable_v2_behavior()`` is called, as in real TensorFlow."""
import sys as _sys

import numflow as _nf  # registers every op and name
from numflow._api import namespace as _namespace

__version__ = _nf.__version__
_namespace.build(_sys.modules[__name__], "v1")
GradientTape = _nf.GradientTape


def __getattr__(name):
    if name in ("keras", "data"):
        return getattr(_nf, name)
    raise AttributeError(f"module 'numflow.compat.v1' has no attribute {name!r}")
