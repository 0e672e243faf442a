import pytest

import numflow as tf
from numflow.framework import errors


@pytest.mark.parametrize("cls,code", [
    (tf.errors.InvalidArgumentError, errors.INVALID_ARGUMENT),
    (tf.errors.FailedPreconditionError, errors.FAILED_PRECONDITION),
    (tf.errors.NotFoundError, errors.NOT_FOUND),
    (tf.errors.OutOfRangeError, errors.OUT_OF_RANGE),
    (tf.errors.ResourceExhaustedError, errors.RESOURCE_EXHAUSTED),
    (tf.errors.UnimplementedError, errors.UNIMPLEMENTED),
    (tf.errors.DataLossError, errors.DATA_LOSS),
])
def test_error_classes(cls, code):
    e = cls(None, None, "boom")
    assert isinstance(e, tf.errors.OpError) and e.error_code == code
    assert str(e) == "boom" and e.message == "boom"
    assert errors.exception_type_from_error_code(code) is cls
    assert errors.error_code_from_exception_type(cls) == code
