"""Argument helpers shared by the convolution, pooling and reshaping layers (Keras's
``conv_utils``): tuples, padding and data-format names, output lengths."""
from numflow.keras import backend


def normalize_tuple(value, n, name, allow_zero=False):
    """An int or an iterable of ``n`` ints -> a tuple of ``n`` ints (ValueError otherwise)."""
    if isinstance(value, int):
        values = (value,) * n
    else:
        try:
            values = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received {name}={value}") from None
        if len(values) != n:
            raise ValueError(f"The `{name}` argument must be a tuple of {n} integers. "
                             f"Received {name}={value}")
    low = 0 if allow_zero else 1
    if any(v < low for v in values):
        raise ValueError(f"The `{name}` argument must be a tuple of {n} integers >= {low}. "
                         f"Received {name}={value}")
    return values


def normalize_padding(padding, allowed=("valid", "same")):
    """Lower-cases ``padding`` and checks it is one of ``allowed``."""
    p = str(padding).lower()
    if p not in allowed:
        raise ValueError(f"The `padding` argument must be one of {list(allowed)}. "
                         f"Received: padding={padding}")
    return p


def normalize_data_format(value):
    """``None`` -> ``backend.image_data_format()``; checks the value."""
    if value is None:
        value = backend.image_data_format()
    v = str(value).lower()
    if v not in ("channels_first", "channels_last"):
        raise ValueError(f"The `data_format` argument must be one of 'channels_first', "
                         f"'channels_last'. Received: data_format={value}")
    return v


def conv_output_length(length, filter_size, padding, stride, dilation=1):
    """The output length of a convolution along one axis (None stays None)."""
    if length is None:
        return None
    dilated = (filter_size - 1) * dilation + 1
    if padding in ("same", "causal"):
        out = length
    elif padding == "valid":
        out = length - dilated + 1
    else:   # full
        out = length + dilated - 1
    return max((out + stride - 1) // stride, 0)


def deconv_output_length(length, filter_size, padding, output_padding=None, stride=1,
                         dilation=1):
    """The output length of a transposed convolution along one axis (Keras's rule); works
    on ints and on scalar tensors."""
    if length is None:
        return None
    k = filter_size + (filter_size - 1) * (dilation - 1)
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(k - stride, 0)
        if padding == "full":
            return length * stride - (stride + k - 2)
        return length * stride
    pad = {"same": k // 2, "valid": 0, "full": k - 1}[padding]
    return (length - 1) * stride + k - 2 * pad + output_padding
