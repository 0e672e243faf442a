"""Every pass together keeps training bit-for-bit identical: a Keras model fitted with all
passes on and with all off ends with the same weights; so does a TF1 Session loop."""
import numpy as np

import numflow as tf
import numflow.compat.v1 as tf1
from numflow.runtime import passes


def _keras_weights(off):
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(1)
    r = np.random.RandomState(0)
    x = r.rand(64, 6, 6, 1).astype(np.float32)
    y = r.randint(0, 3, 64)
    with passes.disabled(*off):
        model = tf.keras.Sequential([
            tf.keras.Input(shape=(6, 6, 1)),
            L.Conv2D(4, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
            L.Flatten(), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")])
        model.compile(optimizer=tf.keras.optimizers.Adam(1e-2),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    return model.get_weights(), hist.history


def test_keras_fit_identical_with_and_without_passes():
    (w_on, h_on), (w_off, h_off) = _keras_weights(()), _keras_weights(["all"])
    assert h_on == h_off
    for a, b in zip(w_on, w_off):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def _tf1_loss_curve(off):
    r = np.random.RandomState(0)
    xs, ys = r.rand(5, 20, 8).astype(np.float32), r.rand(5, 20, 3).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        x = tf1.placeholder(tf.float32, [None, 8])
        y = tf1.placeholder(tf.float32, [None, 3])
        w = tf1.Variable(np.full((8, 3), 0.1, np.float32))
        b = tf1.Variable(np.zeros(3, np.float32))
        p = tf.nn.softmax(tf.nn.relu(tf.matmul(x, w) + b))
        loss = -tf.reduce_sum(y * tf.math.log(p + 1e-6))
        step = tf1.train.AdamOptimizer(0.1).minimize(loss)
        init = tf1.global_variables_initializer()
    with passes.disabled(*off), tf1.Session(graph=g) as sess:
        sess.run(init)
        curve = [sess.run([loss, step], {x: xs[i], y: ys[i]})[0] for i in range(5)]
        return curve, sess.run([w, b])


def test_tf1_training_identical_with_and_without_passes():
    (c_on, v_on), (c_off, v_off) = _tf1_loss_curve(()), _tf1_loss_curve(["all"])
    assert c_on == c_off
    assert all(np.array_equal(a, b) for a, b in zip(v_on, v_off))
