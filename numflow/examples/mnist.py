"""Deep MNIST: the TF 1.x tutorial's convolutional network, trained in graph mode.

    python -m numflow.examples.mnist              # full run: >= 99% test accuracy
    python -m numflow.examples.mnist --quick      # about a minute
    python -m numflow.examples.mnist --steps 500 --batch_size 100

The network is the tutorial's ("Deep MNIST for Experts"): two 5x5 convolution + ReLU +
2x2 max-pool layers (32 and 64 channels), a 1024-unit ReLU layer with dropout, and a
10-way softmax. It is written with ``numflow.compat.v1`` exactly as for TensorFlow 1.x:
placeholders, ``tf.nn.conv2d``/``max_pool``/``dropout``, ``tf.train.AdamOptimizer`` (its
learning rate decaying with ``tf.train.exponential_decay``) and a ``tf.Session``. Training shows a progress bar with the running loss and accuracy; then
all 10,000 test images are evaluated in batches. ``--save_path`` keeps a checkpoint.
"""
import argparse
import sys
import time

# Measured on this project's 2-core machine (one BLAS thread, batch 50): 0.065-0.07 s of
# CPU per step; 4000 steps gave 99.12-99.17% test accuracy in 5:13 wall (with other work
# running); 800 steps (--quick) give about 98% in under a minute.
DEFAULT_STEPS = 4000
QUICK_STEPS = 800


def build_model(tf, learning_rate, decay_steps=None):
    """The tutorial's network; returns a dict of the tensors and ops used by ``train``.

    Adam's learning rate decays exponentially to a tenth over ``decay_steps`` steps
    (constant if None).
    """
    x = tf.placeholder(tf.float32, [None, 784], name="x")
    y_ = tf.placeholder(tf.float32, [None, 10], name="y_")
    keep_prob = tf.placeholder_with_default(1.0, [], name="keep_prob")

    def weight_variable(shape):
        return tf.Variable(tf.truncated_normal(shape, stddev=0.1))

    def bias_variable(shape):
        return tf.Variable(tf.constant(0.1, shape=shape))

    def conv2d(inp, w):
        return tf.nn.conv2d(inp, w, strides=[1, 1, 1, 1], padding="SAME")

    def max_pool_2x2(inp):
        return tf.nn.max_pool(inp, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")

    x_image = tf.reshape(x, [-1, 28, 28, 1])
    with tf.name_scope("conv1"):
        h_pool1 = max_pool_2x2(tf.nn.relu(conv2d(x_image, weight_variable([5, 5, 1, 32]))
                                          + bias_variable([32])))
    with tf.name_scope("conv2"):
        h_pool2 = max_pool_2x2(tf.nn.relu(conv2d(h_pool1, weight_variable([5, 5, 32, 64]))
                                          + bias_variable([64])))
    with tf.name_scope("fc1"):
        flat = tf.reshape(h_pool2, [-1, 7 * 7 * 64])
        h_fc1 = tf.nn.relu(tf.matmul(flat, weight_variable([7 * 7 * 64, 1024]))
                           + bias_variable([1024]))
        h_drop = tf.nn.dropout(h_fc1, keep_prob)
    with tf.name_scope("fc2"):
        logits = tf.matmul(h_drop, weight_variable([1024, 10])) + bias_variable([10])
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=logits))
    correct = tf.equal(tf.argmax(logits, 1), tf.argmax(y_, 1))
    num_correct = tf.reduce_sum(tf.cast(correct, tf.int32))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))
    global_step = tf.train.get_or_create_global_step()
    if decay_steps:
        learning_rate = tf.train.exponential_decay(learning_rate, global_step, decay_steps, 0.1)
    train_op = tf.train.AdamOptimizer(learning_rate).minimize(loss, global_step=global_step)
    return dict(x=x, y_=y_, keep_prob=keep_prob, loss=loss, accuracy=accuracy,
                num_correct=num_correct, train_op=train_op, global_step=global_step)


