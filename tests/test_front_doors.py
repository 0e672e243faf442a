import subprocess
import sys

import numflow as tf


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


def test_tf2_is_eager_by_default():
    assert tf.executing_eagerly() and tf.__version__.startswith("2.")


def test_compat_v1_switches_modes():
    r = _run("import numflow.compat.v1 as tf\n"
             "assert tf.executing_eagerly()\n"
             "tf.disable_v2_behavior()\n"
             "assert not tf.executing_eagerly()\n"
             "x = tf.placeholder(tf.float32, [None])\n"
             "print(tf.Session().run(x * 2.0, {x: [1.0]}))\n"
             "tf.enable_eager_execution()\nassert tf.executing_eagerly()\n")
    assert r.returncode == 0, r.stderr
    assert "[2.]" in r.stdout


def test_v1_is_graph_mode_with_old_names():
    r = _run("import numflow.v1 as tf\n"
             "assert not tf.executing_eagerly()\n"
             "a = tf.constant(5.0)\n"
             "ops = [tf.mul(a, 2.0), tf.sub(a, 1.0), tf.neg(a)]\n"
             "x = tf.placeholder(tf.types.float32)\n"
             "v = tf.Variable(1.0)\n"
             "with tf.Session() as s:\n"
             "    s.run(tf.initialize_all_variables())\n"
             "    print(s.run(ops), len(tf.all_variables()))\n")
    assert r.returncode == 0, r.stderr
    assert "10.0" in r.stdout and "4.0" in r.stdout and "-5.0" in r.stdout


def test_import_is_light():
    r = _run("import sys, numflow\n"
             "heavy = [m for m in ('h5py', 'yaml', 'scipy', 'numflow.keras', 'numflow.data.dataset')"
             " if m in sys.modules]\nprint(heavy)")
    assert r.returncode == 0 and r.stdout.strip() == "[]", (r.stdout, r.stderr)
