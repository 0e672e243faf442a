"""Tests for numflow.train.saver and numflow.train.checkpoint_management: the TF1 Saver,
the ``checkpoint`` state file, and what survives corruption and a SIGKILL mid-save."""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import numflow as tf2
import numflow.compat.v1 as tf
from numflow.framework import errors

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


@pytest.fixture
def graph():
    with tf.Graph().as_default() as g:
        yield g


def make_vars():
    v1 = tf.Variable(np.arange(12, dtype=np.float32).reshape(3, 4), name="v1")
    v2 = tf.Variable(tf.zeros([5], tf.int64), name="scope/v2")
    return v1, v2


def test_round_trip(graph, tmp_path):
    v1, v2 = make_vars()
    saver = tf.train.Saver()
    prefix = str(tmp_path / "model.ckpt")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(v2.assign([1, 2, 3, 4, 5]))
        assert saver.save(sess, prefix) == prefix
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.ckpt.data-00000-of-00001",
                                            "model.ckpt.index", "model.ckpt.meta"]
    with tf.Session() as sess:   # no initializer: restore assigns
        saver.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(v1), np.arange(12).reshape(3, 4))
        assert sess.run(v2).tolist() == [1, 2, 3, 4, 5]
        assert sess.run(v2).dtype == np.int64
    assert tf.train.list_variables(str(tmp_path)) == [("scope/v2", [5]), ("v1", [3, 4])]
    assert tf.train.load_variable(prefix, "scope/v2:0").tolist() == [1, 2, 3, 4, 5]
    reader = tf.train.load_checkpoint(str(tmp_path))
    assert reader.get_variable_to_dtype_map()["v1"] == tf.float32
    assert tf.train.NewCheckpointReader(prefix).has_tensor("v1")


def test_global_step_names_and_state_file(graph, tmp_path):
    v1, _ = make_vars()
    step = tf.train.get_or_create_global_step()
    saver = tf.train.Saver()
    base = str(tmp_path / "train")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert saver.save(sess, base, global_step=7) == base + "-7"
        sess.run(step.assign(12))
        assert saver.save(sess, base, global_step=step) == base + "-12"
        assert tf.train.Saver(pad_step_number=True).save(
            sess, base, global_step=3, write_meta_graph=False) == base + "-00000003"
    assert tf.train.latest_checkpoint(str(tmp_path)) == base + "-00000003"
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == base + "-00000003"
    text = (tmp_path / "checkpoint").read_text()
    assert text.startswith(f'model_checkpoint_path: "{base}-00000003"\n')
    assert f'all_model_checkpoint_paths: "{base}-00000003"\n' in text
    assert saver.last_checkpoints == [base + "-7", base + "-12"]
    assert tf.train.checkpoint_exists(base + "-7")
    assert not tf.train.checkpoint_exists(base + "-8")


def test_relative_paths_in_state_file(graph, tmp_path, monkeypatch):
    make_vars()
    monkeypatch.chdir(tmp_path)
    saver = tf.train.Saver(save_relative_paths=True)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for s in (1, 2):
            saver.save(sess, os.path.join("run", "m"), global_step=s, write_meta_graph=False)
        absolute = tf.train.Saver(save_relative_paths=True)
        for s in (1, 2):
            absolute.save(sess, str(tmp_path / "abs" / "m"), global_step=s,
                          write_meta_graph=False)
    for d in ("run", "abs"):
        text = (tmp_path / d / "checkpoint").read_text()
        assert text == ('model_checkpoint_path: "m-2"\nall_model_checkpoint_paths: "m-1"\n'
                        'all_model_checkpoint_paths: "m-2"\n')
    assert tf.train.latest_checkpoint("run") == os.path.join("run", "m-2")


