"""``Dataset.from_generator``: elements from a Python generator, checked against the
declared signature (``output_signature``, or the older ``output_types`` /
``output_shapes``).

Each pass calls the generator function afresh. A yielded value that does not fit the
signature raises InvalidArgumentError (TF's messages); an exception raised by the
generator itself reaches the consumer unchanged, after the elements yielded before it.
"""
import numpy as np

from numflow.data import structure
from numflow.data.dataset import Dataset, zip_up_to
from numflow.eager.function import TensorSpec
from numflow.eager.tensor import EagerTensor
from numflow.framework import dtypes, errors, nest
from numflow.framework.tensor_shape import TensorShape, as_shape


def _generator_signature(output_types, output_shapes, output_signature):
    if output_signature is not None:
        if output_types is not None or output_shapes is not None:
            raise TypeError("The `output_types` and `output_shapes` arguments cannot be used "
                            "together with the `output_signature` argument.")
        if isinstance(output_signature, list):
            output_signature = tuple(output_signature)
        for s in nest.flatten(output_signature):
            if not isinstance(s, (TensorSpec, structure.SparseTensorSpec)):
                raise TypeError(f"`output_signature` must contain objects that are subclass "
                                f"of `tf.TypeSpec` but found {type(s)} which is not.")
        return output_signature
    if output_types is None:
        raise TypeError("To specify the output signature you need to provide either the "
                        "`output_signature` argument or the `output_types` argument.")
    return zip_up_to(output_types, output_shapes,
                      lambda t, s: TensorSpec(TensorShape(None) if s is None else as_shape(s),
                                              t))


class _GeneratorDataset(Dataset):
    """``from_generator``: values of a Python generator, checked against the signature."""

    def __init__(self, generator, output_types, output_shapes, args, output_signature):
        if not callable(generator):
            raise TypeError("`generator` must be a Python callable.")
        spec = _generator_signature(output_types, output_shapes, output_signature)
        self._generator = generator
        self._args = tuple(structure.from_user(a) for a in (args or ()))
        self._flat_specs = nest.flatten(spec)
        super().__init__([], spec)

    def _elements(self):
        args = [a[()] if type(a) is np.ndarray and a.ndim == 0 and a.dtype == object else a
                for a in self._args]
        convert = self._convert
        for value in self._generator(*args):
            yield convert(value)

    def _convert(self, value):
        spec = self._spec
        try:
            flat = _flatten_like(spec, value)
        except (TypeError, ValueError, KeyError):
            raise errors.InvalidArgumentError(
                None, None, f"TypeError: `generator` yielded an element that did not match the "
                            f"expected structure. The expected structure was {spec!r}, but "
                            f"the yielded element was {value!r}.") from None
        out = [_convert_leaf(s, v) for s, v in zip(self._flat_specs, flat)]
        return nest.pack_sequence_as(spec, out)


def _flatten_like(spec, value):
    if isinstance(spec, dict):
        return [x for k in sorted(spec) for x in _flatten_like(spec[k], value[k])]
    if isinstance(spec, tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(spec):
            raise TypeError("structure")
        return [x for s, v in zip(spec, value) for x in _flatten_like(s, v)]
    return [value]


def _convert_leaf(spec, v):
    if isinstance(spec, structure.SparseTensorSpec):
        return structure.from_user(v)
    dtype = spec.dtype
    try:
        if dtype == dtypes.string:
            arr = np.asarray(v._value if isinstance(v, EagerTensor) else v, dtype=object)
            flat = arr.reshape(-1)
            for i, s in enumerate(flat):
                if isinstance(s, str):
                    flat[i] = s.encode("utf-8")
        else:
            arr = np.asarray(v, dtype=dtype.as_numpy_dtype)
    except (TypeError, ValueError):
        raise errors.InvalidArgumentError(
            None, None, f"TypeError: `generator` yielded an element that could not be converted "
                        f"to the expected type. The expected type was {dtype.name}, but the "
                        f"yielded element was {v!r}.") from None
    if not spec.shape.is_compatible_with(arr.shape):
        raise errors.InvalidArgumentError(
            None, None, f"`generator` yielded an element of shape {arr.shape} where an element "
                        f"of shape {tuple(spec.shape.as_list())} was expected.")
    return arr
