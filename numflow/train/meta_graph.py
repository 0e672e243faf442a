"""``tf.train.export_meta_graph`` / ``tf.train.import_meta_graph``: a graph's structure
round trip, in numflow's own format.

This is NOT TensorFlow's MetaGraphDef protobuf: a ``.meta`` file written here is JSON
holding, in creation order, every op's type, name, inputs, control inputs, device,
attributes and output dtypes/shapes, plus the graph's collections (variables by name,
tensors, ops, plain values) and the Saver's checkpoint-name mapping. It is written
atomically. Loading executes nothing: attributes decode from a closed set of tagged
forms (numbers, strings, bytes, tuples, dtypes, shapes, numeric/bytes arrays), op types
must be registered, and variables get fresh keys. Graphs holding Python objects
(e.g. ``tf.function`` bodies) cannot be exported (MetaGraphExportError).
"""
import base64
import itertools
import json
import math

import numpy as np

from numflow._api.export import export
from numflow.framework import context, dtypes
from numflow.framework.tensor_shape import TensorShape
from numflow.graph.graph import GraphKeys
from numflow.graph.operation import Operation
from numflow.graph.tensor import Tensor
from numflow.io.atomic import atomic_write_bytes
from numflow.ops import registry, state_ops

FORMAT = "numflow.MetaGraph"
VERSION = 1
_IMPORTS = itertools.count(1)


class MetaGraphExportError(ValueError):
    """The graph holds something the meta graph format cannot store."""


# ---- attribute encoding ------------------------------------------------------------------------
def _b64(data):
    return base64.b64encode(bytes(data)).decode("ascii")


def _encode(value, where):
    if isinstance(value, np.generic):   # before float: np.float64 subclasses float
        return {"__npscalar__": _encode_array(np.asarray(value), where)}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, bytes):
        return {"__bytes__": _b64(value)}
    if isinstance(value, dtypes.DType):
        return {"__dtype__": value.name}
    if isinstance(value, TensorShape):
        return {"__shape__": value.as_list() if value.rank is not None else None}
    if isinstance(value, np.ndarray):
        return _encode_array(value, where)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    raise MetaGraphExportError(f"{where}: a {type(value).__name__} cannot be stored in a "
                               "meta graph")


def _encode_array(arr, where):
    if arr.dtype.kind == "O" or arr.dtype.kind in "US":
        items = [s.encode("utf-8") if isinstance(s, str) else s for s in arr.ravel().tolist()]
        if not all(isinstance(s, bytes) for s in items):
            raise MetaGraphExportError(f"{where}: an object array of non-strings")
        return {"__strarray__": {"shape": list(arr.shape), "items": [_b64(s) for s in items]}}
    return {"__ndarray__": {"dtype": arr.dtype.str, "shape": list(arr.shape),
                            "data": _b64(arr.tobytes(order="C"))}}


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise ValueError(f"Bad meta graph attribute {value!r}")
    (tag, body), = value.items()
    if tag == "__float__":
        return float(body) if body in ("inf", "-inf", "nan") else _bad(value)
    if tag == "__bytes__":
        return base64.b64decode(body, validate=True)
    if tag == "__dtype__":
        return dtypes.as_dtype(body)
    if tag == "__shape__":
        return TensorShape(body)
    if tag == "__tuple__":
        return tuple(_decode(v) for v in body)
    if tag == "__dict__":
        return {_decode(k): _decode(v) for k, v in body}
    if tag == "__ndarray__":
        return _decode_array(body)
    if tag == "__npscalar__":
        return _decode(body)[()]
    if tag == "__strarray__":
        out = np.empty(len(body["items"]), dtype=object)
        out[:] = [base64.b64decode(s, validate=True) for s in body["items"]]
        return out.reshape(tuple(int(d) for d in body["shape"]))
    return _bad(value)


def _bad(value):
    raise ValueError(f"Bad meta graph attribute {value!r}")


