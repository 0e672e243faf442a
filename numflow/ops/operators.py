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


def _elementwise_equality(t):
    """TF2 compares tensors elementwise (eager and tf.function); TF1 graphs by identity."""
    if type(t).__name__ == "EagerTensor":
        return True
    return getattr(t.graph, "is_function_graph", False)


def _equality(negate):
    def method(self, other):
        if other is None or not _elementwise_equality(self):
            return (self is not other) if negate else (self is other)
        import numflow.ops.math_elementwise as me
        try:
            return (me.not_equal if negate else me.equal)(self, other)
        except (TypeError, ValueError):
            return negate
    return method


def install_operators(*classes):
    """Installs the operator table; tensor classes also get TF2's elementwise ``==``."""
    table = operator_table()
    for cls in classes:
        _install(cls, table)


def install_tensor_equality(cls):
    """``==``/``!=`` elementwise for eager and traced tensors, identity in TF1 graphs;
    tensors stay hashable by identity (TF2 makes them unhashable; numflow is lenient)."""
    cls.__eq__ = _equality(False)
    cls.__ne__ = _equality(True)
    cls.__hash__ = lambda self: id(self)
