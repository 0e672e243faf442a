"""The op registry: one OpDef per op, shared by graph mode, eager mode and autodiff."""
import sys

_REGISTRY = {}


class OpDef:
    """The single definition of an op.

    Attributes:
      name: TF's op type ("MatMul").
      infer: ``infer(inputs, attrs) -> [(dtype, TensorShape), ...]`` for graph mode;
        inputs are graph Tensors (``.dtype``, ``.shape``). Raises ValueError/TypeError
        for impossible inputs.
      kernel: ``kernel(xp, *arrays, **attrs) -> array | tuple of arrays``.
      grad: ``grad(op, *output_grads) -> [input_grad or None, ...]`` written in public
        ops, or None when the op is not differentiable.
      num_outputs: 1 (apply_op returns a tensor), or another count / None for a
        variable count (apply_op returns a list).
      stateful: the kernel reads/writes run state: it is called with ``ctx=`` (the
        Session's or the eager context's variables and random streams) and is never
        constant-folded or deduplicated.
      source: "file:line" of the registration, for duplicate errors.
    """

    __slots__ = ("name", "infer", "kernel", "grad", "num_outputs", "stateful", "source")

    def __init__(self, name, infer, kernel, grad, num_outputs, stateful, source):
        self.name = name
        self.infer = infer
        self.kernel = kernel
        self.grad = grad
        self.num_outputs = num_outputs
        self.stateful = stateful
        self.source = source

    def __repr__(self):
        return f"<OpDef {self.name} from {self.source}>"


def register_op(name, *, infer, kernel, grad=None, num_outputs=1, stateful=False):
    """Registers an op. Registering a name twice raises KeyError naming both places."""
    frame = sys._getframe(1)
    source = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    if name in _REGISTRY:
        raise KeyError(f"Op {name!r} registered twice: first at {_REGISTRY[name].source}, "
                       f"again at {source}")
    opdef = OpDef(name, infer, kernel, grad, num_outputs, stateful, source)
    _REGISTRY[name] = opdef
    return opdef


def lookup(name):
    """The OpDef for ``name``; KeyError listing near matches when unknown."""
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib
        near = difflib.get_close_matches(name, _REGISTRY, n=3)
        raise KeyError(f"No op named {name!r} is registered" +
                       (f"; did you mean {', '.join(near)}?" if near else "")) from None


def registered_ops():
    """A dict name -> OpDef of every registered op (a copy)."""
    return dict(_REGISTRY)
