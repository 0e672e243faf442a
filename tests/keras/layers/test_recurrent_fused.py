"""Keras LSTM on the fused BlockLSTMV2 op (numflow/keras/layers/recurrent.py): when the
fused path is taken, and that it gives the unrolled path's outputs, states and gradients
(eager, inside tf.function, and through model.fit)."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.ops import rnn_ops
from numflow.testing.layer_test import make_input


@pytest.fixture
def fused_calls(monkeypatch):
    """Counts BlockLSTMV2 kernel runs (eager calls and tf.function/fit plan steps)."""
    calls = []
    kernel = rnn_ops._BLOCK_LSTM.kernel

    def counting(*args, **kwargs):
        calls.append(1)
        return kernel(*args, **kwargs)
    monkeypatch.setattr(rnn_ops._BLOCK_LSTM, "kernel", counting)
    return calls


def unrolled(layer):
    """The same layer forced onto the unrolled path."""
    layer._can_fuse = lambda mask, training: False
    return layer


def twin(kwargs, x, **call):
    """A built fused layer and an unrolled copy with the same (random) weights."""
    fused, plain = layers.LSTM(**kwargs), unrolled(layers.LSTM(**kwargs))
    fused(x, **call)
    plain(x, **call)
    rng = np.random.RandomState(3)
    weights = [rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in fused.get_weights()]
    fused.set_weights(weights)
    plain.set_weights(weights)
    return fused, plain


def _flat(out):
    return [o.numpy() for o in (out if isinstance(out, (list, tuple)) else [out])]


def assert_same(a, b, atol=2e-6):
    a, b = _flat(a), _flat(b)
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.shape == v.shape
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=atol)


CONFIGS = [
    dict(units=4),
    dict(units=3, return_sequences=True),
    dict(units=3, return_state=True),
    dict(units=4, go_backwards=True, return_sequences=True, return_state=True),
    dict(units=2, use_bias=False),
    dict(units=3, unit_forget_bias=False, return_sequences=True),
    dict(units=3, time_major=True, return_sequences=True),
    dict(units=3, activation=tf.tanh, recurrent_activation=tf.sigmoid),
]


@pytest.mark.parametrize("kwargs", CONFIGS, ids=[str(sorted(c)) for c in CONFIGS])
def test_forward_and_gradients_match_the_unrolled_path(kwargs, fused_calls):
    x = tf.constant(make_input((3, 6, 5), seed=1))
    fused, plain = twin(kwargs, x)
    assert fused_calls
    assert_same(fused(x), plain(x))
    grads = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            tape.watch(x)
            outs = layer(x)
            outs = outs if isinstance(outs, list) else [outs]
            loss = tf.add_n([tf.reduce_sum(o * o * 0.5 + o) for o in outs])
        grads.append(tape.gradient(loss, [x] + layer.trainable_weights))
    for g_fused, g_plain in zip(*grads):
        np.testing.assert_allclose(g_fused.numpy(), g_plain.numpy(), rtol=1e-4, atol=1e-6)


def test_initial_and_final_states_and_their_gradients(fused_calls):
    x = tf.constant(make_input((2, 5, 3)))
    h0, c0 = (tf.constant(make_input((2, 4), seed=s)) for s in (1, 2))
    fused, plain = twin(dict(units=4, return_state=True), x)
    results = []
    for layer in (fused, plain):
        with tf.GradientTape() as tape:
            tape.watch([x, h0, c0])
            out, h, c = layer(x, initial_state=[h0, c0])
            loss = tf.reduce_sum(out) + tf.reduce_sum(h * h) + tf.reduce_sum(c * 3.0)
        results.append([out, h, c] + tape.gradient(loss, [x, h0, c0] + layer.trainable_weights))
    assert len(fused_calls) >= 2
    assert_same(results[0], results[1], atol=1e-5)


def test_inside_tf_function(fused_calls):
    x = make_input((3, 7, 2))
    fused, plain = twin(dict(units=3, return_sequences=True), x)

    def step(layer):
        @tf.function
        def fn(v):
            with tf.GradientTape() as tape:
                out = layer(v)
                loss = tf.reduce_sum(out * out)
            return [out] + tape.gradient(loss, layer.trainable_weights)
        return fn(tf.constant(x))

    before = len(fused_calls)
    assert_same(step(fused), step(plain), atol=1e-5)
    assert len(fused_calls) > before


def _model(fuse, seed=0):
    tf.keras.utils.set_random_seed(seed)
    inp = layers.Input((8,), dtype="int32")
    h = layers.Embedding(20, 6)(inp)
    lstm = layers.LSTM(5)
    out = layers.Dense(1, activation="sigmoid")(lstm(h) if fuse else unrolled(lstm)(h))
    model = tf.keras.Model(inp, out)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    return model


def test_model_fit_matches_the_unrolled_path(fused_calls):
    rng = np.random.RandomState(0)
    ids = rng.randint(0, 20, (24, 8))
    labels = (ids[:, 0] > 9).astype("float32")[:, None]
    fused, plain = _model(True), _model(False)
    plain.set_weights(fused.get_weights())
    hist = [m.fit(ids, labels, batch_size=8, epochs=2, verbose=0, shuffle=False).history["loss"]
            for m in (fused, plain)]
    assert fused_calls
    np.testing.assert_allclose(hist[0], hist[1], rtol=1e-5)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fused.predict(ids, verbose=0), plain.predict(ids, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_stateful_and_bidirectional(fused_calls):
    x = make_input((2, 4, 3))
    fused, plain = twin(dict(units=3, stateful=True), x)
    fused.reset_states()
    plain.reset_states()
    assert_same([fused(x), fused(x)], [plain(x), plain(x)], atol=1e-5)
    assert_same(fused.states, plain.states, atol=1e-5)
    bi = layers.Bidirectional(layers.LSTM(2, return_sequences=True))
    y = bi(x)
    before = len(fused_calls)
    for direction in (bi.forward_layer, bi.backward_layer):
        unrolled(direction)
    assert_same(y, bi(x))
    assert len(fused_calls) == before


@pytest.mark.parametrize("kwargs, call, fused", [
    (dict(units=3, dropout=0.3), dict(training=True), False),
    (dict(units=3, recurrent_dropout=0.3), dict(training=True), False),
    (dict(units=3, dropout=0.3, recurrent_dropout=0.3), dict(training=False), True),
    (dict(units=3, recurrent_activation="hard_sigmoid"), {}, False),
    (dict(units=3, activation="relu"), {}, False),
    (dict(units=3, unroll=True), {}, False),
    (dict(units=3), dict(mask=np.array([[1, 1, 1, 0]] * 2, bool)), False),
])
def test_when_the_fused_op_is_used(kwargs, call, fused, fused_calls):
    x = make_input((2, 4, 3))
    layers.LSTM(**kwargs)(x, **call)
    assert bool(fused_calls) == fused


def test_plain_rnn_of_lstm_cell_stays_unrolled(fused_calls):
    layers.RNN(layers.LSTMCell(3))(make_input((2, 4, 3)))
    assert not fused_calls
