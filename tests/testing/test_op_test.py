"""The op harness itself: it must catch wrong forwards, wrong gradients, graph/eager
disagreements and float64 leaks, and pass correct ops."""
import numpy as np
import pytest

import numflow as tf
from numflow.ops.apply import apply_op
from numflow.ops.registry import register_op
from numflow.ops import infer
from numflow.testing import Row, add_rows, check_op, OP_ROWS

X = np.linspace(-1, 1, 6).astype(np.float32).reshape(2, 3)


def test_passes_a_correct_op():
    check_op(lambda x: tf.math.sin(x), [X], np.sin, grad2=True, op_type="Sin")


def test_catches_a_wrong_forward():
    with pytest.raises(AssertionError, match="forward"):
        check_op(lambda x: tf.math.sin(x), [X], np.cos)


def test_catches_a_missing_op_type():
    with pytest.raises(AssertionError, match="did not create a Cos op"):
        check_op(lambda x: tf.math.sin(x), [X], np.sin, op_type="Cos")


_BAD_GRAD = register_op("TestOnlyBadGrad", infer=infer.same_as_input(),
                        kernel=lambda xp, x: x * x, grad=lambda op, g: [g * op.inputs[0]])


def test_catches_a_wrong_gradient():
    with pytest.raises(AssertionError, match="central differences"):
        check_op(lambda x: apply_op(_BAD_GRAD, [x]), [X], np.square)


_LEAK = register_op("TestOnlyFloat64Leak", infer=infer.same_as_input(),
                    kernel=lambda xp, x: x.astype(np.float64))


def test_catches_float64_leak_and_static_dtype_mismatch():
    with pytest.raises(AssertionError, match="float64"):
        check_op(lambda x: apply_op(_LEAK, [x]), [X], lambda x: x, grad=False)


def test_add_rows_records_op_types():
    add_rows([Row("TestOnlyBadGrad", lambda x: x, [X], name="probe")])
    assert "TestOnlyBadGrad:probe" in OP_ROWS["TestOnlyBadGrad"]
    OP_ROWS.pop("TestOnlyBadGrad")
