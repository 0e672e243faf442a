"""Recurrent layers and wrappers against NumPy step loops written with Keras's equations:
SimpleRNN, LSTM (gates i, f, c, o), GRU (z, r, h; reset_after both ways), masks,
initial and stateful states, go_backwards, stacked and custom cells, Bidirectional,
TimeDistributed, unknown sequence lengths in the functional API."""
import numpy as np
import pytest

import numflow as tf
from numflow.keras import layers
from numflow.testing.layer_test import make_input, run_layer_test


def sig(v):
    return 1 / (1 + np.exp(-v))


def np_simple(x, h, w):
    k, rk, b = w
    return [np.tanh(x @ k + h[0] @ rk + b)]


def np_lstm(x, state, w):
    k, rk, b = w
    h, c = state
    i, f, g, o = np.split(x @ k + h @ rk + b, 4, axis=-1)
    c = sig(f) * c + sig(i) * np.tanh(g)
    return [sig(o) * np.tanh(c), c]


def np_gru(x, state, w, reset_after=True):
    k, rk, b = w
    h = state[0]
    u = rk.shape[0]
    if reset_after:
        xz, xr, xh = np.split(x @ k + b[0], 3, axis=-1)
        rz, rr, rh = np.split(h @ rk + b[1], 3, axis=-1)
        z, r = sig(xz + rz), sig(xr + rr)
        hh = np.tanh(xh + r * rh)
    else:
        xz, xr, xh = np.split(x @ k + b, 3, axis=-1)
        z = sig(xz + h @ rk[:, :u])
        r = sig(xr + h @ rk[:, u:2 * u])
        hh = np.tanh(xh + (r * h) @ rk[:, 2 * u:])
    return [z * h + (1 - z) * hh]


def np_rnn(step, x, weights, states, mask=None, go_backwards=False, zero_output=False):
    """Keras's time loop: masked steps keep the states and repeat the previous output."""
    x = np.asarray(x, np.float64)
    weights = [np.asarray(w, np.float64) for w in weights]
    order = range(x.shape[1])[::-1] if go_backwards else range(x.shape[1])
    outs, prev = [], np.zeros_like(states[0])
    for t in order:
        new = step(x[:, t], states, weights)
        if mask is not None:
            m = mask[:, t, None]
            new = [np.where(m, n, s) for n, s in zip(new, states)]
            out = np.where(m, new[0], 0 if zero_output else prev)
        else:
            out = new[0]
        states, prev = new, (new[0] if mask is None else np.where(m, new[0], prev))
        outs.append(out)
    return np.stack(outs, 1), outs[-1], states


def _random_weights(layer, seed=1):
    rng = np.random.RandomState(seed)
    return [rng.uniform(-0.5, 0.5, w.shape.as_list()).astype("float32") for w in layer.weights]


def _zeros(b, u, n):
    return [np.zeros((b, u)) for _ in range(n)]


CASES = [
    (layers.SimpleRNN, dict(units=4), np_simple, 1),
    (layers.SimpleRNN, dict(units=3, return_sequences=True, go_backwards=True), np_simple, 1),
    (layers.LSTM, dict(units=4), np_lstm, 2),
    (layers.LSTM, dict(units=3, return_sequences=True), np_lstm, 2),
    (layers.LSTM, dict(units=3, go_backwards=True, return_state=True), np_lstm, 2),
    (layers.GRU, dict(units=4), np_gru, 1),
    (layers.GRU, dict(units=3, return_sequences=True, return_state=True), np_gru, 1),
    (layers.GRU, dict(units=3, reset_after=False),
     lambda x, s, w: np_gru(x, s, w, reset_after=False), 1),
]


@pytest.mark.parametrize("layer_cls, kwargs, step, n_states", CASES)
def test_against_numpy_step_loop(layer_cls, kwargs, step, n_states):
    x = make_input((3, 5, 2))
    layer = layer_cls(**kwargs)
    layer(x)
    weights = _random_weights(layer)
    seq, last, states = np_rnn(step, x, weights, _zeros(3, kwargs["units"], n_states),
                               go_backwards=kwargs.get("go_backwards", False))
    expected = seq if kwargs.get("return_sequences") else last
    if kwargs.get("return_state"):
        expected = [expected] + states
    run_layer_test(layer_cls, kwargs, input_data=x, weights=weights, expected_output=expected,
                   supports_masking=True)


