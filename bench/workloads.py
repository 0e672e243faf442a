"""The workloads, written against the TensorFlow API only: ``tf`` is numflow or tensorflow.

Each returns a list of (metric, values, unit).
"""
import time

import numpy as np

from bench.common import SEED, mnist, repeat_time


def _mlp(tf):
    L = tf.keras.layers
    return tf.keras.Sequential([tf.keras.Input(shape=(784,)), L.Dense(512, activation="relu"),
                                L.Dense(512, activation="relu"),
                                L.Dense(10, activation="softmax")])


def _cnn(tf):
    L = tf.keras.layers
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(28, 28, 1)),
        L.Conv2D(32, 5, padding="same", activation="relu"), L.MaxPooling2D(2),
        L.Conv2D(64, 5, padding="same", activation="relu"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(1024, activation="relu"), L.Dropout(0.5),
        L.Dense(10, activation="softmax")])
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-4),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit_rate(tf, model, x, y, batch, steps, repeat):
    """Samples/s over ``repeat`` chunks of ``steps`` batches after ``steps`` warm-up batches."""
    stamps = []

    class StepTimer(tf.keras.callbacks.Callback):
        def on_train_batch_end(self, b, logs=None):
            stamps.append(time.perf_counter())

    n = batch * steps * (1 + repeat)
    model.fit(x[:n], y[:n], batch_size=batch, epochs=1, verbose=0, callbacks=[StepTimer()])
    marks = stamps[steps - 1::steps]
    return [batch * steps / (b - a) for a, b in zip(marks, marks[1:])]


def w1_softmax(tf, repeat):
    """W1: TF1 softmax regression on MNIST driven by Session.run(train_step, feed_dict)."""
    v1 = tf.compat.v1
    xtr, ytr, xte, yte = mnist()
    ytr1, yte1 = np.eye(10, dtype=np.float32)[ytr], np.eye(10, dtype=np.float32)[yte]
    order = np.random.default_rng(SEED).permutation(len(xtr))
    g = tf.Graph()
    with g.as_default():
        x = v1.placeholder(tf.float32, [None, 784])
        y_ = v1.placeholder(tf.float32, [None, 10])
        W = tf.Variable(tf.zeros([784, 10]))
        b = tf.Variable(tf.zeros([10]))
        y = tf.nn.softmax(tf.matmul(x, W) + b)
        loss = -tf.reduce_sum(y_ * tf.math.log(y))
        train = v1.train.GradientDescentOptimizer(0.01).minimize(loss)
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1)), tf.float32))
        init = v1.global_variables_initializer()
    step = [0]
    sess = v1.Session(graph=g)
    sess.run(init)

    def run(n):
        for _ in range(n):
            i = (step[0] * 100) % len(xtr)
            idx = order[i:i + 100]
            sess.run(train, feed_dict={x: xtr[idx], y_: ytr1[idx]})
            step[0] += 1
    run(100)
    chunk = 900 // repeat
    times = repeat_time(lambda: run(chunk), repeat, warmup=0)
    run(1000 - step[0])
    a = sess.run(acc, feed_dict={x: xte, y_: yte1})
    return [("train_steps_per_s", [chunk / t for t in times], "steps/s"),
            ("test_acc_after_1000_steps", [float(a)], "fraction")]


def w2_mlp(tf, repeat):
    """W2: Keras MLP 784-512-512-10, Adam, batch 128 (steps of 1 epoch chunks)."""
    tf.keras.utils.set_random_seed(SEED)
    xtr, ytr, _, _ = mnist()
    model = _mlp(tf)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return [("train_samples_per_s", _fit_rate(tf, model, xtr, ytr, 128, 60, repeat),
             "samples/s")]


def w3_cnn(tf, repeat):
    """W3: the seed's deep-MNIST CNN in Keras, batch 50."""
    tf.keras.utils.set_random_seed(SEED)
    xtr, ytr, _, _ = mnist(flat=False)
    return [("train_samples_per_s", _fit_rate(tf, _cnn(tf), xtr, ytr, 50, 20, repeat),
             "samples/s")]


