"""A small PNG encoder (8-bit grayscale, gray+alpha, RGB, RGBA) on NumPy and zlib."""
import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type


def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(image, compression=6):
    """Encodes a uint8 image as PNG bytes (like ``tf.io.encode_png``).

    Args:
      image: uint8 array ``[height, width]`` or ``[height, width, channels]`` with
        1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels.
      compression: zlib level 0-9 (``-1`` means zlib's default).

    Raises:
      ValueError: for a wrong rank, channel count or an empty image.
      TypeError: if ``image`` is not uint8.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(f"encode_png expects a uint8 image, got {image.dtype}.")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in _COLOR_TYPE:
        raise ValueError(f"encode_png expects [height, width, 1|2|3|4], got shape {image.shape}.")
    height, width, channels = image.shape
    if height == 0 or width == 0 or height >= 1 << 31 or width >= 1 << 31:
        raise ValueError(f"encode_png cannot encode an image of shape {image.shape}.")
    rows = np.zeros((height, 1 + width * channels), dtype=np.uint8)  # filter byte 0: none
    rows[:, 1:] = image.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), compression))
            + _chunk(b"IEND", b""))
