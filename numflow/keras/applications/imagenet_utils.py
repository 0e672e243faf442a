"""ImageNet helpers shared by the applications: input preprocessing, prediction decoding,
weight loading and the input-shape rules."""
import json

import numpy as np

CLASS_INDEX_URL = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                   "imagenet_class_index.json")


def preprocess_input(x, data_format=None, mode="caffe"):
    """Scales a batch of RGB images as the ImageNet models expect.

    ``mode``: "caffe" (RGB->BGR, subtract the ImageNet channel means), "tf" (to [-1, 1]),
    "torch" (to [0, 1], then normalise by the ImageNet mean/std). Returns a float32 array.
    """
    x = np.asarray(x, dtype=np.float32)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        x = x / 255.0
        return (x - np.array([0.485, 0.456, 0.406], np.float32)) / \
            np.array([0.229, 0.224, 0.225], np.float32)
    if mode != "caffe":
        raise ValueError(f"Unknown preprocessing mode {mode!r}")
    x = x[..., ::-1]
    return x - np.array([103.939, 116.779, 123.68], np.float32)


def decode_predictions(preds, top=5):
    """Turns a (batch, 1000) prediction array into lists of (class_id, name, score).

    The class index file is fetched once through ``keras.utils.get_file`` (cached).
    """
    from numflow.keras.utils.data_utils import get_file
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D "
                         f"array of shape (samples, 1000)). Found array with shape: {preds.shape}")
    path = get_file("imagenet_class_index.json", CLASS_INDEX_URL, cache_subdir="models")
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    out = []
    for row in preds:
        best = np.argsort(row)[-top:][::-1]
        out.append([(index[str(i)][0], index[str(i)][1], float(row[i])) for i in best])
    return out


def obtain_input_shape(input_shape, default_size, min_size, require_flatten, weights):
    """The model's input shape (channels last), checked as Keras does."""
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != (default_size, default_size, 3):
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                             f"`input_shape` should be ({default_size}, {default_size}, 3).")
        return (default_size, default_size, 3)
    if input_shape is None:
        return (default_size, default_size, 3) if require_flatten else (None, None, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[-1] not in (1, 3, None) and weights == "imagenet":
        raise ValueError(f"`input_shape` must be a tuple of three integers, got {input_shape}")
    for d in input_shape[:2]:
        if d is not None and d < min_size:
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; got "
                             f"`input_shape={input_shape}`")
    if require_flatten and None in input_shape[:2]:
        raise ValueError("If `include_top` is True, you should specify a static "
                         f"`input_shape`. Got `input_shape={input_shape}`")
    return input_shape


def check_weights(weights, include_top, classes):
    """Validates the ``weights`` / ``classes`` arguments."""
    import os
    if not (weights in {"imagenet", None} or os.path.exists(str(weights))):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), `imagenet` (pre-training on ImageNet), or the path "
                         f"to the weights file to be loaded. Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` "
                         f"should be 1000. Received classes={classes}")


def load_weights(model, weights, url_top, url_notop, include_top, file_hash_top=None,
                 file_hash_notop=None):
    """Loads ImageNet weights (downloaded and cached) or a local weights file into ``model``."""
    if weights is None:
        return
    if weights == "imagenet":
        from numflow.keras.utils.data_utils import get_file
        url = url_top if include_top else url_notop
        weights = get_file(url.rsplit("/", 1)[-1], url, cache_subdir="models",
                           file_hash=file_hash_top if include_top else file_hash_notop)
    model.load_weights(weights)