def test_max_to_keep_deletes_oldest(graph, tmp_path):
    make_vars()
    saver = tf.train.Saver(max_to_keep=2)
    base = str(tmp_path / "m")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for s in range(4):
            saver.save(sess, base, global_step=s)
    files = sorted(os.listdir(tmp_path))
    assert files == ["checkpoint", "m-2.data-00000-of-00001", "m-2.index", "m-2.meta",
                     "m-3.data-00000-of-00001", "m-3.index", "m-3.meta"]
    assert tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths == \
        [base + "-2", base + "-3"]


def test_keep_all_and_keep_every_n_hours(graph, tmp_path):
    make_vars()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        keep_all = tf.train.Saver(max_to_keep=None)
        for s in range(3):
            keep_all.save(sess, str(tmp_path / "a"), global_step=s, write_meta_graph=False)
        assert len([f for f in os.listdir(tmp_path) if f.endswith(".index")]) == 3
        hourly = tf.train.Saver(max_to_keep=1, keep_checkpoint_every_n_hours=0.0)
        for s in range(3):
            hourly.save(sess, str(tmp_path / "b"), global_step=s, write_meta_graph=False)
        assert tf.train.checkpoint_exists(str(tmp_path / "b-0"))


def test_dict_var_list_and_subset_restore(graph, tmp_path):
    v1, v2 = make_vars()
    p = str(tmp_path / "only_v2")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(v2.assign([2] * 5))
        tf.train.Saver({"my_v2": v2}).save(sess, p)
    assert tf.train.list_variables(p) == [("my_v2", [5])]
    with tf.Session() as sess:
        sess.run(v1.initializer)
        tf.train.Saver({"my_v2": v2}).restore(sess, p)
        assert sess.run(v2).tolist() == [2] * 5
        # v1 is not in the checkpoint
        with pytest.raises(errors.NotFoundError, match="Key v1 not found in checkpoint"):
            tf.train.Saver([v1]).restore(sess, p)


def test_restore_into_fresh_graph_by_name(tmp_path):
    with tf.Graph().as_default():
        v1, _ = make_vars()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(v1.assign(tf.ones([3, 4]) * 7))
            path = tf.train.Saver().save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default():
        w = tf.Variable(tf.zeros([3, 4]), name="v1")
        with tf.Session() as sess:
            tf.train.Saver([w]).restore(sess, path)
            assert (sess.run(w) == 7).all()


def test_restore_errors(graph, tmp_path):
    v1, v2 = make_vars()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"))
        with pytest.raises(errors.NotFoundError, match="not a valid checkpoint"):
            saver.restore(sess, str(tmp_path / "missing"))
        with pytest.raises(ValueError, match="not a valid checkpoint"):   # TF raises this
            saver.restore(sess, str(tmp_path / "missing"))
        with pytest.raises(ValueError, match="Can't load save_path when it is None"):
            saver.restore(sess, None)
    with tf.Graph().as_default():
        wrong_shape = tf.Variable(tf.zeros([4, 3]), name="v1")
        wrong_dtype = tf.Variable(tf.zeros([5]), name="scope/v2")
        missing = tf.Variable(0.0, name="v3")
        with tf.Session() as sess:
            with pytest.raises(errors.InvalidArgumentError, match=r"lhs shape= \[4, 3\] rhs "
                                                                  r"shape= \[3, 4\]"):
                tf.train.Saver([wrong_shape]).restore(sess, path)
            with pytest.raises(errors.InvalidArgumentError, match="expected dtype float32 does "
                                                                  "not equal original dtype int64"):
                tf.train.Saver([wrong_dtype]).restore(sess, path)
            with pytest.raises(errors.NotFoundError, match="Key v3 not found in checkpoint"):
                tf.train.Saver([missing]).restore(sess, path)


