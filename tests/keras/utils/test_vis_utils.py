"""``keras.utils.plot_model`` / ``model_to_dot`` with pydot + Graphviz."""
import builtins
import os

import pytest

import numflow as tf
from numflow.keras import layers
from numflow.keras.utils import vis_utils


def _graphviz_ok():
    try:
        vis_utils.check_graphviz()
        return True
    except ImportError:
        return False


needs_graphviz = pytest.mark.skipif(not _graphviz_ok(),
                                    reason="pydot and Graphviz (`dot`) are not installed")


def _model():
    a = tf.keras.Input((4,), name="a")
    b = tf.keras.Input((3,), name="b")
    x = layers.Concatenate(name="cat")([a, layers.Dense(3, activation="relu", name="d")(b)])
    return tf.keras.Model([a, b], layers.Dense(1, name="out")(x), name="net")


@needs_graphviz
@pytest.mark.parametrize("name,magic", [("m.png", b"\x89PNG\r\n\x1a\n"), ("m.svg", b"<?xml"),
                                        ("m.pdf", b"%PDF-"), ("noext", b"\x89PNG")])
def test_plot_model_formats(tmp_path, name, magic):
    target = tmp_path / name
    tf.keras.utils.plot_model(_model(), str(target), show_shapes=True, show_dtype=True,
                              show_layer_activations=True, show_trainable=True, rankdir="LR")
    assert target.read_bytes().startswith(magic)
    assert sorted(os.listdir(tmp_path)) == [name]


@needs_graphviz
def test_model_to_dot_nodes_and_edges():
    dot = vis_utils.model_to_dot(_model(), show_shapes=True)
    labels = [n.get("label") for n in dot.get_nodes() if n.get("label")]
    assert any("cat: Concatenate" in l for l in labels)
    assert any("(None, 7)" in l for l in labels)
    assert len(dot.get_edges()) == 4          # a->cat, b->d, d->cat, cat->out
    seq = tf.keras.Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    assert len(vis_utils.model_to_dot(seq).get_edges()) >= 1
    with pytest.raises(ValueError):
        vis_utils.model_to_dot(_model(), rankdir="XX")
    with pytest.raises(ValueError):
        vis_utils.model_to_dot(_model(), layer_range=["zzz", "out"])


@needs_graphviz
def test_expand_nested(tmp_path):
    inner = tf.keras.Sequential([layers.Dense(2, input_shape=(3,), name="in_d")], name="inner")
    i = tf.keras.Input((3,))
    model = tf.keras.Model(i, layers.Dense(1)(inner(i)))
    dot = vis_utils.model_to_dot(model, expand_nested=True)
    assert dot.get_subgraphs()
    tf.keras.utils.plot_model(model, str(tmp_path / "n.png"), expand_nested=True)


def test_missing_pydot_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pydot":
            raise ImportError("no pydot")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError) as info:
        tf.keras.utils.plot_model(_model(), "x.png")
    assert "pip install pydot" in str(info.value)
    assert "apt-get install graphviz" in str(info.value)


def test_missing_graphviz_binary(monkeypatch):
    pydot = pytest.importorskip("pydot")

    def broken(self, *args, **kwargs):
        raise FileNotFoundError("dot not found")
    monkeypatch.setattr(pydot.Dot, "create", broken)
    with pytest.raises(ImportError, match="graphviz"):
        vis_utils.check_graphviz()
