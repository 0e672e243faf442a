"""Keras 2's TensorFlow-format weights: ``model.save_weights('./weights/model')``.

The weights go into a TF V2 checkpoint (``model.index`` + ``model.data-00000-of-00001``,
:mod:`numflow.io.tf_checkpoint`) under the object-graph keys tf.keras uses, e.g.
``layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE``,
``optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE``,
``optimizer/_variables/1/.ATTRIBUTES/VARIABLE_VALUE``, plus the serialized
``TrackableObjectGraph`` under ``_CHECKPOINTABLE_OBJECT_GRAPH`` so TensorFlow's
``load_weights`` can match objects, and a ``checkpoint`` state file next to it.

The object graph mirrors tf.keras: a Sequential/functional model has children
``layer_with_weights-<i>`` and ``layer-<i>``; a subclassed model its layer attributes; a
layer its variables (named as ``add_weight`` named them) and sublayers (by attribute);
the optimizer ``_iterations``, ``_learning_rate`` and ``_variables/<i>`` (slots from 1).

Loading matches each numflow variable to a checkpoint key by walking the saved object graph
along the same local names; failing that, by the key string, then by the variable's full
name recorded in the graph, so TF-written and numflow-written checkpoints both load.
"""
import os
import warnings

from numflow.io import proto
from numflow.io.atomic import atomic_write_bytes
from numflow.io.tf_checkpoint import CheckpointReader, write_checkpoint
from numflow.keras.saving import model_state

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"


class _Node:
    __slots__ = ("children", "variable", "full_name", "key")

    def __init__(self, variable=None):
        self.children = []   # [(local_name, _Node)]
        self.variable = variable
        self.full_name = None
        self.key = None


# ---- the object graph of a numflow model ----------------------------------------------------------
def _layer_base():
    from numflow.keras.engine.base_layer import Layer
    return Layer


def _is_network(obj):
    names = {k.__name__ for k in type(obj).__mro__}
    return bool(names & {"Sequential", "Functional"})


def _public(obj, attr):
    if attr.startswith("_"):
        prop = getattr(type(obj), attr.lstrip("_"), None)
        if isinstance(prop, property):
            return attr.lstrip("_")
    return attr


def _sublayer_attrs(layer):
    from numflow.keras.engine import base_layer
    layer_cls = _layer_base()
    out = []
    for attr, value in vars(layer).items():
        if attr in base_layer._UNTRACKED or attr.startswith("__"):
            continue
        if isinstance(value, layer_cls) and value is not layer and not _is_metric(value):
            out.append((_public(layer, attr), value))
        elif isinstance(value, (list, tuple)) and value and all(
                isinstance(v, layer_cls) for v in value):
            out.append((_public(layer, attr), list(value)))
    return out


def _is_metric(x):
    return hasattr(x, "update_state") and hasattr(x, "result")


def _own_variables(layer):
    own = getattr(layer, "_own_weights", None)
    if own is not None:
        trainable, non_trainable = own()
        return list(trainable) + list(non_trainable)
    return []


def _build(obj, memo):
    """The _Node of a layer or model (shared objects give shared nodes)."""
    if id(obj) in memo:
        return memo[id(obj)]
    node = _Node()
    memo[id(obj)] = node
    used = set()
    for v in _own_variables(obj):
        name = model_state.base_name(model_state.weight_name(v)) or "Variable"
        candidate, n = name, 1
        while candidate in used:
            candidate = f"{name}_{n}"
            n += 1
        used.add(candidate)
        child = _Node(v)
        child.full_name = model_state.weight_name(v).split(":")[0]
        node.children.append((candidate, child))
    if _is_network(obj):
        layers = list(obj.layers)
        j = 0
        for i, layer in enumerate(layers):
            child = _build(layer, memo)
            if model_state.layer_weights(layer):
                node.children.append((f"layer_with_weights-{j}", child))
                j += 1
            node.children.append((f"layer-{i}", child))
        return node
    for attr, value in _sublayer_attrs(obj):
        if attr in used:
            continue
        if isinstance(value, list):
            holder = _Node()
            for i, layer in enumerate(value):
                holder.children.append((str(i), _build(layer, memo)))
            node.children.append((attr, holder))
        else:
            node.children.append((attr, _build(value, memo)))
    return node


