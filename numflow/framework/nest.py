"""Flatten and re-pack nested structures (lists, tuples, namedtuples, dicts), as ``tf.nest``.

Dicts are traversed in sorted key order, as TensorFlow does. Iterative, so deep nesting
cannot overflow the stack.
"""
import collections.abc as _abc


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def is_nested(x):
    """True for lists, tuples, namedtuples and mappings (``tf.nest.is_nested``)."""
    return isinstance(x, (list, tuple, _abc.Mapping))


def _children(x):
    if isinstance(x, _abc.Mapping):
        return [x[k] for k in _sorted_keys(x)]
    return list(x)


def _sorted_keys(d):
    try:
        return sorted(d)
    except TypeError:
        return sorted(d, key=repr)


def flatten(structure, expand_composites=False):
    """Returns the leaves of ``structure`` in TF's order (``tf.nest.flatten``)."""
    if not is_nested(structure):
        return [structure]
    out = []
    stack = [iter(_children(structure))]
    while stack:
        try:
            item = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        if is_nested(item):
            stack.append(iter(_children(item)))
        else:
            out.append(item)
    return out


def _rebuild(template, children):
    if isinstance(template, _abc.Mapping):
        values = dict(zip(_sorted_keys(template), children))
        ordered = [(k, values[k]) for k in template]
        try:
            return type(template)(ordered)
        except TypeError:
            return dict(ordered)
    if _is_namedtuple(template):
        return type(template)(*children)
    if isinstance(template, tuple):
        return tuple(children)
    return list(children)


def pack_sequence_as(structure, flat_sequence):
    """Packs ``flat_sequence`` into the shape of ``structure`` (``tf.nest.pack_sequence_as``)."""
    flat_sequence = list(flat_sequence)
    if not is_nested(structure):
        if len(flat_sequence) != 1:
            raise ValueError(f"Structure is a scalar but got {len(flat_sequence)} values")
        return flat_sequence[0]
    pos = [0]

    def build(node):
        # Recursion depth equals nesting depth of user structures, which is small;
        # flatten() is the iterative hot path.
        if is_nested(node):
            return _rebuild(node, [build(c) for c in _children(node)])
        value = flat_sequence[pos[0]]
        pos[0] += 1
        return value

    try:
        result = build(structure)
    except IndexError:
        raise ValueError("Too few values to pack into the structure")
    if pos[0] != len(flat_sequence):
        raise ValueError(f"Structure has {pos[0]} leaves but got {len(flat_sequence)} values")
    return result


def map_structure(func, *structures):
    """Applies ``func`` to corresponding leaves (``tf.nest.map_structure``)."""
    if not structures:
        raise ValueError("map_structure needs at least one structure")
    for s in structures[1:]:
        assert_same_structure(structures[0], s)
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [func(*leaves) for leaves in zip(*flats)])


def assert_same_structure(a, b, check_types=False):
    """Raises ValueError unless ``a`` and ``b`` nest the same way."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if is_nested(x) != is_nested(y):
            raise ValueError(f"The two structures don't have the same nested structure: "
                             f"{a!r} vs {b!r}")
        if is_nested(x):
            cx, cy = _children(x), _children(y)
            if len(cx) != len(cy):
                raise ValueError(f"The two structures don't have the same number of "
                                 f"elements: {a!r} vs {b!r}")
            if isinstance(x, _abc.Mapping) and _sorted_keys(x) != _sorted_keys(y):
                raise ValueError(f"Dictionary keys differ: {list(x)} vs {list(y)}")
            stack.extend(zip(cx, cy))
