"""tf.gradients: symbolic gradients in graph mode, on the shared backward walk."""
from numflow._api.export import export
from numflow.framework import context, nest
from numflow.autodiff import backprop


def _graph_sources(graph, x):
    """The tensors that stand for source ``x`` (a tensor, or every read of a variable)."""
    key = getattr(x, "_key", None)
    if key is not None and hasattr(x, "assign"):
        return [op.outputs[0] for op in graph.get_operations()
                if op.type in ("VariableV2", "ReadVariableOp") and op.attrs["key"] == key]
    return [x]


@export(v1=["gradients"])
def gradients(ys, xs, grad_ys=None, name="gradients", colocate_gradients_with_ops=False,
              gate_gradients=False, aggregation_method=None, stop_gradients=None,
              unconnected_gradients="none"):
    """Symbolic derivatives of ``sum(ys)`` w.r.t. each of ``xs`` (``tf.compat.v1.gradients``).

    Returns a list with one tensor (or None when unconnected) per ``x``.

    Raises:
      RuntimeError: when called while executing eagerly (use GradientTape).
    """
    if context.executing_eagerly():
        raise RuntimeError("tf.gradients is not supported when eager execution is enabled. "
                           "Use tf.GradientTape instead.")
    from numflow.ops.apply import convert_to_tensor
    from numflow.ops import array_ops
    graph = context.get_default_graph()
    ys = [convert_to_tensor(y) for y in nest.flatten(ys)]
    xs_flat = nest.flatten(xs)
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    else:
        grad_ys = [None if g is None else convert_to_tensor(g) for g in nest.flatten(grad_ys)]
    stop_ids = {id(convert_to_tensor(t)) for t in nest.flatten(stop_gradients or [])}
    with graph.name_scope(name):
        grads = backprop.compute_gradients(
            ys, grad_ys, [_graph_sources(graph, x) for x in xs_flat],
            lambda node: node.graph is graph, stop_ids)
        if str(unconnected_gradients).lower().endswith("zero"):
            grads = [array_ops.zeros_like(x) if g is None else g for g, x in zip(grads, xs_flat)]
    return grads