def test_saver_construction_errors(graph, tmp_path):
    with pytest.raises(ValueError, match="No variables to save"):
        tf.train.Saver()
    empty = tf.train.Saver(allow_empty=True)
    with tf.Session() as sess:
        assert empty.save(sess, str(tmp_path / "x")) is None
        empty.restore(sess, str(tmp_path / "x"))
    with pytest.raises(TypeError, match="'sess' must be a Session"):
        empty.save(None, str(tmp_path / "x"))
    a = tf.Variable(1.0, name="a")
    with pytest.raises(TypeError, match="not a Variable"):
        tf.train.Saver([tf.constant(1.0)])
    with pytest.raises(ValueError, match="At least two variables have the same name"):
        tf.train.Saver([a, a])
    saver = tf.train.Saver([a])
    with tf.Session() as sess:
        sess.run(a.initializer)
        with pytest.raises(ValueError, match="must not contain path components"):
            saver.save(sess, "/tmp/x", latest_filename="a/b")


def test_overwriting_a_named_checkpoint_keeps_state_consistent(graph, tmp_path):
    v1, _ = make_vars()
    saver = tf.train.Saver()
    prefix = str(tmp_path / "model")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver.save(sess, prefix)
        sess.run(v1.assign(tf.ones([3, 4])))
        saver.save(sess, prefix)
    assert (tf.train.load_variable(prefix, "v1") == 1).all()
    assert tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths == [prefix]


def test_reads_tensorflow_saver_checkpoint():
    """A checkpoint written by real TF's tf.compat.v1.train.Saver restores by name."""
    prefix = os.path.join(FIXTURES, "io", "saver_ckpt", "model")
    want = np.load(os.path.join(FIXTURES, "io", "checkpoints_expected.npz"))
    with tf.Graph().as_default():
        vs = {n: tf.Variable(np.zeros_like(want["saver:" + n]), name=n)
              for n in ("mat_bool", "scalar_f32", "scope/mat_f64", "vec_i64")}
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, prefix)
            for n, v in vs.items():
                np.testing.assert_array_equal(sess.run(v), want["saver:" + n])


