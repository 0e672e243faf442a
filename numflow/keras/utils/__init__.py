"""Keras utilities (``tf.keras.utils``): labels (``to_categorical``, ``normalize``),
downloads (``get_file``), the progress bar, ``Sequence``, seeding, custom-object
registration and model plotting."""
import random as _random

import numpy as _np

from numflow.keras.utils.data_utils import get_file  # noqa: F401
from numflow.keras.utils.generic_utils import (  # noqa: F401
    CustomObjectScope, Progbar, Sequence, custom_object_scope, deserialize_keras_object,
    get_custom_objects, get_registered_name, get_registered_object,
    register_keras_serializable, serialize_keras_object)
from numflow.keras.utils.np_utils import normalize, to_categorical  # noqa: F401


def set_random_seed(seed):
    """Seeds Python's ``random``, NumPy and numflow (``tf.random.set_seed``) at once
    (``tf.keras.utils.set_random_seed``)."""
    if not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed} "
                         f"(of type {type(seed)})")
    _random.seed(seed)
    _np.random.seed(seed)
    import numflow as tf
    tf.random.set_seed(seed)


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=96,
               layer_range=None, show_layer_activations=False, **kwargs):
    """Draws the model's layer graph to an image file (``tf.keras.utils.plot_model``)."""
    from numflow.keras.utils import vis_utils
    return vis_utils.plot_model(model, to_file=to_file, show_shapes=show_shapes,
                                show_dtype=show_dtype, show_layer_names=show_layer_names,
                                rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                                layer_range=layer_range,
                                show_layer_activations=show_layer_activations, **kwargs)


def model_to_dot(model, **kwargs):
    """The model's layer graph as a pydot ``Dot`` (``tf.keras.utils.model_to_dot``)."""
    from numflow.keras.utils import vis_utils
    return vis_utils.model_to_dot(model, **kwargs)


def unpack_x_y_sample_weight(data):
    """Splits a batch into ``(x, y, sample_weight)`` (``tf.keras.utils.unpack_x_y_sample_weight``)."""
    from numflow.keras.engine import data_adapter
    return data_adapter.unpack_x_y_sample_weight(data)


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Packs ``x``, ``y``, ``sample_weight`` into a batch tuple."""
    from numflow.keras.engine import data_adapter
    return data_adapter.pack_x_y_sample_weight(x, y, sample_weight)
