"""numflow/ops/linalg_ops.py: table rows (forward, graph == eager, shapes, gradients) and
error paths for einsum, tensordot, norm, diagonals, trace, eye, matrix_transpose."""
import numpy as np
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.framework import errors
from numflow.testing import Row, add_rows

R = np.random.RandomState(7)
BAD = (errors.InvalidArgumentError, ValueError)


def rnd(*shape):
    return R.uniform(-2, 2, shape).astype(np.float32)


ROWS = add_rows([
    Row("Einsum", lambda a, b: tf.einsum("ij,jk->ik", a, b), [rnd(2, 3), rnd(3, 4)],
        lambda a, b: a @ b, grad2=True, name="matmul"),
    Row("Einsum", lambda a, b: tf.einsum("...ij,...jk", a, b), [rnd(2, 2, 3), rnd(2, 3, 4)],
        np.matmul, name="batch_ellipsis_implicit"),
    Row("Einsum", lambda a: tf.einsum("ijk->kj", a), [rnd(2, 3, 4)],
        lambda a: a.sum(0).T, name="sum_out"),
    Row("Einsum", lambda a, b, c: tf.einsum("i,j,k->ijk", a, b, c), [rnd(2), rnd(3), rnd(1)],
        lambda a, b, c: np.einsum("i,j,k->ijk", a, b, c), name="outer3"),
    Row("Einsum", lambda a, b: tf.einsum("ij,ij->i", a, b), [rnd(0, 3), rnd(0, 3)],
        lambda a, b: (a * b).sum(1), name="empty"),
    Row("MatMul", lambda a, b: tf.tensordot(a, b, 1), [rnd(2, 3), rnd(3, 4)],
        lambda a, b: np.tensordot(a, b, 1), name="tensordot"),
    Row("MatMul", lambda a, b: tf.tensordot(a, b, [[0, 2], [2, 1]]),
        [rnd(2, 3, 4), rnd(5, 4, 2)], lambda a, b: np.tensordot(a, b, [[0, 2], [2, 1]]),
        name="tensordot_axes"),
    Row("MatrixDiag", lambda d: tf.linalg.diag(d), [rnd(2, 3)],
        lambda d: np.stack([np.diag(r) for r in d])),
    Row("MatrixDiagPart", lambda x: tf.linalg.diag_part(x), [rnd(2, 3, 4)],
        lambda x: np.diagonal(x, axis1=-2, axis2=-1)),
    Row("MatrixDiagPart", lambda x: tf.linalg.trace(x), [rnd(3, 3)], np.trace, name="trace"),
    Row("MatrixSetDiag", lambda x, d: tf.linalg.set_diag(x, d), [rnd(2, 3, 2), rnd(2, 2)],
        lambda x, d: _set_diag(x, d)),
    Row("Diag", lambda d: tf.linalg.tensor_diag(d), [rnd(2, 2)],
        lambda d: np.diag(d.reshape(-1)).reshape(2, 2, 2, 2)),
    Row("DiagPart", lambda x: tf.linalg.tensor_diag_part(x), [rnd(3, 3)], np.diag),
    Row("Sqrt", lambda x: tf.norm(x), [rnd(2, 3)], np.linalg.norm, name="norm"),
    Row("Sum", lambda x: tf.norm(x, ord=1, axis=1, keepdims=True), [rnd(2, 3) + 3],
        lambda x: np.abs(x).sum(1, keepdims=True), name="norm_l1"),
    Row("Max", lambda x: tf.norm(x, ord=np.inf, axis=[0, 1]), [rnd(3, 3)],
        lambda x: np.linalg.norm(x, np.inf), name="norm_matrix_inf"),
    Row("Pow", lambda x: tf.norm(x, ord=3), [rnd(4) + 3], lambda x: np.linalg.norm(x, 3),
        name="norm_p"),
    Row("Transpose", lambda x: tf.linalg.matrix_transpose(x), [rnd(2, 3, 4)],
        lambda x: x.transpose(0, 2, 1), name="matrix_transpose"),
    Row("Equal", lambda: tf.eye(2, 3, batch_shape=[2]), [],
        lambda: np.broadcast_to(np.eye(2, 3), (2, 2, 3)), grad=False, name="eye"),
])


def _set_diag(x, d):
    out = x.copy()
    i = np.arange(d.shape[-1])
    out[..., i, i] = d
    return out


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_row(row):
    row.check()


def test_einsum_errors():
    with pytest.raises(ValueError, match="names 2 inputs"):
        tf.einsum("ij,jk->ik", tf.ones([2, 2]))
    with pytest.raises(BAD, match="dimension 'j'"):
        tf.einsum("ij,jk->ik", tf.ones([2, 3]), tf.ones([4, 2]))
    with pytest.raises(BAD, match="does not appear"):
        tf.einsum("ij->iz", tf.ones([2, 3]))
    with pytest.raises(BAD, match="rank"):
        tf.einsum("ijk->i", tf.ones([2, 3]))
    with pytest.raises(TypeError):
        tf.einsum("i,i->", tf.ones([2]), tf.ones([2], tf.int32))
    x = tf.ones([3, 3])
    with tf.GradientTape() as t:
        t.watch(x)
        y = tf.einsum("ii->", x)
    with pytest.raises(NotImplementedError, match="repeated subscript"):
        t.gradient(y, x)


def test_tensordot_and_norm_errors():
    with pytest.raises(ValueError, match="axes=3"):
        tf.tensordot(tf.ones([2, 2]), tf.ones([2, 2]), 3)
    with pytest.raises(ValueError, match="different number"):
        tf.tensordot(tf.ones([2, 2]), tf.ones([2, 2]), [[0], [0, 1]])
    with pytest.raises(BAD):
        tf.tensordot(tf.ones([2, 3]), tf.ones([2, 3]), 1)
    with pytest.raises(NotImplementedError, match="ord=2"):
        tf.norm(tf.ones([2, 2]), ord=2, axis=[0, 1])
    with pytest.raises(ValueError, match="ord"):
        tf.norm(tf.ones([2]), ord=-1)
    with pytest.raises(TypeError):
        tf.norm(tf.constant([1, 2]))


def test_diag_errors_and_names():
    with pytest.raises(BAD, match="rank 2"):
        tf.linalg.diag_part(tf.ones([3]))
    with pytest.raises(BAD, match="does not fit"):
        tf.linalg.set_diag(tf.ones([2, 3]), tf.ones([3]))
    with pytest.raises(NotImplementedError, match="k != 0"):
        tf.linalg.diag(tf.ones([2]), k=1)
    with pytest.raises(ValueError, match="rank >= 2"):
        tf.linalg.matrix_transpose(tf.ones([2]))
    assert tf1.diag is tf.linalg.tensor_diag and tf1.matrix_diag is tf.linalg.diag
    assert tf1.trace is tf.linalg.trace and not hasattr(tf, "trace")
    with tf.Graph().as_default():
        p = tf1.placeholder(tf.float32, [None, 3, 4])
        assert tf.linalg.diag_part(p).shape.as_list() == [None, 3]
        assert tf.tensordot(p, tf.ones([4, 5]), 1).shape.as_list() == [None, 3, 5]
