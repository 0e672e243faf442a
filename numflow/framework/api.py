"""Public names for the framework layer: dtypes, shapes, errors, graphs, scopes, modes."""
import contextlib

from numflow._api.export import export, export_value
from numflow.framework import context, dtypes, errors, tensor_shape
from numflow.graph.graph import Graph, GraphKeys
from numflow.graph.operation import Operation
from numflow.graph.tensor import Tensor

for _name in ("float16", "half", "float32", "float64", "double", "int8", "int16", "int32",
              "int64", "uint8", "uint16", "uint32", "uint64", "bool", "string", "complex64",
              "complex128", "resource", "variant"):
    export_value(getattr(dtypes, _name), _name, f"dtypes.{_name}")
if dtypes.bfloat16 is not None:
    export_value(dtypes.bfloat16, "bfloat16", "dtypes.bfloat16")
export_value(dtypes.DType, "DType", "dtypes.DType")
export_value(dtypes.as_dtype, "as_dtype", "dtypes.as_dtype")
export_value(errors, "errors")
export_value(tensor_shape.TensorShape, "TensorShape")
export_value(tensor_shape.Dimension, "Dimension", v1=["Dimension", "compat.v1.Dimension"])
export_value(tensor_shape.dimension_value, v1=["dimension_value"])
export_value(Tensor, "Tensor")
export_value(Operation, "Operation")
export_value(Graph, "Graph")
export_value(GraphKeys, v1=["GraphKeys"])
export_value(context.executing_eagerly, "executing_eagerly")
export_value(context.get_default_graph, v1=["get_default_graph"])
export_value(context.reset_default_graph, v1=["reset_default_graph"])
export_value(context.enable_eager_execution, v1=["enable_eager_execution"])
export_value(context.disable_eager_execution, v1=["disable_eager_execution"])
export_value(context.init_scope, "init_scope")


@export(v1=["disable_v2_behavior"])
def disable_v2_behavior():
    """Switches to TF1 behaviour: graph mode (``tf.compat.v1.disable_v2_behavior``)."""
    context.disable_eager_execution()


@export(v1=["enable_v2_behavior"])
def enable_v2_behavior():
    """Switches to TF2 behaviour: eager mode (``tf.compat.v1.enable_v2_behavior``)."""
    context.enable_eager_execution()


@export("name_scope", v1=[])
@contextlib.contextmanager
def name_scope(name):
    """Prefixes the names of ops created inside with ``name/`` (``tf.name_scope``)."""
    if context.executing_eagerly():
        yield name + "/" if name else ""
        return
    with context.get_default_graph().name_scope(name) as scope:
        yield scope


@export(v1=["name_scope"])
@contextlib.contextmanager
def name_scope_v1(name, default_name=None, values=None):
    """TF1 ``name_scope(name, default_name=None, values=None)``."""
    with name_scope(name or default_name) as scope:
        yield scope


@export("device", v1=["device"])
@contextlib.contextmanager
def device(device_name):
    """Places ops created inside on ``device_name``; absent devices fall back to the CPU."""
    if context.executing_eagerly():
        yield
        return
    with context.get_default_graph().device(device_name):
        yield


@export("control_dependencies", v1=["control_dependencies"])
def control_dependencies(control_inputs):
    """Ops created inside run only after ``control_inputs`` (``tf.control_dependencies``)."""
    if context.executing_eagerly():
        return contextlib.nullcontext()
    return context.get_default_graph().control_dependencies(control_inputs)


@export(v1=["add_to_collection"])
def add_to_collection(name, value):
    """Adds ``value`` to the default graph's collection ``name``."""
    context.get_default_graph().add_to_collection(name, value)


@export(v1=["add_to_collections"])
def add_to_collections(names, value):
    """Adds ``value`` to several collections of the default graph."""
    context.get_default_graph().add_to_collections(names, value)


@export(v1=["get_collection"])
def get_collection(key, scope=None):
    """The default graph's collection ``key`` (filtered by ``scope`` regex)."""
    return context.get_default_graph().get_collection(key, scope)


@export(v1=["get_collection_ref"])
def get_collection_ref(key):
    """The default graph's collection ``key`` as a mutable list."""
    return context.get_default_graph().get_collection_ref(key)


@export("is_tensor", v1=["is_tensor"])
def is_tensor(x):
    """True for tensors and variables (``tf.is_tensor``)."""
    return isinstance(x, Tensor) or hasattr(x, "_as_tensor")
