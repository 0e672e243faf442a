"""TensorFlow's DType objects and their mapping to NumPy dtypes.

Conversion follows TF: Python floats become float32, Python ints int32 (int64 when
they do not fit), NumPy arrays keep their dtype, and ops never mix dtypes silently.
"""
import numpy as np


class DType:
    """A TensorFlow element type (``tf.DType``).

    Attributes: ``name`` ("float32"), ``as_numpy_dtype`` (the NumPy scalar type),
    ``is_floating``, ``is_integer``, ``is_bool``, ``is_complex``, ``is_unsigned``,
    ``base_dtype``, ``min``, ``max``, ``size``, ``as_datatype_enum``.
    """

    __slots__ = ("name", "_np", "_enum", "_ref")

    def __init__(self, name, np_type, enum, ref=False):
        self.name = name
        self._np = np_type
        self._enum = enum
        self._ref = ref

    @property
    def as_numpy_dtype(self):
        return self._np

    @property
    def base_dtype(self):
        return _BY_NAME[self.name[:-4]] if self._ref else self

    @property
    def is_ref_dtype(self):
        return self._ref

    @property
    def _as_ref(self):
        return self if self._ref else DType(self.name + "_ref", self._np, self._enum + 100, True)

    @property
    def as_datatype_enum(self):
        return self._enum

    @property
    def is_floating(self):
        return self.base_dtype.name in ("float16", "float32", "float64", "bfloat16")

    @property
    def is_integer(self):
        return self.base_dtype.name in _INT_NAMES

    @property
    def is_unsigned(self):
        return self.base_dtype.name.startswith("uint")

    @property
    def is_bool(self):
        return self.base_dtype.name == "bool"

    @property
    def is_complex(self):
        return self.base_dtype.name.startswith("complex")

    @property
    def is_numpy_compatible(self):
        return self.base_dtype.name != "string"

    @property
    def size(self):
        return np.dtype(self._np).itemsize if self.is_numpy_compatible else 1

    @property
    def min(self):
        if self.is_floating:
            return float(np.finfo(self._np).min)
        if self.is_integer:
            return int(np.iinfo(self._np).min)
        raise TypeError(f"Cannot find minimum value of {self}.")

    @property
    def max(self):
        if self.is_floating:
            return float(np.finfo(self._np).max)
        if self.is_integer:
            return int(np.iinfo(self._np).max)
        raise TypeError(f"Cannot find maximum value of {self}.")

    def is_compatible_with(self, other):
        other = as_dtype(other)
        return self.base_dtype is other.base_dtype

    def __eq__(self, other):
        if other is None:
            return False
        if not isinstance(other, DType):
            try:
                other = as_dtype(other)
            except TypeError:
                return False
        return self.name == other.name

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"tf.{self.name}"

    def __reduce__(self):
        return as_dtype, (self.name,)


_INT_NAMES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")

float16 = DType("float16", np.float16, 19)
half = float16
float32 = DType("float32", np.float32, 1)
float64 = DType("float64", np.float64, 2)
double = float64
int8 = DType("int8", np.int8, 6)
int16 = DType("int16", np.int16, 5)
int32 = DType("int32", np.int32, 3)
int64 = DType("int64", np.int64, 9)
uint8 = DType("uint8", np.uint8, 4)
uint16 = DType("uint16", np.uint16, 17)
uint32 = DType("uint32", np.uint32, 22)
uint64 = DType("uint64", np.uint64, 23)
bool = DType("bool", np.bool_, 10)  # noqa: A001 - TF's public name
string = DType("string", np.object_, 7)
complex64 = DType("complex64", np.complex64, 8)
complex128 = DType("complex128", np.complex128, 18)
resource = DType("resource", np.object_, 20)
variant = DType("variant", np.object_, 21)

_ALL = [float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
        bool, string, complex64, complex128, resource, variant]

try:  # bfloat16 exists only where ml_dtypes is installed
    import ml_dtypes as _ml_dtypes
    bfloat16 = DType("bfloat16", _ml_dtypes.bfloat16, 14)
    _ALL.append(bfloat16)
except ImportError:  # pragma: no cover - depends on the environment
    bfloat16 = None

_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "int": int32,
                 "long": int64, "str": string, "bytes": string})
_BY_ENUM = {d.as_datatype_enum: d for d in _ALL}
_BY_NP = {np.dtype(d.as_numpy_dtype): d for d in _ALL
          if d.is_numpy_compatible and d.name not in ("resource", "variant")}
_BY_NP[np.dtype(np.object_)] = string


def as_dtype(type_value):
    """Converts ``type_value`` (DType, name, NumPy dtype or type, enum) to a DType.

    Raises:
      TypeError: if the value names no TensorFlow dtype.
    """
    if isinstance(type_value, DType):
        return type_value
    if isinstance(type_value, str):
        d = _BY_NAME.get(type_value)
        if d is None and type_value.endswith("_ref"):
            d = _BY_NAME.get(type_value[:-4])
            return d._as_ref if d is not None else _bad(type_value)
        return d if d is not None else _bad(type_value)
    if isinstance(type_value, int) and not isinstance(type_value, type(True)):
        d = _BY_ENUM.get(type_value)
        return d if d is not None else _bad(type_value)
    if type_value is float:
        return float32
    if type_value is int:
        return int32
    if type_value is type(True):
        return bool
    if type_value in (str, bytes):
        return string
    try:
        npd = np.dtype(type_value)
    except TypeError:
        return _bad(type_value)
    if npd.kind in "USO":
        return string
    d = _BY_NP.get(npd)
    return d if d is not None else _bad(type_value)


def _bad(value):
    raise TypeError(f"Cannot convert {value!r} to a TensorFlow DType.")


def dtype_of_value(value):
    """The DType TF gives a Python/NumPy value in ``convert_to_tensor`` (no hint)."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return as_dtype(value.dtype)
    if isinstance(value, type(True)):
        return bool
    if isinstance(value, int):
        return int32 if -2**31 <= value < 2**31 else int64
    if isinstance(value, float):
        return float32
    if isinstance(value, (str, bytes)):
        return string
    if isinstance(value, complex):
        return complex128
    raise TypeError(f"Cannot infer a dtype for {type(value).__name__}")
