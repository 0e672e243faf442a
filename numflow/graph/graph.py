"""Graph: the container of Operations in TF1 graph mode (``tf.Graph``)."""
import contextlib
import re
import threading

from numflow.framework import context
from numflow.graph.operation import Operation
from numflow.graph.tensor import Tensor

_VALID_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/>]*$")


class GraphKeys:
    """Standard collection names (``tf.GraphKeys``)."""
    GLOBAL_VARIABLES = "variables"
    VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    CONCATENATED_VARIABLES = "concatenated_variables"
    SAVERS = "savers"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    TRAIN_OP = "train_op"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    GLOBAL_STEP = "global_step"
    EVAL_STEP = "eval_step"


class _GraphThreadState(threading.local):
    def __init__(self):
        self.name_stack = ""
        self.control_deps = []   # list of lists of Operations; None entry clears
        self.device_stack = []


def canonical_device(spec):
    """Normalises a device string as TF does: "/gpu:1" -> "/device:GPU:1"."""
    if not spec:
        return ""
    parts = []
    for part in spec.strip("/").split("/"):
        low = part.lower()
        m = re.match(r"^(?:device:)?(cpu|gpu|tpu)(?::(\d+|\*))?$", low)
        if m:
            parts.append(f"device:{m.group(1).upper()}:{m.group(2) or '0'}")
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def user_location(skip_prefix=None):
    """The "file:line" of the innermost stack frame outside the numflow package."""
    import sys
    pkg = skip_prefix or _PKG_DIR
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if not fn.startswith(pkg):
            return f"{fn}:{f.f_lineno}"
        f = f.f_back
    return "<unknown>"


_PKG_DIR = __file__[: __file__.rindex("numflow") + len("numflow")]