def test_keras_weight_layout():
    lstm = layers.LSTM(5, name="lstm")
    lstm(np.zeros((1, 2, 3), "float32"))
    assert [w.name for w in lstm.weights] == ["lstm/lstm_cell/kernel:0",
                                              "lstm/lstm_cell/recurrent_kernel:0",
                                              "lstm/lstm_cell/bias:0"]
    assert [tuple(w.shape.as_list()) for w in lstm.weights] == [(3, 20), (5, 20), (20,)]
    bias = lstm.weights[2].numpy()       # unit_forget_bias: ones on the forget block only
    np.testing.assert_array_equal(bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])
    gru = layers.GRU(4)
    gru(np.zeros((1, 2, 3), "float32"))
    assert [tuple(w.shape.as_list()) for w in gru.weights] == [(3, 12), (4, 12), (2, 12)]
    gru1 = layers.GRU(4, reset_after=False)
    gru1(np.zeros((1, 2, 3), "float32"))
    assert tuple(gru1.weights[2].shape.as_list()) == (12,)
    rnn = layers.SimpleRNN(2)
    rnn(np.zeros((1, 2, 3), "float32"))
    assert [tuple(w.shape.as_list()) for w in rnn.weights] == [(3, 2), (2, 2), (2,)]
    assert lstm.units == 5 and lstm.cell.units == 5


def test_config_round_trip_keys():
    config = layers.LSTM(3, dropout=0.1, return_sequences=True).get_config()
    for key in ("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias",
                "kernel_initializer", "recurrent_initializer", "dropout", "recurrent_dropout",
                "return_sequences", "return_state", "go_backwards", "stateful", "unroll"):
        assert key in config, key
    assert "cell" not in config
    clone = layers.LSTM.from_config(config)
    assert clone.return_sequences and clone.cell.dropout == 0.1
    # tf.keras 2 configs carry implementation / time_major
    layers.GRU.from_config(dict(layers.GRU(2).get_config(), implementation=2, time_major=False))


def test_masking_from_embedding():
    ids = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 0], [5, 0, 0, 0, 0]])
    mask = ids != 0
    emb = layers.Embedding(10, 3, mask_zero=True)
    lstm = layers.LSTM(4, return_sequences=True)
    out = lstm(emb(ids))
    x = emb(ids).numpy()
    seq, _, _ = np_rnn(np_lstm, x, lstm.get_weights(), _zeros(3, 4, 2), mask=mask)
    np.testing.assert_allclose(out.numpy(), seq, atol=1e-5)
    # the mask propagates through return_sequences and is dropped otherwise
    assert lstm.compute_mask(None, tf.constant(mask)) is not None
    last = layers.GRU(3)
    y = last(emb(ids))
    _, expected, _ = np_rnn(np_gru, x, last.get_weights(), _zeros(3, 3, 1), mask=mask)
    np.testing.assert_allclose(y.numpy(), expected, atol=1e-5)


def test_masking_in_functional_model_and_zero_output():
    inp = layers.Input((None,), dtype="int32")
    h = layers.Embedding(10, 3, mask_zero=True)(inp)
    out = layers.SimpleRNN(2, return_sequences=True, zero_output_for_mask=True)(h)
    model = tf.keras.Model(inp, out)
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    y = model.predict(ids, verbose=0)
    assert np.all(y[0, 2] == 0) and np.all(y[1, 1:] == 0) and np.all(y[0, :2] != 0)