def test_corruption_raises_data_loss(graph, tmp_path):
    v1, _ = make_vars()
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        path = saver.save(sess, str(tmp_path / "m"))
        data = path + ".data-00000-of-00001"
        original = open(data, "rb").read()
        flipped = bytearray(original)
        flipped[5] ^= 0x10
        open(data, "wb").write(bytes(flipped))
        with pytest.raises(errors.DataLossError):
            saver.restore(sess, path)
        open(data, "wb").write(original[:-3])
        with pytest.raises(errors.DataLossError):
            saver.restore(sess, path)
        open(data, "wb").write(original)
        index = path + ".index"
        raw = bytearray(open(index, "rb").read())
        raw[len(raw) // 3] ^= 0x01
        open(index, "wb").write(bytes(raw))
        with pytest.raises(errors.DataLossError):
            saver.restore(sess, path)


def test_bad_state_file(tmp_path):
    (tmp_path / "checkpoint").write_text("garbage ]]\n")
    assert tf.train.get_checkpoint_state(str(tmp_path)) is None
    assert tf.train.latest_checkpoint(str(tmp_path)) is None
    (tmp_path / "checkpoint").write_text('all_model_checkpoint_paths: "x"\n')
    with pytest.raises(ValueError, match="Invalid checkpoint state"):
        tf.train.get_checkpoint_state(str(tmp_path))
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "gone"\n')
    assert tf.train.get_checkpoint_state(str(tmp_path)).model_checkpoint_path == \
        str(tmp_path / "gone")
    assert tf.train.latest_checkpoint(str(tmp_path)) is None
    assert tf.train.latest_checkpoint(str(tmp_path / "nodir")) is None
    with pytest.raises(ValueError, match="Couldn't find 'checkpoint' file"):
        tf.train.load_checkpoint(str(tmp_path))


def test_state_file_escaping(tmp_path):
    from numflow.train import checkpoint_management as cm
    odd = str(tmp_path / 'we"ird\\ñame')
    cm.update_checkpoint_state(str(tmp_path), odd, [odd])
    text = (tmp_path / "checkpoint").read_text()
    assert '\\"' in text and "\\\\" in text and "\\303\\261" in text
    assert tf.train.get_checkpoint_state(str(tmp_path)).model_checkpoint_path == odd


def test_eager_saver(tmp_path):
    v = tf2.Variable([1.0, 2.0], name="ev")
    with pytest.raises(RuntimeError, match="`var_list` must specify"):
        tf.train.Saver()
    saver = tf.train.Saver([v])
    path = saver.save(None, str(tmp_path / "e"))
    v.assign([5.0, 6.0])
    saver.restore(None, path)
    assert v.numpy().tolist() == [1.0, 2.0]
    assert tf.train.list_variables(path) == [("ev", [2])]


def test_names_exported():
    import numflow.v1 as tfv1
    for name in ("Saver", "latest_checkpoint", "get_checkpoint_state", "checkpoint_exists",
                 "list_variables", "load_variable", "load_checkpoint", "import_meta_graph",
                 "export_meta_graph", "update_checkpoint_state", "remove_checkpoint"):
        assert getattr(tf.train, name) is getattr(tfv1.train, name)
    for name in ("latest_checkpoint", "list_variables", "load_variable", "load_checkpoint",
                 "get_checkpoint_state"):
        assert getattr(tf2.train, name) is getattr(tf.train, name)
    assert not hasattr(tf2.train, "Saver")


# ---- SIGKILL during saves ----------------------------------------------------------------------
_SAVER_SCRIPT = r"""
import os, sys
import numpy as np
import numflow.compat.v1 as tf
d = sys.argv[1]
N = 100000
with tf.Graph().as_default():
    v = tf.Variable(np.zeros(N, np.float32), name="v")
    step = tf.Variable(0, dtype=tf.int64, name="step")
    saver = tf.train.Saver(max_to_keep=3)
    fixed = tf.train.Saver(max_to_keep=None)
    with tf.Session() as sess:
        latest = tf.train.latest_checkpoint(d)
        if latest:
            saver.restore(sess, latest)
            saver.recover_last_checkpoints(
                tf.train.get_checkpoint_state(d).all_model_checkpoint_paths)
        else:
            sess.run(tf.global_variables_initializer())
        print("ready", flush=True)
        while True:
            s = int(sess.run(step)) + 1
            v.load(np.full(N, s, np.float32), sess)
            step.load(s, sess)
            saver.save(sess, os.path.join(d, "ckpt"), global_step=s)
            fixed.save(sess, os.path.join(d, "same", "model"), write_meta_graph=s % 2 == 0)
"""


def _check_named_checkpoints(directory):
    """Every checkpoint the state file names restores, with v == step everywhere."""
    state = tf.train.get_checkpoint_state(directory)
    if state is None:
        return 0
    paths = set(state.all_model_checkpoint_paths) | {state.model_checkpoint_path}
    for p in paths:
        with tf.Graph().as_default():
            v = tf.Variable(np.zeros(100000, np.float32), name="v")
            step = tf.Variable(0, dtype=tf.int64, name="step")
            with tf.Session() as sess:
                tf.train.Saver().restore(sess, p)
                s, values = sess.run([step, v])
        assert (values == s).all(), p
        if "-" in os.path.basename(p):
            assert int(p.rsplit("-", 1)[1]) == s
    return max(int(tf.train.load_variable(p, "step")) for p in paths)


def test_sigkill_during_saves_never_loses_a_named_checkpoint(tmp_path):
    script = tmp_path / "saver_loop.py"
    script.write_text(_SAVER_SCRIPT)
    d = tmp_path / "ckpts"
    (d / "same").mkdir(parents=True)
    rng = random.Random(1234)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    best = 0
    for _ in range(30):
        proc = subprocess.Popen([sys.executable, str(script), str(d)], stdout=subprocess.PIPE,
                                env=env)
        try:
            assert proc.stdout.readline().strip() == b"ready"
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        step = _check_named_checkpoints(str(d))
        assert step >= best   # the latest checkpoint never goes backwards
        best = step
        _check_named_checkpoints(str(d / "same"))
    assert best >= 10   # the loop made progress
