"""Test helpers for numflow ops (``numflow.testing.check_op`` and the op-table registry)."""
from numflow.testing.op_test import (OP_ROWS, Row, add_rows, check_op, eager_mode,  # noqa: F401
                                     run_eager, run_graph)
