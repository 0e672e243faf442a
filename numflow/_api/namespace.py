"""Assembles a front door's namespace (``tf.math``, ``tf.nn``...) from the export registry."""
import types

from numflow._api.export import exports

# Real packages that are public namespaces themselves: exports into them become attributes.
_REAL_PUBLIC = ("keras", "data")


def build(root, version):
    """Sets every exported name of ``version`` on module ``root`` (creating submodules)."""
    for dotted, obj in sorted(exports(version).items()):
        parts = dotted.split(".")
        mod = root
        for i, part in enumerate(parts[:-1]):
            child = mod.__dict__.get(part)
            if not isinstance(child, types.ModuleType) or (
                    getattr(child, "__file__", None) and part not in _REAL_PUBLIC):
                child = types.ModuleType(f"{mod.__name__}.{part}")
                setattr(mod, part, child)
            mod = child
        setattr(mod, parts[-1], obj)
