"""The pass registry (numflow/runtime/passes/__init__.py): order, switches, errors."""
import pytest

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.runtime import passes


def test_passes_run_in_registered_order():
    assert passes.names() == ["constant_folding", "cse", "fuse_bias_activation", "inplace"]
    assert passes.enabled() == passes.names()


def test_disabled_blocks_nest_and_unwind():
    with passes.disabled("cse"):
        assert "cse" not in passes.enabled()
        with passes.disabled("inplace", "constant_folding"):
            assert passes.enabled() == ["fuse_bias_activation"]
        assert passes.enabled() == ["constant_folding", "fuse_bias_activation", "inplace"]
    assert passes.enabled() == passes.names()
    with passes.disabled("all"):
        assert passes.enabled() == []


def test_environment_switch(monkeypatch):
    monkeypatch.setenv("NUMFLOW_DISABLE_PASSES", "cse, inplace")
    assert passes.enabled() == ["constant_folding", "fuse_bias_activation"]
    monkeypatch.setenv("NUMFLOW_DISABLE_PASSES", "all")
    assert passes.enabled() == []


def test_unknown_names_are_rejected(monkeypatch):
    with pytest.raises(ValueError, match="unknown passes \\['nope'\\]"):
        with passes.disabled("nope"):
            pass
    assert passes.enabled() == passes.names()      # the failed block left nothing behind
    monkeypatch.setenv("NUMFLOW_DISABLE_PASSES", "constant_fold")
    with pytest.raises(ValueError, match="known: \\['constant_folding'"):
        passes.enabled()


def test_registering_a_name_twice_fails():
    with pytest.raises(KeyError, match="registered twice"):
        passes.register("cse", order=99)(lambda program: None)


def test_plans_record_the_passes_they_ran(graph_mode):
    y = tf1.placeholder(tf.float32, [2]) * 2.0
    with tf1.Session() as sess:
        sess.run(y, {y.op.inputs[0]: [1.0, 2.0]})
        plan, = [p for k, p in sess._plans.items() if isinstance(k, tuple)]
        assert plan.passes == passes.names()
    with passes.disabled("cse"), tf1.Session() as sess:
        sess.run(y, {y.op.inputs[0]: [1.0, 2.0]})
        plan, = [p for k, p in sess._plans.items() if isinstance(k, tuple)]
        assert "cse" not in plan.passes
