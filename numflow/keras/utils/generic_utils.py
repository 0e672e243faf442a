"""Keras's generic utilities: the progress bar, ``Sequence``, and the registry that turns
configs back into objects (``register_keras_serializable``, ``custom_object_scope``,
``serialize_keras_object`` / ``deserialize_keras_object``).

Deserialization never imports or evaluates a name from a config: a class name is looked
up only among the objects a module registered, ``custom_objects``, the active
``custom_object_scope`` and classes registered with ``register_keras_serializable``.
"""
import difflib
import inspect
import math
import os
import re
import sys
import threading
import time

import numpy as np

_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}
_scope_state = threading.local()


# ---- names ---------------------------------------------------------------------------------
def to_snake_case(name):
    """Converts a class name to Keras's default layer name (``'Conv2D'`` -> ``'conv2d'``)."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    if insecure[0] != "_":
        return insecure
    return "private" + insecure


# ---- custom objects --------------------------------------------------------------------------
def _scopes():
    stack = getattr(_scope_state, "stack", None)
    if stack is None:
        stack = _scope_state.stack = []
    return stack


class CustomObjectScope:
    """Exposes custom classes/functions to deserialization (``tf.keras.utils.CustomObjectScope``).

    Usable as ``with custom_object_scope({'MyLayer': MyLayer}): model = load_model(...)``.
    """

    def __init__(self, *args):
        self.custom_objects = {}
        for arg in args:
            if arg:
                self.custom_objects.update(arg)

    def __enter__(self):
        _scopes().append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scopes().pop()
        return False


custom_object_scope = CustomObjectScope


def bind_arguments(class_name, order, defaults, args, kwargs):
    """Binds ``args``/``kwargs`` of a generated class's ``__init__`` to parameter names
    ``order`` over ``defaults``, as Python would; TypeError for too many or unknown ones."""
    if len(args) > len(order):
        raise TypeError(f"{class_name} takes at most {len(order)} positional arguments")
    values = dict(defaults)
    values.update(zip(order, args))
    for k, v in kwargs.items():
        if k not in values:
            raise TypeError(f"{class_name} got an unexpected keyword argument {k!r}")
        values[k] = v
    return values


def get_custom_objects():
    """The global dict of custom objects (``tf.keras.utils.get_custom_objects``); it may be
    updated in place: ``get_custom_objects()['MyLayer'] = MyLayer``."""
    return _GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    """Registers a class or function under ``'package>name'`` so configs can name it
    (``tf.keras.utils.register_keras_serializable``)."""
    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered_name = package + ">" + class_name
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        if registered_name in _GLOBAL_CUSTOM_OBJECTS:
            raise ValueError(f"{registered_name} has already been registered to "
                             f"{_GLOBAL_CUSTOM_OBJECTS[registered_name]}")
        if arg in _GLOBAL_CUSTOM_NAMES:
            raise ValueError(f"{arg} has already been registered to {_GLOBAL_CUSTOM_NAMES[arg]}")
        _GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg
    return decorator


def get_registered_name(obj):
    """The name ``obj`` is serialized under (``'package>name'`` if registered)."""
    if obj in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[obj]
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Looks ``name`` up in scopes, the global registry, ``custom_objects`` and
    ``module_objects`` (in that order); None if absent."""
    for scope in reversed(_scopes()):
        if name in scope:
            return scope[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


# ---- (de)serialization ---------------------------------------------------------------------
def serialize_keras_object(instance):
    """``{'class_name': ..., 'config': ...}`` for objects with ``get_config``; the registered
    name for functions; None for None (``tf.keras.utils.serialize_keras_object``)."""
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        name = get_registered_name(instance.__class__)
        config = instance.get_config()
        serialized = {}
        for key, item in config.items():
            if isinstance(item, str):
                serialized[key] = item
                continue
            try:
                sub = serialize_keras_object(item) if hasattr(item, "get_config") else item
            except ValueError:
                sub = item
            serialized[key] = sub
        return {"class_name": name, "config": serialized}
    if hasattr(instance, "__name__"):
        return get_registered_name(instance)
    raise ValueError(f"Cannot serialize {instance!r} since it doesn't implement `get_config()`.")


def class_and_config_for_serialized_keras_object(config, module_objects=None, custom_objects=None,
                                                 printable_module_name="object"):
    """Resolves a ``{'class_name', 'config'}`` dict to ``(cls, cls_config)``."""
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(f"Improper config format for {printable_module_name}: {config}")
    class_name = config["class_name"]
    cls = get_registered_object(class_name, custom_objects, module_objects)
    if cls is None:
        raise ValueError(_unknown(printable_module_name, class_name, custom_objects,
                                  module_objects))
    return cls, config["config"]


def _unknown(kind, name, custom_objects, module_objects):
    known = list(module_objects or ()) + list(custom_objects or ()) + list(_GLOBAL_CUSTOM_OBJECTS)
    near = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean: {', '.join(near)}?" if near else ""
    return (f"Unknown {kind}: '{name}'. Please ensure you are using a `keras.utils."
            f"custom_object_scope` and that this object is included in the scope, or pass it "
            f"in `custom_objects`.{hint}")


def _accepts_custom_objects(fn):
    try:
        return "custom_objects" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):
    """Turns a serialized config (dict) or a name (str) back into an object or function
    (``tf.keras.utils.deserialize_keras_object``)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls, cls_config = class_and_config_for_serialized_keras_object(
            identifier, module_objects, custom_objects, printable_module_name)
        if hasattr(cls, "from_config"):
            if _accepts_custom_objects(cls.from_config):
                merged = dict(_GLOBAL_CUSTOM_OBJECTS)
                merged.update(custom_objects or {})
                for scope in _scopes():
                    merged.update(scope)
                return cls.from_config(cls_config, custom_objects=merged)
            with CustomObjectScope(custom_objects or {}):
                return cls.from_config(cls_config)
        with CustomObjectScope(custom_objects or {}):
            return cls(**cls_config)
    if isinstance(identifier, str):
        obj = get_registered_object(identifier, custom_objects, module_objects)
        if obj is None:
            raise ValueError(_unknown(printable_module_name, identifier, custom_objects,
                                      module_objects))
        if inspect.isclass(obj):
            return obj()
        return obj
    if inspect.isfunction(identifier):
        return identifier
    raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier}")


# ---- progress bar ---------------------------------------------------------------------------
class Progbar:
    """Keras's progress bar (``tf.keras.utils.Progbar``).

    ``1875/1875 [==============================] - 2s 1ms/step - loss: 0.2000``; redrawn in
    place with ``\\r`` on a terminal, printed once when finished otherwise.

    Args:
      target: total number of steps expected, None if unknown.
      width: the bar's width on screen.
      verbose: 0 (silent), 1 (progress bar), 2 (one line at the end).
      interval: minimum seconds between redraws.
      stateful_metrics: names of metrics shown as given rather than averaged.
      unit_name: the unit of a step ("step" or "sample").
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self._dynamic_display = ((hasattr(sys.stdout, "isatty") and sys.stdout.isatty())
                                 or "ipykernel" in sys.modules or "posix" in sys.modules
                                 and "PYCHARM_HOSTED" in os.environ)
        self._total_width = 0
        self._seen_so_far = 0
        self._values = {}
        self._values_order = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_at_epoch_start = self._start
        self._time_after_first_step = None

    def update(self, current, values=None, finalize=None):
        """Moves the bar to step ``current``; ``values`` is a list of ``(name, value)``."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            if k not in self.stateful_metrics:
                value_base = max(current - self._seen_so_far, 1)
                if k not in self._values:
                    self._values[k] = [v * value_base, value_base]
                else:
                    self._values[k][0] += v * value_base
                    self._values[k][1] += value_base
            else:
                self._values[k] = [v, 1]
        self._seen_so_far = current
        now = time.time()
        if current == 1 and self._time_after_first_step is None:
            self._time_after_first_step = now   # the first step (tracing) is not averaged
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._write_bar(current, now, finalize)
        elif self.verbose == 2 and finalize:
            target = self.target or current or 1
            numdigits = int(math.log10(target)) + 1
            per_epoch = now - self._time_at_epoch_start
            line = f"{current:{numdigits}d}/{target} - {now - self._start:.0f}s"
            line += self._values_info()
            line += " - " + self._format_per_unit(per_epoch, "epoch")
            line += " - " + self._format_per_unit(per_epoch / target) + "\n"
            self._time_at_epoch_start = now
            sys.stdout.write(line)
            sys.stdout.flush()
        self._last_update = now

    def _write_bar(self, current, now, finalize):
        if not self._dynamic_display and not finalize:
            return   # not a terminal: one line when the epoch ends, no redraws
        prev_total_width = self._total_width
        if self._dynamic_display:
            out = "\b" * prev_total_width + "\r"
        else:
            out = ""
        if self.target is not None:
            numdigits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
            bar = f"{current:{numdigits}d}/{self.target} ["
            prog = float(current) / self.target if self.target else 1.0
            prog_width = int(self.width * prog)
            if prog_width > 0:
                bar += "=" * (prog_width - 1)
                bar += ">" if current < self.target else "="
            bar += "." * (self.width - prog_width) + "]"
        else:
            bar = f"{current:7d}/Unknown"
        self._total_width = len(bar)
        info = " - " + self._time_info(current, now, finalize) + self._values_info()
        self._total_width += len(info)
        if prev_total_width > self._total_width:
            info += " " * (prev_total_width - self._total_width)
        if finalize:
            info += "\n"
        sys.stdout.write(out + bar + info)
        sys.stdout.flush()

    def _time_info(self, current, now, finalize):
        elapsed = now - self._start
        per_unit = self._estimate_step_duration(current, now)
        if self.target is None or finalize:
            info = f"{int(round(elapsed))}s" if self.target is not None else f"{elapsed:.0f}s"
            info += " " + self._format_per_unit(per_unit)
            return info
        eta = per_unit * (self.target - current)
        if eta > 3600:
            eta_format = f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
        elif eta > 60:
            eta_format = f"{int(eta // 60)}:{int(eta % 60):02d}"
        else:
            eta_format = f"{int(eta)}s"
        return f"ETA: {eta_format}"

    def _format_per_unit(self, per_unit, unit=None):
        unit = unit or self.unit_name
        if per_unit >= 1 or per_unit == 0:
            return f"{per_unit:.0f}s/{unit}"
        if per_unit >= 1e-3:
            return f"{per_unit * 1e3:.0f}ms/{unit}"
        return f"{per_unit * 1e6:.0f}us/{unit}"

    def _values_info(self):
        info = ""
        for k in self._values_order:
            info += f" - {k}:"
            total, count = self._values[k]
            avg = float(np.mean(total / max(1, count)))
            info += f" {avg:.4f}" if avg > 1e-3 else f" {avg:.4e}"
        return info

    def _estimate_step_duration(self, current, now):
        if current:
            if self._time_after_first_step is not None and current > 1:
                return (now - self._time_after_first_step) / (current - 1)
            return (now - self._start) / current
        return 0

    def add(self, n, values=None):
        """Advances the bar by ``n`` steps."""
        self.update(self._seen_so_far + n, values)


# ---- Sequence --------------------------------------------------------------------------------
class Sequence:
    """Base class for batch-indexed datasets (``tf.keras.utils.Sequence``).

    Subclasses implement ``__getitem__(index)`` returning one batch ``(x, y)`` or
    ``(x, y, sample_weight)`` and ``__len__()`` the number of batches; ``on_epoch_end`` is
    called after every epoch. ``fit`` ignores ``batch_size`` and ``shuffle`` shuffles the
    batch order.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError("Sequence.__getitem__ must be implemented by the subclass")

    def __len__(self):
        raise NotImplementedError("Sequence.__len__ must be implemented by the subclass")

    def on_epoch_end(self):
        """Called at the end of every epoch (override to reshuffle)."""

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def validate_kwargs(kwargs, allowed_kwargs, error_message="Keyword argument not understood:"):
    """Raises TypeError naming the first keyword not in ``allowed_kwargs``."""
    for kwarg in kwargs:
        if kwarg not in allowed_kwargs:
            raise TypeError(f"{error_message} {kwarg!r}")