def _optimizer_node(optimizer):
    node = _Node()
    variables = model_state.optimizer_variables(optimizer)
    if not variables:
        return node
    nodes = []
    for v in variables:
        n = _Node(v)
        n.full_name = model_state.weight_name(v).split(":")[0]
        nodes.append(n)
    node.children.append(("_iterations", nodes[0]))
    rest = nodes[1:]
    if len(variables) > 1 and "learning_rate" in model_state.weight_name(variables[1]):
        node.children.append(("_learning_rate", nodes[1]))
        rest = nodes[2:]
    holder = _Node()
    holder.children.append(("0", nodes[0]))
    for i, n in enumerate(rest, 1):
        holder.children.append((str(i), n))
    node.children.append(("_variables", holder))
    return node


def model_graph(model, include_optimizer=True):
    """The root _Node of ``model`` (with the optimizer when it has variables)."""
    root = _build(model, {})
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and getattr(optimizer, "built", True):
        root.children.append(("optimizer", _optimizer_node(optimizer)))
    return root


def _assign_keys(root):
    """Breadth-first: each node's path of local names from the first visit; returns the
    nodes in id order with their variable keys set."""
    order, paths, seen = [root], {id(root): ()}, {id(root)}
    i = 0
    while i < len(order):
        node = order[i]
        i += 1
        # `_iterations`/`_learning_rate` before `_variables`, as tf.keras keys them
        for name, child in sorted(node.children, key=lambda c: c[0] == "_variables"):
            if id(child) not in seen:
                seen.add(id(child))
                paths[id(child)] = paths[id(node)] + (name,)
                order.append(child)
    for node in order:
        if node.variable is not None:
            node.key = "/".join(paths[id(node)]) + _SUFFIX
    return order


# ---- the TrackableObjectGraph proto ---------------------------------------------------------------------
def _has_values(node, memo):
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = False
    result = node.variable is not None or any(_has_values(c, memo) for _, c in node.children)
    memo[id(node)] = result
    return result


def encode_object_graph(order):
    """Serialized ``TrackableObjectGraph`` for the nodes in ``order`` (root first)."""
    ids = {id(n): i for i, n in enumerate(order)}
    memo = {}
    out = b""
    for node in order:
        body = b""
        for name, child in node.children:
            ref = proto.varint_field(1, ids[id(child)]) + proto.bytes_field(2, name)
            body += proto.message_field(1, ref)
        if node.variable is not None:
            attr = (proto.bytes_field(1, "VARIABLE_VALUE") + proto.bytes_field(2, node.full_name)
                    + proto.bytes_field(3, node.key))
            body += proto.message_field(2, attr)
        body += proto.message_field(5, proto.varint_field(1, _has_values(node, memo)))
        out += proto.message_field(1, body)
    return out


def decode_object_graph(data):
    """[{"children": {local_name: node_id}, "key": checkpoint_key or None,
    "full_name": str or None}] from a serialized ``TrackableObjectGraph``.

    Raises:
      ValueError: if the bytes are not a valid graph.
    """
    try:
        nodes = []
        for msg in proto.Fields(data).messages(1):
            children = {}
            for ref in msg.messages(1):
                children.setdefault(ref.string(2), ref.int32(1))
            key = full_name = None
            for attr in msg.messages(2):
                if attr.string(1) == "VARIABLE_VALUE":
                    key, full_name = attr.string(3), attr.string(2)
            nodes.append({"children": children, "key": key, "full_name": full_name})
    except (proto.DecodeError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"Invalid object graph in checkpoint: {e}") from None
    for n in nodes:
        if any(not 0 <= c < len(nodes) for c in n["children"].values()):
            raise ValueError("Invalid object graph in checkpoint: child id out of range.")
    return nodes


# ---- saving ----------------------------------------------------------------------------------------------
def save_weights(model, prefix):
    """Writes the TF-format checkpoint ``prefix`` and the ``checkpoint`` state file."""
    prefix = os.fspath(prefix)
    write_weights_checkpoint(model, prefix)
    write_checkpoint_state(os.path.dirname(prefix) or ".", os.path.basename(prefix))


def write_weights_checkpoint(model, prefix, extra_tensors=None):
    """Writes the checkpoint files of ``prefix`` only (no state file); ``extra_tensors``
    (name -> array) are stored alongside the model's."""
    order = _assign_keys(model_graph(model))
    tensors = {n.key: model_state.value_of(n.variable) for n in order
               if n.variable is not None}
    tensors[OBJECT_GRAPH_KEY] = encode_object_graph(order)
    tensors.update(extra_tensors or {})
    write_checkpoint(os.fspath(prefix), tensors)


