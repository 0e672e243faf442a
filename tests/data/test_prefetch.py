"""prefetch: background threads end with the pass; errors arrive in order; clean exit."""
import os
import subprocess
import sys
import threading
import time

import numpy as np

import numflow as tf

D = tf.data.Dataset
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "numflow-prefetch"]


def _settle(base):
    deadline = time.time() + 5
    while threading.active_count() > base and time.time() < deadline:
        time.sleep(0.01)
    return threading.active_count()


def test_break_leaves_no_thread():
    base = threading.active_count()
    ds = D.range(10 ** 9).map(lambda x: x * 2).prefetch(4)
    for i, x in enumerate(ds):
        if i == 5:
            break
    assert threading.active_count() == base and not _prefetch_threads()


def test_dropping_an_iterator_and_nested_prefetch():
    base = threading.active_count()
    ds = D.range(10 ** 9).prefetch(2).map(lambda x: x + 1).prefetch(tf.data.AUTOTUNE)
    it = iter(ds)
    assert [int(next(it)) for _ in range(3)] == [1, 2, 3]
    assert len(_prefetch_threads()) == 2
    del it
    assert _settle(base) == base
    it = iter(ds)
    next(it)
    it.close()
    assert _settle(base) == base


def test_exhausted_pass_and_prefetch_zero():
    base = threading.active_count()
    assert list(D.range(5).prefetch(2).as_numpy_iterator()) == [0, 1, 2, 3, 4]
    assert list(D.range(5).prefetch(0).as_numpy_iterator()) == [0, 1, 2, 3, 4]
    assert _settle(base) == base


def test_prefetch_keeps_order_and_structure():
    x = np.arange(40).reshape(20, 2)
    ds = D.from_tensor_slices({"x": x, "i": np.arange(20)}).batch(6).prefetch(3)
    got = list(ds.as_numpy_iterator())
    assert [g["i"].tolist() for g in got] == [list(range(i, min(i + 6, 20)))
                                             for i in range(0, 20, 6)]
    assert int(ds.cardinality()) == 4


def test_error_inside_prefetched_map_reaches_consumer_in_order():
    def f(x):
        if int(x.numpy()) == 3:
            raise KeyError("element 3")
        return x
    got = []
    try:
        for x in D.range(10).map(f).prefetch(5):
            got.append(int(x))
    except KeyError as e:
        assert "element 3" in str(e)
    else:
        raise AssertionError("KeyError not raised")
    assert got == [0, 1, 2]


def test_interpreter_exit_with_live_iterators_is_silent():
    code = (
        "import time, numflow as tf\n"
        "ds = tf.data.Dataset.range(10**9).map(lambda x: x * 2).prefetch(3)\n"
        "it = iter(ds); next(it)\n"
        "def slow():\n"
        "    while True:\n"
        "        time.sleep(0.01)\n"
        "        yield 1\n"
        "it2 = iter(tf.data.Dataset.from_generator(slow, output_types=tf.int32)"
        ".prefetch(2))\n"
        "next(it2)\n"
    )
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout == "" and proc.stderr == ""
    assert time.time() - t0 < 30