class ProgressBar:
    """A one-line progress bar (``\\r``-redrawn on a terminal, a line per tenth otherwise)."""

    def __init__(self, total, stream=None, width=24):
        self.total, self.width = total, width
        self.stream = stream or sys.stdout
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.time()
        self._last_draw = 0.0
        self._next_line = 0

    def update(self, step, **metrics):
        now = time.time()
        done = step >= self.total
        if self.tty and not done and now - self._last_draw < 0.1:
            return
        if not self.tty and not done and step < self._next_line:
            return
        self._last_draw = now
        self._next_line = step + max(1, self.total // 10)
        elapsed = now - self.start
        rate = step / elapsed if elapsed > 0 else 0.0
        eta = (self.total - step) / rate if rate > 0 else 0.0
        filled = int(self.width * step / max(1, self.total))
        bar = "=" * filled + (">" if filled < self.width else "") + \
            "." * max(0, self.width - filled - 1)
        stats = " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        line = (f"{step}/{self.total} [{bar}] {stats} - {_clock(elapsed)} "
                f"({rate:.1f} steps/s, ETA {_clock(eta)})")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if done else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def evaluate(sess, model, images, labels, batch_size=1000):
    """Test accuracy over all ``images``, fed ``batch_size`` at a time."""
    correct = 0
    for start in range(0, len(images), batch_size):
        correct += int(sess.run(model["num_correct"], {
            model["x"]: images[start:start + batch_size],
            model["y_"]: labels[start:start + batch_size]}))
    return correct / max(1, len(images))


def train(tf, data, steps, batch_size, learning_rate, seed=None, save_path=None,
          stream=None):
    """Builds the network in a new graph, trains it for ``steps`` Adam steps on
    ``data.train`` (the learning rate decaying from ``learning_rate`` to a tenth of it) and
    returns ``(test_accuracy, training_seconds)``."""
    out = stream or sys.stdout
    graph = tf.Graph()
    with graph.as_default():
        if seed is not None:
            tf.set_random_seed(seed)
        model = build_model(tf, learning_rate, decay_steps=steps)
        init = tf.global_variables_initializer()
        saver = tf.train.Saver() if save_path else None
        with tf.Session() as sess:
            sess.run(init)
            bar = ProgressBar(steps, out)
            start = time.time()
            avg_loss = avg_acc = None
            for step in range(1, steps + 1):
                xs, ys = data.train.next_batch(batch_size)
                _, loss, acc = sess.run(
                    [model["train_op"], model["loss"], model["accuracy"]],
                    {model["x"]: xs, model["y_"]: ys, model["keep_prob"]: 0.5})
                avg_loss = loss if avg_loss is None else 0.95 * avg_loss + 0.05 * loss
                avg_acc = acc if avg_acc is None else 0.95 * avg_acc + 0.05 * acc
                bar.update(step, loss=avg_loss, acc=avg_acc)
            train_seconds = time.time() - start
            if saver is not None:
                path = saver.save(sess, save_path, global_step=model["global_step"])
                out.write(f"saved checkpoint {path}\n")
            accuracy = evaluate(sess, model, data.test.images, data.test.labels)
    return accuracy, train_seconds


def parse_args(argv):
    """The example's command-line options."""
    p = argparse.ArgumentParser(prog="python -m numflow.examples.mnist",
                                description="Train the TF 1.x deep-MNIST CNN with numflow.")
    p.add_argument("--steps", type=int, default=None,
                   help=f"training steps (default {DEFAULT_STEPS}; --quick: {QUICK_STEPS})")
    p.add_argument("--quick", action="store_true", help="a short run of about a minute")
    p.add_argument("--batch_size", type=int, default=50)
    p.add_argument("--learning_rate", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1, help="graph-level random seed")
    p.add_argument("--data_dir", default=None,
                   help="folder with the MNIST files (default: numflow's dataset cache)")
    p.add_argument("--save_path", default=None, help="save a checkpoint at this prefix")
    args = p.parse_args(argv)
    if args.steps is None:
        args.steps = QUICK_STEPS if args.quick else DEFAULT_STEPS
    if args.steps < 1 or args.batch_size < 1:
        p.error("--steps and --batch_size must be positive")
    return args


def main(argv=None):
    """Runs the example; returns the test accuracy."""
    args = parse_args(argv)
    import numflow.compat.v1 as tf
    from numflow.examples.tutorials.mnist import input_data
    t0 = time.time()
    data = input_data.read_data_sets(args.data_dir, one_hot=True, seed=args.seed)
    print(f"MNIST: {data.train.num_examples} training, {data.test.num_examples} test images; "
          f"{args.steps} steps of batch {args.batch_size}, Adam {args.learning_rate:g}")
    accuracy, seconds = train(tf, data, args.steps, args.batch_size, args.learning_rate,
                              seed=args.seed, save_path=args.save_path)
    total = time.time() - t0
    print(f"test accuracy {accuracy:.4f} on {data.test.num_examples} images "
          f"(training {seconds:.0f}s, total {total:.0f}s)")
    return accuracy


if __name__ == "__main__":
    import numflow.compat.v1 as _tf1
    _tf1.disable_eager_execution()
    main()
