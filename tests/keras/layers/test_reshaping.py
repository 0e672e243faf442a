"""Up-sampling, zero-padding and cropping layers, and the activation layers (ReLU,
LeakyReLU, PReLU, ELU, Softmax, ThresholdedReLU): harness rows and NumPy references."""
import numpy as np
import pytest

from numflow.keras import layers
from numflow.testing.layer_test import make_input, run_layer_test


def bilinear_reference(x, sh, sw):
    """``tf.image.resize(..., 'bilinear')`` (half-pixel centres) written per pixel."""
    n, h, w, c = x.shape
    out = np.zeros((n, h * sh, w * sw, c))
    for i in range(h * sh):
        for j in range(w * sw):
            fy = min(max((i + 0.5) / sh - 0.5, 0), h - 1)
            fx = min(max((j + 0.5) / sw - 0.5, 0), w - 1)
            y0, x0 = int(np.floor(fy)), int(np.floor(fx))
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            dy, dx = fy - y0, fx - x0
            out[:, i, j] = (x[:, y0, x0] * (1 - dy) * (1 - dx) + x[:, y0, x1] * (1 - dy) * dx
                            + x[:, y1, x0] * dy * (1 - dx) + x[:, y1, x1] * dy * dx)
    return out


def test_upsampling():
    x = make_input((2, 3, 2))
    run_layer_test(layers.UpSampling1D, dict(size=3), input_data=x,
                   expected_output=np.repeat(x, 3, axis=1))
    x = make_input((2, 3, 4, 2))
    run_layer_test(layers.UpSampling2D, dict(size=(2, 3)), input_data=x,
                   expected_output=np.repeat(np.repeat(x, 2, 1), 3, 2))
    run_layer_test(layers.UpSampling2D, dict(size=2, interpolation="bilinear"), input_data=x,
                   expected_output=bilinear_reference(x, 2, 2))
    xc = np.transpose(x, (0, 3, 1, 2))
    run_layer_test(layers.UpSampling2D, dict(size=2, data_format="channels_first"),
                   input_data=xc, expected_output=np.repeat(np.repeat(xc, 2, 2), 2, 3))
    x = make_input((1, 2, 3, 2, 2))
    run_layer_test(layers.UpSampling3D, dict(size=(2, 1, 3)), input_data=x,
                   expected_output=np.repeat(np.repeat(x, 2, 1), 3, 3))


def test_upsampling_unknown_spatial_size():
    x = layers.Input((None, None, 3))
    y = layers.UpSampling2D(2)(x)
    assert tuple(y.shape.as_list()) == (None, None, None, 3)
    out = layers.UpSampling2D(2)(make_input((1, 3, 5, 3)))
    assert out.shape == (1, 6, 10, 3)


def test_zero_padding():
    x = make_input((2, 3, 2))
    run_layer_test(layers.ZeroPadding1D, dict(padding=2), input_data=x,
                   expected_output=np.pad(x, [(0, 0), (2, 2), (0, 0)]))
    run_layer_test(layers.ZeroPadding1D, dict(padding=(1, 3)), input_data=x,
                   expected_output=np.pad(x, [(0, 0), (1, 3), (0, 0)]))
    x = make_input((2, 3, 4, 2))
    run_layer_test(layers.ZeroPadding2D, dict(padding=((1, 2), (0, 1))), input_data=x,
                   expected_output=np.pad(x, [(0, 0), (1, 2), (0, 1), (0, 0)]))
    run_layer_test(layers.ZeroPadding2D, dict(padding=(2, 1)), input_data=x,
                   expected_output=np.pad(x, [(0, 0), (2, 2), (1, 1), (0, 0)]))
    run_layer_test(layers.ZeroPadding2D, dict(padding=1, data_format="channels_first"),
                   input_data=x, expected_output=np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)]))
    x = make_input((1, 2, 2, 2, 1))
    run_layer_test(layers.ZeroPadding3D, dict(padding=1), input_data=x,
                   expected_output=np.pad(x, [(0, 0), (1, 1), (1, 1), (1, 1), (0, 0)]))


