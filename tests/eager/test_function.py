import numpy as np
import pytest

import numflow as tf


def test_traces_once_per_signature():
    traces = []

    @tf.function
    def f(x):
        traces.append(1)          # Python side effect: trace time only
        return x * 2.0 + 1.0

    assert f(tf.constant([1.0])).numpy().tolist() == [3.0]
    assert f(tf.constant([5.0])).numpy().tolist() == [11.0]
    assert len(traces) == 1
    f(tf.constant([1.0, 2.0]))     # new shape -> retrace
    assert len(traces) == 2 and f.experimental_get_tracing_count() == 2


def test_input_signature_allows_any_batch():
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    def f(x):
        return tf.reduce_sum(x, axis=1)
    assert f(tf.ones([3, 2])).numpy().tolist() == [2.0, 2.0, 2.0]
    assert f(tf.ones([5, 2])).shape == (5,)
    assert f.experimental_get_tracing_count() == 1


def test_variables_updated_in_program_order():
    v = tf.Variable(1.0)

    @tf.function
    def step():
        before = v.read_value()
        v.assign_add(1.0)
        after = v.read_value()
        return before, after

    b, a = step()
    assert (b.numpy(), a.numpy()) == (1.0, 2.0)
    b, a = step()
    assert (b.numpy(), a.numpy()) == (2.0, 3.0) and v.numpy() == 3.0


def test_gradient_inside_function_matches_eager():
    w = tf.Variable([[0.5], [-0.25]])
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])

    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.matmul(x, w) * tf.matmul(x, w))
        g = tape.gradient(loss, w)
        w.assign_sub(0.1 * g)
        return loss

    eager_losses = [float(step()) for _ in range(3)]
    w.assign([[0.5], [-0.25]])
    traced = tf.function(step)
    traced_losses = [float(traced()) for _ in range(3)]
    np.testing.assert_allclose(eager_losses, traced_losses, rtol=1e-6)


def test_variable_created_while_tracing_is_lifted():
    holder = []

    @tf.function
    def f(x):
        if not holder:
            holder.append(tf.Variable(tf.ones([2])))
        return x * holder[0]

    assert f(tf.constant([2.0, 3.0])).numpy().tolist() == [2.0, 3.0]
    assert holder[0].numpy().tolist() == [1.0, 1.0]


def test_python_bool_of_traced_tensor_raises():
    @tf.function
    def f(x):
        if x:
            return x
        return -x
    with pytest.raises(TypeError):
        f(tf.constant(1.0))


def test_outputs_keep_structure_and_python_values():
    captured = tf.constant([10.0])

    @tf.function
    def f(x):
        return {"b": x + captured, "a": (3, x * 2.0), "none": None}

    @tf.function
    def single(x):
        return x + captured

    for _ in range(2):      # the first call builds the plan, the second reuses it
        out = f(np.ones(1, np.float32))
        assert sorted(out) == ["a", "b", "none"] and out["none"] is None
        assert out["a"][0] == 3 and out["a"][1].numpy().tolist() == [2.0]
        assert out["b"].numpy().tolist() == [11.0]
        assert single(tf.constant([1.0])).numpy().tolist() == [11.0]
    assert f.experimental_get_tracing_count() == 1


def test_numpy_and_eager_arguments_share_a_trace():
    @tf.function
    def f(x):
        return x * 2
    f(np.ones(2, np.float32))
    f(tf.ones([2]))
    assert f.experimental_get_tracing_count() == 1
    f(np.ones(2, np.float64))
    assert f.experimental_get_tracing_count() == 2
