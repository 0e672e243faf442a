"""TensorFlow 1.x as the 2016-2019 tutorials wrote it: graph mode on import, and the
pre-1.0 names (``tf.mul``, ``tf.sub``, ``tf.neg``, ``tf.types.float32``,
``tf.initialize_all_variables``, ``tf.all_variables``, ``tf.select``)."""
import sys as _sys
import types as _types

import numflow as _nf
from numflow._api import namespace as _namespace
from numflow.framework import context as _context, dtypes as _dtypes

__version__ = _nf.__version__
_namespace.build(_sys.modules[__name__], "v1")
GradientTape = _nf.GradientTape
_context.disable_eager_execution()

# Pre-1.0 spellings.
mul = multiply  # noqa: F821 - set by the namespace build
sub = subtract  # noqa: F821
neg = negative  # noqa: F821
types = _types.ModuleType(__name__ + ".types")
for _n in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
           "bool", "string", "complex64", "complex128"):
    setattr(types, _n, getattr(_dtypes, _n))


def __getattr__(name):
    if name == "select":
        return _sys.modules[__name__].where
    if name in ("keras", "data"):
        return getattr(_nf, name)
    raise AttributeError(f"module 'numflow.v1' has no attribute {name!r}")