def write_checkpoint_state(directory, name):
    """Writes the ``checkpoint`` file naming ``name`` as the latest checkpoint (atomically)."""
    text = (f'model_checkpoint_path: "{_escape(name)}"\n'
            f'all_model_checkpoint_paths: "{_escape(name)}"\n')
    atomic_write_bytes(os.path.join(directory, "checkpoint"), text.encode("utf-8"))


def _escape(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


def latest_in_directory(directory):
    """The checkpoint prefix a directory's ``checkpoint`` file names, or None."""
    path = os.path.join(directory, "checkpoint")
    try:
        with open(path, "rb") as f:
            text = f.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("model_checkpoint_path:"):
            value = line.split(":", 1)[1].strip().strip('"')
            value = value.replace('\\"', '"').replace("\\\\", "\\")
            prefix = value if os.path.isabs(value) else os.path.join(directory, value)
            if os.path.isfile(prefix + ".index"):
                return prefix
    return None


# ---- loading ---------------------------------------------------------------------------------------------
def _match_keys(root, saved, reader):
    """{id(variable node): checkpoint key} by walking ``saved`` along local names."""
    found = {}
    if saved:
        stack = [(root, 0)]
        seen = set()
        while stack:
            node, sid = stack.pop()
            if (id(node), sid) in seen:
                continue
            seen.add((id(node), sid))
            entry = saved[sid]
            if node.variable is not None and entry["key"] and reader.has_tensor(entry["key"]):
                found.setdefault(id(node), entry["key"])
            for name, child in node.children:
                if name in entry["children"]:
                    stack.append((child, entry["children"][name]))
    return found


def load_weights(model, prefix, skip_mismatch=False):
    """Loads a TF-format checkpoint into ``model`` (weights and, if the model has an
    optimizer and the checkpoint holds its state, the optimizer's variables).

    Raises:
      NotFoundError / DataLossError: for a missing or corrupt checkpoint.
      ValueError: if model weights are missing from the checkpoint or shapes differ
        (``skip_mismatch`` warns and skips instead).
    """
    reader = CheckpointReader(prefix)
    saved = None
    if reader.has_tensor(OBJECT_GRAPH_KEY):
        raw = reader.get_tensor(OBJECT_GRAPH_KEY)
        saved = decode_object_graph(bytes(raw.reshape(-1)[0]) if raw.size else b"")
    by_full_name = {}
    for entry in saved or []:
        if entry["key"] and entry["full_name"]:
            by_full_name.setdefault(entry["full_name"], []).append(entry["key"])
    build_needed = getattr(model, "optimizer", None) is not None and any(
        k.startswith("optimizer/") for k in reader.get_variable_to_shape_map())
    if build_needed:
        model_state.build_optimizer(model)
    root = model_graph(model)
    order = _assign_keys(root)
    found = _match_keys(root, saved, reader)
    optimizer_node = dict(root.children).get("optimizer")
    optimizer_ids = set()
    if optimizer_node is not None:
        optimizer_ids = {id(c) for _, c in optimizer_node.children} | {
            id(c) for _, h in optimizer_node.children for _, c in h.children}
    pairs, missing, opt_pairs, opt_missing = [], [], [], []
    for node in order:
        if node.variable is None:
            continue
        key = found.get(id(node))
        if key is None and reader.has_tensor(node.key):
            key = node.key
        if key is None:
            keys = by_full_name.get(node.full_name, [])
            key = keys[0] if len(keys) == 1 else None
        is_opt = id(node) in optimizer_ids
        if key is None:
            (opt_missing if is_opt else missing).append(node.key)
            continue
        try:
            value = model_state.check_value(node.variable, reader.get_tensor(key),
                                            f"{prefix}: {key}")
        except ValueError as e:
            if skip_mismatch or is_opt:
                warnings.warn(str(e), stacklevel=3)
                continue
            raise
        (opt_pairs if is_opt else pairs).append((node.variable, value))
    if missing and not skip_mismatch:
        raise ValueError(f"The checkpoint {prefix} does not hold values for "
                         f"{len(missing)} of the model's weights, e.g. {missing[:3]}; it was "
                         "saved from a different model.")
    model_state.assign_all(pairs)
    if opt_pairs:
        if opt_missing:
            warnings.warn(f"Optimizer state in {prefix} is incomplete ({len(opt_missing)} "
                          "variables missing); those keep their current values.", stacklevel=3)
        model_state.assign_all(opt_pairs)
