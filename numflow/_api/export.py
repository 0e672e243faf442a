"""``@export``: public names are declared where the object is defined.

``@export("math.add", "add", v1=["math.add", "add"])`` gives the TF2 names and the
``tf.compat.v1`` names (v1 defaults to the v2 names). The front doors assemble their
namespaces from this registry (``numflow._api.namespace``).
"""
import sys

_EXPORTS = {"v2": {}, "v1": {}}


def export(*names, v1=None):
    """Declares public names for the decorated object (or value via ``export_value``)."""
    def deco(obj):
        _add(names, v1, obj, sys._getframe(1))
        return obj
    return deco


def export_value(value, *names, v1=None):
    """Declares public names for a non-decorable value (a constant or an alias)."""
    _add(names, v1, value, sys._getframe(1))
    return value


def _add(names, v1, obj, frame):
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}"
    for version, ns in (("v2", names), ("v1", names if v1 is None else v1)):
        table = _EXPORTS[version]
        for name in ns:
            if name in table and table[name][0] is not obj:
                raise KeyError(f"Public name {version}:{name} exported twice: at "
                               f"{table[name][1]} and at {where}")
            table[name] = (obj, where)


def exports(version):
    """A dict dotted-name -> object for ``version`` ("v2" or "v1")."""
    return {k: v[0] for k, v in _EXPORTS[version].items()}
