"""Every test starts in TF2's default state: eager on, a fresh default graph, no session.

Importing ``numflow.v1`` switches eager off process-wide (as the real TF1 would); this
fixture puts it back so tests do not leak modes into each other. Tests that want TF1
graph mode take the ``graph_mode`` fixture.
"""
import pytest

import numflow  # noqa: F401 - registers ops before any test module runs
from numflow.framework import context


@pytest.fixture(autouse=True)
def _tf2_defaults():
    context.enable_eager_execution()
    context.reset_default_graph()
    yield
    del context._tls.graph_stack[:]
    context.enable_eager_execution()
    context.reset_default_graph()


@pytest.fixture
def graph_mode():
    """TF1 semantics for the test body: eager off, a fresh default graph."""
    context.disable_eager_execution()
    context.reset_default_graph()
    yield context.get_default_graph()
