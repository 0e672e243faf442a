"""SIGKILL a process while it runs ``model.save`` over an existing file, many times: the
file under the real name is always a complete model, either the previous or the new one
(RELIABILITY.md item 7)."""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("h5py")

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    ".."))
KILLS = int(os.environ.get("NUMFLOW_KILL_ROUNDS", "8"))

CHILD = r"""
import sys
import numpy as np
import numflow as tf
from numflow.keras import layers
path = sys.argv[1]
model = tf.keras.Sequential([layers.Dense(64, activation="relu", input_shape=(32,)),
                             layers.Dense(64), layers.Dense(8)])
model.compile(optimizer="adam", loss="mse")
shapes = [w.shape for w in model.get_weights()]
i = 0
while True:
    model.set_weights([np.full(s, float(i % 2 + 1), "float32") for s in shapes])
    model.save(path)
    if i == 1:
        print("ready", flush=True)
    i += 1
"""


def _start(path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, path], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"child failed: {proc.stderr.read()[-2000:]}")
    return proc


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_sigkill_during_save_keeps_a_complete_file(tmp_path, suffix):
    from numflow.keras import saving
    path = str(tmp_path / ("model" + suffix))
    rng = random.Random(7)
    seen = set()
    for _ in range(KILLS):
        proc = _start(path)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        model = saving.load_model(path)
        values = {float(np.unique(w)[0]) for w in model.get_weights()}
        assert len(values) == 1 and values <= {1.0, 2.0}, values
        seen |= values
        leftovers = [f for f in os.listdir(tmp_path) if f != os.path.basename(path)]
        for f in leftovers:   # only temporary files of the interrupted save may remain
            assert ".tmp" in f, leftovers
            os.remove(os.path.join(tmp_path, f))
    assert seen