def _decode_array(body):
    dtype = np.dtype(str(body["dtype"]))
    if dtype.kind not in "biufc":
        raise ValueError(f"Bad meta graph array dtype {body['dtype']!r}")
    shape = [int(d) for d in body["shape"]]
    data = base64.b64decode(body["data"], validate=True)
    if any(d < 0 for d in shape) or len(data) != dtype.itemsize * int(np.prod(shape)):
        raise ValueError("Meta graph array data does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(tuple(shape)).copy()


# ---- export ------------------------------------------------------------------------------------
def _is_variable(v):
    return hasattr(v, "assign") and hasattr(v, "_key") and getattr(v, "op", None) is not None


def _encode_collection_item(item):
    if _is_variable(item):
        return {"variable": item.op.name}
    if isinstance(item, Tensor):
        return {"tensor": item.name}
    if isinstance(item, Operation):
        return {"operation": item.name}
    if isinstance(item, (str, int, float, bool)) and not (
            isinstance(item, float) and not math.isfinite(item)):
        return {"value": item}
    return None   # TF also skips what it cannot serialize


def _variables_of(graph):
    seen, out = set(), []
    for key in graph.get_all_collection_keys():
        for item in graph.get_collection(key) if isinstance(key, str) else []:
            if _is_variable(item) and id(item) not in seen and item.graph is graph:
                seen.add(id(item))
                out.append(item)
    return out


def _op_record(op, clear_devices):
    where = f"op {op.name!r} ({op.type})"
    return {"name": op.name, "type": op.type, "inputs": [t.name for t in op.inputs],
            "control_inputs": [c.name for c in op.control_inputs],
            "device": "" if clear_devices else op.device,
            "attrs": {k: _encode(v, f"{where} attr {k!r}") for k, v in op.attrs.items()},
            "outputs": [[t.dtype.base_dtype.name,
                         t.shape.as_list() if t.shape.rank is not None else None]
                        for t in op.outputs]}


@export(v1=["train.export_meta_graph"])
def export_meta_graph(filename=None, meta_info_def=None, graph_def=None, saver_def=None,
                      collection_list=None, as_text=False, graph=None, export_scope=None,
                      clear_devices=False, clear_extraneous_savers=False,
                      strip_default_attrs=False, save_debug_info=False, saver_info=None,
                      **kwargs):
    """Serializes ``graph`` (default graph): its ops, collections (``collection_list``, or
    all) and variables; writes it to ``filename`` if given (atomically); returns it as a
    dict (``tf.compat.v1.train.export_meta_graph``). numflow's JSON format, not TF's
    MetaGraphDef protobuf.

    Raises:
      MetaGraphExportError (a ValueError): an op attribute holds a Python object.
      RuntimeError: when executing eagerly.
    """
    if graph is None:
        if context.executing_eagerly():
            raise RuntimeError("Exporting/importing meta graphs is not supported when eager "
                               "execution is enabled. No graph exists when eager execution "
                               "is enabled.")
        graph = context.get_default_graph()
    ops = graph.get_operations()
    if export_scope:
        prefix = export_scope.rstrip("/") + "/"
        ops = [op for op in ops if op.name.startswith(prefix)]
    keys = collection_list if collection_list is not None else graph.get_all_collection_keys()
    collections = {}
    for key in keys:
        if not isinstance(key, str):
            continue
        items = [_encode_collection_item(i) for i in graph.get_collection(key)]
        collections[key] = [i for i in items if i is not None]
    variables = [{"name": v.op.name, "key": v._key,
                  "initializer": v.initializer.name if v.initializer is not None else None,
                  "initial_value": getattr(v.initial_value, "name", None),
                  "trainable": bool(v.trainable)} for v in _variables_of(graph)]
    meta = {"format": FORMAT, "version": VERSION,
            "ops": [_op_record(op, clear_devices) for op in ops],
            "collections": collections, "variables": variables,
            "saver": saver_info}
    if filename is not None:
        atomic_write_bytes(filename, json.dumps(meta, separators=(",", ":")).encode("utf-8"))
    return meta


# ---- import ------------------------------------------------------------------------------------
def read_meta_graph_file(filename):
    """Reads a meta graph written by ``export_meta_graph``.

    Raises:
      OSError: the file cannot be read.
      ValueError: it is not a numflow meta graph (e.g. a TF protobuf ``.meta``).
    """
    with open(filename, "rb") as f:
        raw = f.read()
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{filename} is not a numflow meta graph (numflow cannot read "
                         "TensorFlow's MetaGraphDef protobuf files)") from None
    _check_header(meta, filename)
    return meta


def _check_header(meta, where):
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{where} is not a numflow meta graph")
    if meta.get("version") != VERSION:
        raise ValueError(f"{where}: unsupported meta graph version {meta.get('version')!r}")


class _Importer:
    def __init__(self, graph, scope, clear_devices):
        from numflow import variables as variables_mod
        self.graph, self.scope, self.clear_devices = graph, scope, clear_devices
        self.ops = {}           # stored op name -> new Operation
        self.var_attrs = {}     # stored variable key -> new attrs dict
        self._new_key = lambda: next(variables_mod._keys)
        self.tag = next(_IMPORTS)

    def tensor(self, name):
        op_name, _, idx = name.rpartition(":")
        try:
            return self.ops[op_name].outputs[int(idx)]
        except (KeyError, IndexError, ValueError):
            raise ValueError(f"Meta graph names a missing tensor {name!r}") from None

    def attrs(self, rec):
        attrs = {k: _decode(v) for k, v in rec["attrs"].items()}
        if rec["type"] in state_ops.VARIABLE_OPS and isinstance(attrs.get("key"), int):
            shared = self.var_attrs.get(attrs["key"])
            if shared is None:
                shared = self.var_attrs[attrs["key"]] = dict(attrs, key=self._new_key())
            return shared
        if rec["type"] in state_ops.UPDATE_OPS:
            try:
                attrs["keys"] = tuple(self.var_attrs[k]["key"] for k in attrs["keys"])
            except KeyError:
                raise ValueError(f"Meta graph op {rec['name']!r} updates a variable the graph "
                                 f"does not define") from None
            return attrs
        if "key" in attrs:   # per-op state (random streams...): a key of its own
            attrs["key"] = ("imported", self.tag, attrs["key"])
        return attrs

    def add_op(self, rec):
        registry.lookup(rec["type"])   # KeyError for an unknown op type
        inputs = [self.tensor(n) for n in rec["inputs"]]
        specs = [(dtypes.as_dtype(d), TensorShape(s)) for d, s in rec["outputs"]]
        op = self.graph._create_op(rec["type"], inputs, self.attrs(rec), specs, rec["name"])
        for c in rec["control_inputs"]:
            if c not in self.ops:
                raise ValueError(f"Meta graph names a missing control input {c!r}")
            op._add_control_input(self.ops[c])
        if rec["device"] and not self.clear_devices:
            op.device = rec["device"]
        self.ops[rec["name"]] = op


def _rebuild_variable(imp, rec):
    """A Variable object around imported variable ops."""
    from numflow.variables import Variable
    ref_op = imp.ops[rec["name"]]
    v = Variable.__new__(Variable)
    v.trainable = rec["trainable"]
    v.constraint = None
    v._attrs = ref_op.attrs
    v._key = v._attrs["key"]
    v._dtype = ref_op.outputs[0].dtype.base_dtype
    v._shape = ref_op.outputs[0].shape
    v._ref = ref_op.outputs[0]
    v._graph = imp.graph
    v._name = v._ref.name
    v._initializer_op = imp.ops.get(rec["initializer"]) if rec["initializer"] else None
    v._initial_value = imp.tensor(rec["initial_value"]) if rec["initial_value"] else None
    return v


@export(v1=["train.import_meta_graph"])
def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **kwargs):
    """Recreates a graph saved by ``export_meta_graph`` / ``Saver.save`` in the default
    graph (under name scope ``import_scope`` if given), with its collections and
    variables; returns a Saver for its variables (with the saving Saver's names), or None
    when it has none (``tf.compat.v1.train.import_meta_graph``).

    Raises:
      ValueError: not a numflow meta graph, or a malformed one.
      KeyError: an op type numflow does not have.
      RuntimeError: when executing eagerly.
    """
    if context.executing_eagerly():
        raise RuntimeError("Exporting/importing meta graphs is not supported when eager "
                           "execution is enabled. No graph exists when eager execution "
                           "is enabled.")
    if isinstance(meta_graph_or_file, dict):
        meta = meta_graph_or_file
        _check_header(meta, "meta_graph_or_file")
    else:
        meta = read_meta_graph_file(meta_graph_or_file)
    graph = context.get_default_graph()
    imp = _Importer(graph, import_scope, clear_devices)
    with graph.name_scope(import_scope or ""):
        for rec in meta["ops"]:
            imp.add_op(rec)
    variables = {rec["name"]: _rebuild_variable(imp, rec) for rec in meta["variables"]}
    for key, items in meta["collections"].items():
        for item in items:
            graph.add_to_collection(key, _decode_collection_item(imp, variables, item))
    return _saver_for(meta, variables, graph)


def _decode_collection_item(imp, variables, item):
    if "variable" in item:
        return variables[item["variable"]]
    if "tensor" in item:
        return imp.tensor(item["tensor"])
    if "operation" in item:
        try:
            return imp.ops[item["operation"]]
        except KeyError:
            raise ValueError(f"Meta graph names a missing op {item['operation']!r}") from None
    return item["value"]


def _saver_for(meta, variables, graph):
    from numflow.train.saver import Saver
    info = meta.get("saver")
    if info:
        var_list = {ckpt: variables[name] for ckpt, name in info["names"].items()}
        return Saver(var_list, max_to_keep=info.get("max_to_keep", 5),
                     keep_checkpoint_every_n_hours=info.get("keep_checkpoint_every_n_hours",
                                                            10000.0),
                     pad_step_number=info.get("pad_step_number", False))
    if graph.get_collection(GraphKeys.GLOBAL_VARIABLES):
        return Saver()
    return None
