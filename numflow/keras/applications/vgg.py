"""VGG16 and VGG19 (Simonyan & Zisserman, 2014), with Keras's layer names and weights layout."""
from numflow.keras.applications import imagenet_utils

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/vgg{d}/"
_FILES = {16: ("vgg16_weights_tf_dim_ordering_tf_kernels.h5",
               "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
          19: ("vgg19_weights_tf_dim_ordering_tf_kernels.h5",
               "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")}


def _vgg(depth, include_top, weights, input_tensor, input_shape, pooling, classes,
         classifier_activation, name):
    from numflow import keras
    layers = keras.layers
    imagenet_utils.check_weights(weights, include_top, classes)
    shape = imagenet_utils.obtain_input_shape(input_shape, 224, 32, include_top, weights)
    img_input = keras.Input(shape=shape) if input_tensor is None else input_tensor
    convs_per_block = (2, 2, 3, 3, 3) if depth == 16 else (2, 2, 4, 4, 4)
    x = img_input
    for block, (n_convs, filters) in enumerate(zip(convs_per_block, (64, 128, 256, 512, 512)), 1):
        for i in range(1, n_convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    model = keras.Model(img_input, x, name=name)
    top, notop = _FILES[depth]
    base = _BASE.format(d=depth)
    imagenet_utils.load_weights(model, weights, base + top, base + notop, include_top)
    return model


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """The VGG16 model (``keras.applications.VGG16``): 138,357,544 parameters with the top.

    ``weights``: None (random), "imagenet" (downloaded and cached), or a weights file path.
    """
    return _vgg(16, include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation, name)


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    """The VGG19 model (``keras.applications.VGG19``): 143,667,240 parameters with the top."""
    return _vgg(19, include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation, name)


def preprocess_input(x, data_format=None):
    """Caffe-style preprocessing (BGR, ImageNet means subtracted)."""
    return imagenet_utils.preprocess_input(x, data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
