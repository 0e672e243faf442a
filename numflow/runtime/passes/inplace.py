"""Buffer reuse: an elementwise node may write its result into the buffer of an input
that dies there, instead of allocating a new array (the NumPy form of fusing a chain of
elementwise ops: ``(g - m) * c`` then reuses one buffer, which stays in cache).

This pass marks the candidates (``node.inplace``: the input indices whose buffer the
result could take). The executor turns a mark into a reuse only where the input's last
reader is this node, and at run time only when the array is one the plan made and
nobody else holds: it owns its memory (not a view), is writable, has the result's dtype
and shape, and its reference count shows no other holder (a fetched value, a feed,
a constant, a variable's stored value, an EagerTensor all hold one). Otherwise the op's
own kernel runs. Either way the numbers are identical: the same NumPy function computes
them, only the destination differs.
"""
import numpy as np

from numflow.runtime.passes import register


def _quiet(fn, **errstate):
    def run(*args, out):
        with np.errstate(**errstate):
            return fn(*args, out=out)
    return run


def _square(x, out):
    return np.multiply(x, x, out=out)


def _relu(x, out):
    return np.maximum(x, 0, out=out)


def _relu_grad(g, y, out):
    return np.multiply(g, y > 0, out=out)


# op type -> (function(*inputs, out=buffer) computing exactly what the op's kernel
# computes, with the kernel's error-state, input indices whose buffer may take the result)
KERNELS = {
    "AddV2": (np.add, (0, 1)),
    "Sub": (np.subtract, (0, 1)),
    "Mul": (np.multiply, (0, 1)),
    "RealDiv": (_quiet(np.divide, divide="ignore", invalid="ignore"), (0, 1)),
    "Maximum": (_quiet(np.maximum, all="ignore"), (0, 1)),
    "Minimum": (_quiet(np.minimum, all="ignore"), (0, 1)),
    "Neg": (np.negative, (0,)),
    "Square": (_quiet(_square, all="ignore"), (0,)),
    "Sqrt": (_quiet(np.sqrt, all="ignore"), (0,)),
    "Exp": (_quiet(np.exp, all="ignore"), (0,)),
    "Log": (_quiet(np.log, all="ignore"), (0,)),
    "Tanh": (_quiet(np.tanh, all="ignore"), (0,)),
    "Relu": (_relu, (0,)),
    "ReluGrad": (_relu_grad, (0,)),
}


def kernels_patched():
    """True while ``tf.debugging.enable_check_numerics`` wraps the kernels: then every op
    must run its own (checking) kernel, so no pass replaces or bypasses one."""
    from numflow.ops import debug_ops
    return bool(debug_ops._ORIGINAL_KERNELS)


MIN_SIZE = 1 << 15
"""Below this many elements a new array costs no more than the checks for reusing one."""


def _small(shape):
    if shape.rank is None or not shape.is_fully_defined():
        return False
    n = 1
    for d in shape.as_list():
        n *= d
    return n < MIN_SIZE


@register("inplace", order=90)
def run(program):
    """Applies this pass to ``program`` in place."""
    if kernels_patched():
        return
    for node in program.nodes:
        entry = KERNELS.get(node.type)
        if entry is not None and len(node.outputs) == 1 and node.outputs[0] is not None and \
                not _small(program.info[node.outputs[0]][1]):
            node.inplace = entry[1]