def test_cropping():
    x = make_input((2, 6, 2))
    run_layer_test(layers.Cropping1D, dict(cropping=(1, 2)), input_data=x,
                   expected_output=x[:, 1:-2])
    x = make_input((2, 5, 6, 2))
    run_layer_test(layers.Cropping2D, dict(cropping=((1, 0), (2, 1))), input_data=x,
                   expected_output=x[:, 1:, 2:-1])
    run_layer_test(layers.Cropping2D, dict(cropping=1), input_data=x,
                   expected_output=x[:, 1:-1, 1:-1])
    x = make_input((1, 4, 4, 4, 1))
    run_layer_test(layers.Cropping3D, dict(cropping=((1, 1), (0, 2), (1, 0))), input_data=x,
                   expected_output=x[:, 1:-1, :-2, 1:])
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping1D((3, 3))(make_input((1, 5, 2)))


def test_relu_layer():
    x = make_input((3, 8), low=-2, high=2)
    run_layer_test(layers.ReLU, {}, input_data=x, expected_output=np.maximum(x, 0))
    mv, ns, th = 1.0, 0.1, 0.5
    expected = np.where(x >= mv, mv, np.where(x >= th, x, ns * (x - th)))
    run_layer_test(layers.ReLU, dict(max_value=mv, negative_slope=ns, threshold=th),
                   input_data=x, expected_output=expected, supports_masking=True)
    run_layer_test(layers.ReLU, dict(max_value=6.0), input_data=x * 5,
                   expected_output=np.clip(x * 5, 0, 6))
    for bad in (dict(max_value=-1.0), dict(negative_slope=-0.1), dict(threshold=-1.0)):
        with pytest.raises(ValueError):
            layers.ReLU(**bad)


def test_leaky_relu_elu_thresholded():
    x = make_input((3, 8), low=-2, high=2)
    run_layer_test(layers.LeakyReLU, {}, input_data=x, expected_output=np.where(x > 0, x,
                                                                               0.3 * x))
    run_layer_test(layers.LeakyReLU, dict(negative_slope=0.1), input_data=x,
                   expected_output=np.where(x > 0, x, 0.1 * x))
    with pytest.warns(UserWarning):
        old = layers.LeakyReLU(alpha=0.2)       # tf.keras 2's argument name
    assert old.negative_slope == 0.2 and old.alpha == 0.2
    run_layer_test(layers.ELU, dict(alpha=0.5), input_data=x,
                   expected_output=np.where(x > 0, x, 0.5 * (np.exp(x) - 1)), atol=1e-5)
    run_layer_test(layers.ThresholdedReLU, dict(theta=0.5), input_data=x,
                   expected_output=np.where(x > 0.5, x, 0))


def test_prelu():
    x = make_input((2, 3, 4), low=-2, high=2)
    alpha = np.random.RandomState(0).uniform(0, 0.5, (1, 4)).astype("float32")
    run_layer_test(layers.PReLU, dict(shared_axes=[1]), input_data=x, weights=[alpha],
                   expected_output=np.where(x > 0, x, alpha * x),
                   expected_weight_shapes=[(1, 4)])
    run_layer_test(layers.PReLU, dict(alpha_initializer="ones"), input_data=x,
                   expected_output=x, expected_weight_shapes=[(3, 4)])
    layer = layers.PReLU(name="p")
    layer(x)
    assert layer.weights[0].name == "p/alpha:0"


def _softmax(v, axis):
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_softmax_layer():
    x = make_input((2, 3, 4), low=-3, high=3)
    run_layer_test(layers.Softmax, {}, input_data=x, expected_output=_softmax(x, -1))
    run_layer_test(layers.Softmax, dict(axis=1), input_data=x, expected_output=_softmax(x, 1))
    run_layer_test(layers.Softmax, dict(axis=[1, 2]), input_data=x,
                   expected_output=_softmax(x.reshape(2, -1), 1).reshape(x.shape))
    mask = np.array([[[1, 1, 0, 0]] * 3, [[1, 0, 1, 1]] * 3], bool)
    out = layers.Softmax()(x, mask=mask).numpy()
    expected = np.where(mask, _softmax(np.where(mask, x, -1e9), -1), 0)
    np.testing.assert_allclose(out, expected, atol=1e-6)
