"""Python operators on tensors and variables (``x + y``, ``x @ w``, ``x[1:, ::2]``...).

Installed on Tensor (hence EagerTensor) and Variable; each maps to a public op, with the
reflected forms converting the Python operand to the tensor's dtype.
"""
from numflow.ops import math_ops


def _install(cls, table):
    for name, fn in table.items():
        setattr(cls, name, fn)


def _binary(op, reflected=False):
    if reflected:
        return lambda self, other: op(other, self)
    return lambda self, other: op(self, other)


def _lazy(module, name):
    def call(*args, **kwargs):
        import importlib
        return getattr(importlib.import_module(module), name)(*args, **kwargs)
    return call


def operator_table():
    """The dunder-method -> function table shared by Tensor and Variable."""
    elem = "numflow.ops.math_elementwise"
    floordiv = _lazy(elem, "floordiv")
    mod = _lazy(elem, "floormod")
    pow_ = _lazy(elem, "pow")
    cmp = {name: _lazy(elem, name) for name in
           ("less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
            "logical_xor", "logical_not", "abs")}
    getitem = _lazy("numflow.ops.slicing", "getitem")
    return {
        "__add__": _binary(math_ops.add), "__radd__": _binary(math_ops.add, True),
        "__sub__": _binary(math_ops.subtract), "__rsub__": _binary(math_ops.subtract, True),
        "__mul__": _binary(math_ops.multiply), "__rmul__": _binary(math_ops.multiply, True),
        "__truediv__": _binary(math_ops.truediv), "__rtruediv__": _binary(math_ops.truediv, True),
        "__floordiv__": _binary(floordiv), "__rfloordiv__": _binary(floordiv, True),
        "__mod__": _binary(mod), "__rmod__": _binary(mod, True),
        "__pow__": _binary(pow_), "__rpow__": _binary(pow_, True),
        "__matmul__": _binary(math_ops.matmul), "__rmatmul__": _binary(math_ops.matmul, True),
        "__neg__": lambda self: math_ops.negative(self),
        "__pos__": lambda self: self,
        "__abs__": lambda self: cmp["abs"](self),
        "__lt__": _binary(cmp["less"]), "__le__": _binary(cmp["less_equal"]),
        "__gt__": _binary(cmp["greater"]), "__ge__": _binary(cmp["greater_equal"]),
        "__and__": _binary(cmp["logical_and"]), "__rand__": _binary(cmp["logical_and"], True),
        "__or__": _binary(cmp["logical_or"]), "__ror__": _binary(cmp["logical_or"], True),
        "__xor__": _binary(cmp["logical_xor"]), "__rxor__": _binary(cmp["logical_xor"], True),
        "__invert__": lambda self: cmp["logical_not"](self),
        "__getitem__": lambda self, key: getitem(self, key),
    }


def install_operators(*classes):
    table = operator_table()
    for cls in classes:
        _install(cls, table)