def w3v1_deep_mnist(tf, repeat, steps=20):
    """W3v1: the seed's deep-MNIST CNN written in TF1 style (tf.nn.conv2d, max_pool, dropout
    with keep_prob, AdamOptimizer 1e-4, Session.run with feeds), batch 50."""
    v1 = tf.compat.v1
    xtr, ytr, _, _ = mnist()
    ytr1 = np.eye(10, dtype=np.float32)[ytr]
    g = tf.Graph()
    with g.as_default():
        v1.set_random_seed(SEED)
        x = v1.placeholder(tf.float32, [None, 784])
        y_ = v1.placeholder(tf.float32, [None, 10])
        keep = v1.placeholder(tf.float32)
        w = lambda s: tf.Variable(v1.truncated_normal(s, stddev=0.1))
        b = lambda n: tf.Variable(tf.constant(0.1, shape=[n]))
        conv = lambda h, W: tf.nn.conv2d(h, W, strides=[1, 1, 1, 1], padding="SAME")
        pool = lambda h: tf.nn.max_pool2d(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1],
                                          padding="SAME")
        h = tf.reshape(x, [-1, 28, 28, 1])
        h = pool(tf.nn.relu(conv(h, w([5, 5, 1, 32])) + b(32)))
        h = pool(tf.nn.relu(conv(h, w([5, 5, 32, 64])) + b(64)))
        h = tf.nn.relu(tf.matmul(tf.reshape(h, [-1, 7 * 7 * 64]), w([3136, 1024])) + b(1024))
        h = v1.nn.dropout(h, keep_prob=keep)
        logits = tf.matmul(h, w([1024, 10])) + b(10)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))
        train = v1.train.AdamOptimizer(1e-4).minimize(loss)
        init = v1.global_variables_initializer()
    sess = v1.Session(graph=g)
    sess.run(init)
    pos = [0]

    def run(n):
        for _ in range(n):
            i = pos[0] % (len(xtr) - 50)
            sess.run(train, {x: xtr[i:i + 50], y_: ytr1[i:i + 50], keep: 0.5})
            pos[0] += 50
    times = repeat_time(lambda: run(steps), repeat)
    return [("train_samples_per_s", [50 * steps / t for t in times], "samples/s")]


def w4_overhead(tf, repeat, n=2000):
    """W4a: Session.run of the seed's 3-op matmul graph; W4b: eager 2x2 tf.add."""
    v1 = tf.compat.v1
    g = tf.Graph()
    with g.as_default():
        product = tf.matmul(tf.constant([[3.0, 3.0]]), tf.constant([[2.0], [2.0]]))
    sess = v1.Session(graph=g)
    t = repeat_time(lambda: [sess.run(product) for _ in range(n)], repeat)
    a = tf.constant(np.ones((2, 2), np.float32))
    b = tf.constant(np.ones((2, 2), np.float32))
    t2 = repeat_time(lambda: [tf.add(a, b) for _ in range(n * 5)], repeat)
    return [("session_run_matmul_us", [s / n * 1e6 for s in t], "us"),
            ("eager_add_2x2_us", [s / (n * 5) * 1e6 for s in t2], "us")]


def w5_lstm(tf, repeat):
    """W5: Embedding(2000,64)-LSTM(32)-Dense(1), length-100 sequences, batch 32."""
    tf.keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    n = 32 * 20 * (1 + repeat)
    x = rng.integers(0, 2000, (n, 100)).astype(np.int32)
    y = rng.integers(0, 2, (n, 1)).astype(np.float32)
    L = tf.keras.layers
    model = tf.keras.Sequential([tf.keras.Input(shape=(100,), dtype="int32"),
                                 L.Embedding(2000, 64), L.LSTM(32),
                                 L.Dense(1, activation="sigmoid")])
    model.compile(optimizer=tf.keras.optimizers.RMSprop(), loss="binary_crossentropy")
    return [("train_samples_per_s", _fit_rate(tf, model, x, y, 32, 20, repeat), "samples/s")]


def w7_infer(tf, repeat):
    """W7: MLP model(x) at batch 1 and predict throughput at batch 1024."""
    tf.keras.utils.set_random_seed(SEED)
    model = _mlp(tf)
    x1 = np.random.default_rng(SEED).random((1, 784), np.float32)
    xb = np.random.default_rng(SEED).random((1024, 784), np.float32)
    t = repeat_time(lambda: [model(x1, training=False) for _ in range(200)], repeat, warmup=2)
    t2 = repeat_time(lambda: [model.predict_on_batch(xb) for _ in range(20)], repeat, warmup=2)
    return [("batch1_call_ms", [s / 200 * 1e3 for s in t], "ms"),
            ("batch1024_samples_per_s", [20 * 1024 / s for s in t2], "samples/s")]


def w8_memory(tf, repeat):
    """W8: peak RSS after 100 training steps of the CNN (run in a fresh process)."""
    import resource
    tf.keras.utils.set_random_seed(SEED)
    xtr, ytr, _, _ = mnist(flat=False)
    _cnn(tf).fit(xtr[:5000], ytr[:5000], batch_size=50, epochs=1, verbose=0)
    return [("peak_rss_cnn_100_steps", [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024],
             "MB")]


def w9_matmul(tf, repeat):
    """W9 reference: this framework's 2048^3 float32 matmul rate (the machine's peak)."""
    a = tf.constant(np.random.default_rng(SEED).random((2048, 2048), np.float32))
    t = repeat_time(lambda: np.asarray(tf.matmul(a, a)), repeat, warmup=2)
    return [("matmul_2048_gflops", [2 * 2048 ** 3 / 1e9 / s for s in t], "GFLOP/s")]


WORKLOADS = {"W1": w1_softmax, "W2": w2_mlp, "W3": w3_cnn, "W3v1": w3v1_deep_mnist,
             "W4": w4_overhead, "W5": w5_lstm,
             "W7": w7_infer, "W8": w8_memory, "W9": w9_matmul}
