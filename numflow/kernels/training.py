"""Fused optimizer updates, as TensorFlow's training kernels compute them.

Each function updates its slot arrays and the variable's array in place and returns
nothing. The update runs over the flattened arrays in blocks of ``BLOCK`` elements, so
every intermediate of one block stays in the CPU cache while all the update's passes
run over it: for the seed CNN's 3136x1024 dense kernel (12.8 MB per array), Adam as
separate array expressions took 6.5-8.2 ms, the same passes in place over whole arrays
5.7-5.8 ms, and in 32k-element blocks 3.9-4.0 ms (2 cores, float32, median of 9;
docs/performance.md). Blocks of 8k elements cost more in per-call overhead (5.3 ms),
64k no less (3.9 ms); splitting the blocks over two threads did not pay reliably.
"""
BLOCK = 1 << 15


def _blocks(size):
    for start in range(0, size, BLOCK):
        yield slice(start, min(start + BLOCK, size))


def apply_adam(xp, var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad,
               use_nesterov=False):
    """TF's ``ApplyAdam`` in place on ``var``, ``m`` and ``v``::

        alpha = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
        m += (grad - m) * (1 - beta1)
        v += (grad**2 - v) * (1 - beta2)
        var -= alpha * m / (sqrt(v) + epsilon)                    (use_nesterov=False)
        var -= alpha * (m * beta1 + grad * (1 - beta1)) / (sqrt(v) + epsilon)   (True)

    Args:
      xp: the array module.
      var, m, v: float arrays of one shape and dtype, contiguous and writeable; updated.
      beta1_power, beta2_power, lr, beta1, beta2, epsilon: scalars of that dtype.
      grad: array of the same shape and dtype.
      use_nesterov: Nesterov momentum, as above.
    """
    dtype = var.dtype.type
    one = dtype(1)
    beta1, beta2, epsilon = dtype(beta1), dtype(beta2), dtype(epsilon)
    alpha = dtype(lr) * xp.sqrt(one - dtype(beta2_power)) / (one - dtype(beta1_power))
    keep1, keep2 = one - beta1, one - beta2
    flat = [a.reshape(-1) for a in (var, m, v, grad)]
    scratch = xp.empty((2, min(BLOCK, flat[0].size)), dtype=var.dtype)
    for part in _blocks(flat[0].size):
        x, mb, vb, g = (a[part] for a in flat)
        t, u = scratch[0, :g.size], scratch[1, :g.size]
        xp.subtract(g, mb, out=t)
        xp.multiply(t, keep1, out=t)
        xp.add(mb, t, out=mb)
        xp.square(g, out=t)
        xp.subtract(t, vb, out=t)
        xp.multiply(t, keep2, out=t)
        xp.add(vb, t, out=vb)
        xp.sqrt(vb, out=t)
        xp.add(t, epsilon, out=t)
        if use_nesterov:
            xp.multiply(g, keep1, out=u)
            u += mb * beta1
            xp.multiply(u, alpha, out=u)
        else:
            xp.multiply(mb, alpha, out=u)
        xp.divide(u, t, out=u)
        xp.subtract(x, u, out=x)