class Graph:
    """A TensorFlow computation graph.

    Ops are added by the public op functions while this graph is the default
    (``with g.as_default():``). Names are unique; ``name_scope`` prefixes them.
    """

    is_function_graph = False

    def __init__(self):
        self._ops = []
        self._ops_by_name = {}
        self._names_in_use = {}
        self._collections = {}
        self._lock = threading.RLock()
        self._thread = _GraphThreadState()
        self._finalized = False
        self._version = 0
        self.seed = None
        self._random_op_count = 0
        self._building_thread = None

    # ---- default-graph protocol -------------------------------------------------------
    @contextlib.contextmanager
    def as_default(self):
        """Makes this the default graph for the enclosed code."""
        context.push_graph(self)
        try:
            yield self
        finally:
            context.pop_graph(self)

    # ---- names ------------------------------------------------------------------------
    def get_name_scope(self):
        return self._thread.name_stack

    def unique_name(self, name, mark_as_used=True):
        """Returns ``scope/name`` made unique with a ``_N`` suffix (TF's rule)."""
        if self._thread.name_stack:
            name = self._thread.name_stack + "/" + name
        key = name.lower()
        count = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = count + 1
        if count > 0:
            base = name
            while True:
                name = f"{base}_{count}"
                if name.lower() not in self._names_in_use:
                    break
                count += 1
            if mark_as_used:
                self._names_in_use[name.lower()] = 1
        return name

    @contextlib.contextmanager
    def name_scope(self, name):
        """Opens a name scope; yields the scope string ending in "/" (``Graph.name_scope``)."""
        old = self._thread.name_stack
        if name is None or name == "":
            new = ""
        elif name.endswith("/"):
            new = name[:-1]   # re-entering an existing scope
        else:
            new = self.unique_name(name)
        self._thread.name_stack = new
        try:
            yield (new + "/") if new else ""
        finally:
            self._thread.name_stack = old

    # ---- devices and control dependencies ---------------------------------------------
    @contextlib.contextmanager
    def device(self, device_name):
        """Places ops created inside on ``device_name`` (``tf.device``)."""
        self._thread.device_stack.append(canonical_device(device_name or ""))
        try:
            yield
        finally:
            self._thread.device_stack.pop()

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops created inside run after ``control_inputs`` (None clears outer ones)."""
        if control_inputs is None:
            self._thread.control_deps.append(None)
        else:
            ops = []
            for c in control_inputs:
                ops.append(self._as_operation(c))
            self._thread.control_deps.append(ops)
        try:
            yield
        finally:
            self._thread.control_deps.pop()

    def _as_operation(self, c):
        if isinstance(c, Operation):
            return c
        if isinstance(c, Tensor):
            return c.op
        op = getattr(c, "op", None)
        if isinstance(op, Operation):
            return op
        raise TypeError(f"Control input must be an Operation or Tensor, got {c!r}")

    def _current_control_deps(self):
        deps = []
        for entry in self._thread.control_deps:
            if entry is None:
                deps = []
            else:
                deps.extend(entry)
        return deps

    # ---- building ---------------------------------------------------------------------
    def finalize(self):
        """Makes the graph read-only (``Graph.finalize``)."""
        self._finalized = True

    @property
    def finalized(self):
        return self._finalized

    def _create_op(self, op_type, inputs, attrs, output_specs, name=None):
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        for t in inputs:
            if t.graph is not self:
                raise ValueError(f"Tensor {t.name} must be from the same graph as the new "
                                 f"{op_type} op.")
        with self._lock:
            if name is not None and name.endswith("/"):
                full = name[:-1]   # an existing name scope names the op exactly (TF's rule)
            elif name is not None and not _VALID_NAME.match(name):
                raise ValueError(f"'{name}' is not a valid node name")
            else:
                full = self.unique_name(name or op_type)
            device = self._thread.device_stack[-1] if self._thread.device_stack else ""
            op = Operation(self, full, op_type, inputs, attrs, output_specs,
                           self._current_control_deps(), device, user_location(), len(self._ops))
            self._ops.append(op)
            self._ops_by_name[full] = op
            self._version += 1
        return op

    def capture(self, eager_tensor):
        """Embeds an eager tensor's value in this graph as a constant."""
        from numflow.ops.array_ops import constant
        with self.as_default():
            return constant(eager_tensor.numpy())

    # ---- lookup -----------------------------------------------------------------------
    def get_operations(self):
        """A list of the graph's Operations in creation order."""
        return list(self._ops)

    def get_operation_by_name(self, name):
        try:
            return self._ops_by_name[name]
        except KeyError:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph.") from None

    def get_tensor_by_name(self, name):
        if ":" not in name:
            raise ValueError(f"The name '{name}' looks like an (invalid) Operation name, not a "
                             "Tensor. Tensor names must be of the form \"<op_name>:<output_index>\".")
        op_name, idx = name.rsplit(":", 1)
        op = self.get_operation_by_name(op_name)
        try:
            return op.outputs[int(idx)]
        except (IndexError, ValueError):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist.") from None

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        if isinstance(obj, str):
            if ":" in obj and allow_tensor:
                return self.get_tensor_by_name(obj)
            if allow_operation:
                return self.get_operation_by_name(obj)
        if isinstance(obj, (Tensor, Operation)):
            return obj
        conv = getattr(obj, "_as_graph_element", None)
        if conv is not None:
            return conv()
        raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation.")

    @property
    def version(self):
        return self._version

    # ---- collections ------------------------------------------------------------------
    def add_to_collection(self, name, value):
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value):
        for n in ([names] if isinstance(names, str) else names):
            self.add_to_collection(n, value)

    def get_collection(self, name, scope=None):
        items = list(self._collections.get(name, []))
        if scope is None:
            return items
        pat = re.compile(scope)
        return [i for i in items if pat.match(getattr(i, "name", "") or "")]

    def get_collection_ref(self, name):
        return self._collections.setdefault(name, [])

    def get_all_collection_keys(self):
        return list(self._collections)

    def clear_collection(self, name):
        self._collections.pop(name, None)