def test_initial_state():
    x = make_input((2, 4, 3))
    h0, c0 = make_input((2, 5), seed=1), make_input((2, 5), seed=2)
    lstm = layers.LSTM(5, return_state=True)
    lstm(x)
    out, h, c = lstm(x, initial_state=[h0, c0])
    seq, last, states = np_rnn(np_lstm, x, lstm.get_weights(), [h0, c0])
    np.testing.assert_allclose(out.numpy(), last, atol=1e-5)
    np.testing.assert_allclose(c.numpy(), states[1], atol=1e-5)
    # functional: an encoder's states start a decoder
    enc_in, dec_in = layers.Input((None, 3)), layers.Input((None, 3))
    _, eh, ec = layers.LSTM(5, return_state=True)(enc_in)
    dec = layers.LSTM(5, return_sequences=True)(dec_in, initial_state=[eh, ec])
    assert tuple(dec.shape.as_list()) == (None, None, 5)
    model = tf.keras.Model([enc_in, dec_in], dec)
    assert model.predict([x, x[:, :2]], verbose=0).shape == (2, 2, 5)
    with pytest.raises(ValueError, match="state"):
        lstm(x, initial_state=[h0])


def test_stateful():
    x = make_input((2, 3, 2))
    rnn = layers.SimpleRNN(3, stateful=True)
    first = rnn(x).numpy()
    second = rnn(x).numpy()
    assert not np.allclose(first, second)
    _, expected, states = np_rnn(np_simple, np.concatenate([x, x], 1), rnn.get_weights(),
                                 _zeros(2, 3, 1))
    np.testing.assert_allclose(second, expected, atol=1e-5)
    rnn.reset_states()
    np.testing.assert_allclose(rnn(x).numpy(), first, atol=1e-6)
    assert len(rnn.weights) == 3          # the states are not weights
    with pytest.raises(ValueError, match="batch size"):
        layers.LSTM(2, stateful=True)(layers.Input((3, 2)))


def test_unknown_sequence_length():
    inp = layers.Input((None, 4))
    out = layers.LSTM(6)(inp)
    seq = layers.GRU(2, return_sequences=True)(inp)
    assert tuple(out.shape.as_list()) == (None, 6)
    assert tuple(seq.shape.as_list()) == (None, None, 2)
    model = tf.keras.Model(inp, [out, seq])
    for steps in (3, 7):
        a, b = model.predict(make_input((2, steps, 4)), verbose=0)
        assert a.shape == (2, 6) and b.shape == (2, steps, 2)
    sig_fn = tf.function(lambda v: layers.LSTM(2)(v),
                         input_signature=[tf.TensorSpec([None, None, 4], tf.float32)])
    with pytest.raises(ValueError, match="static number of timesteps"):
        sig_fn(make_input((2, 3, 4)))


def test_dropout_only_while_training():
    x = make_input((4, 6, 3))
    layer = layers.LSTM(5, dropout=0.5, recurrent_dropout=0.5)
    a = layer(x).numpy()
    np.testing.assert_allclose(layer(x, training=False).numpy(), a)
    assert not np.allclose(layer(x, training=True).numpy(), a)
    run_layer_test(layers.GRU, dict(units=3, dropout=0.3, recurrent_dropout=0.3), input_data=x,
                   call_kwargs={"training": True}, expected_output_shape=(4, 3))


def test_stacked_cells_and_generic_rnn():
    x = make_input((2, 4, 3))
    rnn = layers.RNN([layers.LSTMCell(4), layers.GRUCell(2)], return_sequences=True)
    y = rnn(x).numpy()
    w = rnn.get_weights()
    s1, _, _ = np_rnn(np_lstm, x, w[:3], _zeros(2, 4, 2))
    s2, _, _ = np_rnn(np_gru, s1, w[3:], _zeros(2, 2, 1))
    np.testing.assert_allclose(y, s2, atol=1e-5)
    clone = layers.RNN.from_config(rnn.get_config())
    assert len(clone.cell.cells) == 2
    run_layer_test(layers.RNN, dict(cell=layers.SimpleRNNCell(3)), input_data=x,
                   check_functional=False)


