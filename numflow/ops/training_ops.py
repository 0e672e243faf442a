"""TF's fused optimizer updates: ``tf.raw_ops.ResourceApplyAdam``.

One op updates a variable and its slots in place (numflow/kernels/training.py) instead of
a dozen elementwise ops, each allocating a variable-sized temporary. The TF1
``AdamOptimizer`` and Keras's ``Adam`` use it for dense gradients. Like TF's resource
ops it has no outputs: graph mode returns the Operation (for control dependencies and
``Session.run``), eager mode None.

numflow has no resource tensors: where TF passes ``v.handle``, pass the variable (its
``handle`` is the variable itself).
"""
from numflow._api.export import export
from numflow.framework import dtypes, errors
from numflow.kernels import training
from numflow.ops import state_ops
from numflow.ops.apply import apply_op, convert_to_tensor
from numflow.ops.registry import register_op

_ADAM_SCALARS = ("beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon")


def _check_inputs(op_name, scalar_names, values, grad_shape, var_shape):
    """TF's errors for a non-scalar hyperparameter or a gradient of the wrong shape."""
    for name, shape in zip(scalar_names, values):
        if shape is not None and len(shape) != 0:
            raise errors.InvalidArgumentError(
                None, None, f"{op_name}: {name} is not a scalar: {list(shape)}")
    if grad_shape is not None and var_shape is not None and \
            tuple(grad_shape) != tuple(var_shape):
        raise errors.InvalidArgumentError(
            None, None, f"{op_name}: var and grad do not have the same shape"
                        f"{list(var_shape)} {list(grad_shape)}")


def _adam_infer(ins, a):
    shapes = [t.shape for t in ins]
    for t in ins:
        if t.dtype.base_dtype != a["dtype"]:
            raise TypeError(f"ResourceApplyAdam: inputs must be {a['dtype'].name} like the "
                            f"variable {a['names'][0]}, got {t.dtype.base_dtype.name}")
    _check_inputs("ResourceApplyAdam", _ADAM_SCALARS,
                  [s.as_list() if s.rank is not None else None for s in shapes[:6]],
                  shapes[6].as_list() if shapes[6].is_fully_defined() else None,
                  a["shape"].as_list() if a["shape"].is_fully_defined() else None)
    return []


def _adam_kernel(xp, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad, ctx, keys,
                 names, dtype, shape, use_nesterov):
    scalars = (beta1_power, beta2_power, lr, beta1, beta2, epsilon)
    arrays = [state_ops.writable(xp, ctx.vars, k, n) for k, n in zip(keys, names)]
    for name, arr in zip(names[1:], arrays[1:]):
        if arr.shape != arrays[0].shape:
            raise errors.InvalidArgumentError(
                None, None, f"ResourceApplyAdam: var and {name} do not have the same shape"
                            f"{list(arrays[0].shape)} {list(arr.shape)}")
    _check_inputs("ResourceApplyAdam", _ADAM_SCALARS, [s.shape for s in scalars], grad.shape,
                  arrays[0].shape)
    training.apply_adam(xp, *arrays, *scalars, grad, use_nesterov=use_nesterov)
    return ()


_RESOURCE_APPLY_ADAM = register_op("ResourceApplyAdam", infer=_adam_infer, kernel=_adam_kernel,
                                   num_outputs=0, stateful=True)


def _variable(handle, what):
    if not hasattr(handle, "_key") or not hasattr(handle, "_attrs"):
        raise TypeError(f"ResourceApplyAdam: {what} must be a tf.Variable (or its handle), "
                        f"got {type(handle).__name__}")
    return handle


@export("raw_ops.ResourceApplyAdam", v1=["raw_ops.ResourceApplyAdam"])
def resource_apply_adam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
                        use_locking=False, use_nesterov=False, name=None):
    """``tf.raw_ops.ResourceApplyAdam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2,
    epsilon, grad, use_locking=False, use_nesterov=False, name=None)``: one Adam step.

    ``alpha = lr * sqrt(1 - beta2_power) / (1 - beta1_power)``;
    ``m += (grad - m) * (1 - beta1)``; ``v += (grad**2 - v) * (1 - beta2)``;
    ``var -= alpha * m / (sqrt(v) + epsilon)`` (with ``use_nesterov``, ``m`` in the last
    line is replaced by ``m * beta1 + grad * (1 - beta1)``).

    Args:
      var, m, v: the variable and its two slot variables (or their ``handle``).
      beta1_power, beta2_power, lr, beta1, beta2, epsilon: scalars of the variable's
        dtype.
      grad: the gradient, the variable's shape.
      use_locking: accepted; numflow runs each update whole.
      use_nesterov: use Nesterov momentum.
      name: the op's name.

    Returns:
      The Operation in graph mode (for control dependencies), None eagerly.
    """
    variables = [_variable(h, w) for h, w in ((var, "var"), (m, "m"), (v, "v"))]
    dtype = variables[0]._attrs["dtype"]
    inputs = [convert_to_tensor(x, dtype=dtype) for x in
              (beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad)]
    attrs = {"keys": tuple(x._key for x in variables),
             "names": tuple(x._attrs["name"] for x in variables),
             "dtype": dtypes.as_dtype(dtype), "shape": variables[0]._attrs["shape"],
             "use_nesterov": bool(use_nesterov)}
    result = apply_op(_RESOURCE_APPLY_ADAM, inputs, attrs, name=name)
    return None if isinstance(result, list) else result