class MinimalRNNCell(layers.Layer):
    """The custom cell of Keras's RNN documentation."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                name="recurrent_kernel")

    def call(self, inputs, states):
        prev = states[0] if isinstance(states, (list, tuple)) else states
        output = tf.matmul(inputs, self.kernel) + tf.matmul(prev, self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        return dict(super().get_config(), units=self.units)


def test_custom_cell():
    x = make_input((2, 5, 3))
    layer = layers.RNN(MinimalRNNCell(4), return_sequences=True, name="rnn_custom")
    y = layer(x).numpy()
    k, rk = layer.get_weights()
    h, outs = np.zeros((2, 4)), []
    for t in range(5):
        h = x[:, t] @ k + h @ rk
        outs.append(h)
    np.testing.assert_allclose(y, np.stack(outs, 1), atol=1e-5)
    assert [w.name for w in layer.weights][0].startswith("rnn_custom/")
    inp = layers.Input((None, 3))
    out = layers.RNN(MinimalRNNCell(4))(inp)
    assert tuple(out.shape.as_list()) == (None, 4)
    run_layer_test(layers.RNN, dict(cell=MinimalRNNCell(2)), input_data=x,
                   custom_objects={"MinimalRNNCell": MinimalRNNCell})


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional(merge_mode):
    x = make_input((2, 4, 3))
    layer = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode=merge_mode)
    layer(x)
    weights = _random_weights(layer)
    fw, _, _ = np_rnn(np_gru, x, weights[:3], _zeros(2, 3, 1))
    bw, _, _ = np_rnn(np_gru, x, weights[3:], _zeros(2, 3, 1), go_backwards=True)
    bw = bw[:, ::-1]
    expected = {"concat": np.concatenate([fw, bw], -1), "sum": fw + bw, "mul": fw * bw,
                "ave": (fw + bw) / 2, None: [fw, bw]}[merge_mode]
    run_layer_test(layers.Bidirectional, dict(layer=layers.GRU(3, return_sequences=True),
                                              merge_mode=merge_mode),
                   input_data=x, weights=weights, expected_output=expected)


def test_bidirectional_states_names_and_mask():
    x = make_input((2, 4, 3))
    bi = layers.Bidirectional(layers.LSTM(2, return_state=True, name="lstm"), name="bi")
    out = bi(x)
    assert len(out) == 5 and out[0].shape == (2, 4)
    assert [w.name for w in bi.weights][:1] == ["bi/forward_lstm/lstm_cell/kernel:0"]
    assert [w.name for w in bi.weights][3] == "bi/backward_lstm/lstm_cell/kernel:0"
    inp = layers.Input((None,), dtype="int32")
    h = layers.Embedding(10, 3, mask_zero=True)(inp)
    y = layers.Bidirectional(layers.LSTM(2, return_sequences=True))(h)
    model = tf.keras.Model(inp, layers.GlobalAveragePooling1D()(y))
    assert model.predict(np.array([[1, 2, 0, 0]]), verbose=0).shape == (1, 4)
    with pytest.raises(ValueError, match="merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")


def test_time_distributed():
    x = make_input((2, 4, 3))
    dense = layers.Dense(5)
    td = layers.TimeDistributed(dense)
    y = td(x).numpy()
    k, b = dense.get_weights()
    np.testing.assert_allclose(y, x @ k + b, atol=1e-5)
    run_layer_test(layers.TimeDistributed, dict(layer=layers.Dense(2)), input_data=x,
                   expected_output_shape=(2, 4, 2))
    imgs = make_input((2, 3, 6, 6, 1))
    conv = layers.TimeDistributed(layers.Conv2D(4, 3))
    assert conv(imgs).shape == (2, 3, 4, 4, 4)
    inp = layers.Input((None, 6, 6, 1))
    assert tuple(layers.TimeDistributed(layers.Conv2D(4, 3))(inp).shape.as_list()) == \
        (None, None, 4, 4, 4)


def test_lstm_text_model_trains():
    inp = layers.Input((None,), dtype="int32")
    h = layers.Embedding(50, 8)(inp)
    h = layers.LSTM(8)(h)
    out = layers.Dense(1, activation="sigmoid")(h)
    model = tf.keras.Model(inp, out)
    model.compile(optimizer=tf.keras.optimizers.RMSprop(0.01), loss="binary_crossentropy")
    rng = np.random.RandomState(0)
    ids = rng.randint(1, 50, (64, 12))
    labels = (ids[:, 0] > 25).astype("float32")[:, None]
    hist = model.fit(ids, labels, batch_size=16, epochs=4, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
