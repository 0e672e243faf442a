"""``tf.data.Options``: accepted and kept with a dataset.

numflow's pipelines are already deterministic and single-process, so the options change
nothing at run time; they exist so that code setting them runs unchanged. As in TF,
setting an attribute that does not exist raises AttributeError.
"""
import enum


class AutoShardPolicy(enum.IntEnum):
    """How a distributed dataset is sharded (``tf.data.experimental.AutoShardPolicy``)."""
    OFF = -1
    AUTO = 0
    FILE = 1
    DATA = 2
    HINT = 3


class ExternalStatePolicy(enum.IntEnum):
    """``tf.data.experimental.ExternalStatePolicy``."""
    WARN = 0
    IGNORE = 1
    FAIL = 2


class AutotuneAlgorithm(enum.IntEnum):
    """``tf.data.experimental.AutotuneAlgorithm``."""
    DEFAULT = 0
    HILL_CLIMB = 1
    GRADIENT_DESCENT = 2
    MAX_PARALLELISM = 3
    STAGE_BASED = 4


class _OptionGroup:
    """A fixed set of optional settings (unset ones read as None)."""

    _FIELDS = ()

    def __init__(self, **kwargs):
        for k in self._FIELDS:
            object.__setattr__(self, k, None)
        for k, v in kwargs.items():
            setattr(self, k, v)

    def __setattr__(self, name, value):
        if name not in self._FIELDS:
            raise AttributeError(f"Cannot set the property {name} on {type(self).__name__}.")
        object.__setattr__(self, name, value)

    def _merge(self, other):
        out = type(self)()
        for k in self._FIELDS:
            mine, theirs = getattr(self, k), getattr(other, k)
            if isinstance(mine, _OptionGroup):
                object.__setattr__(out, k, mine._merge(theirs))
            else:
                object.__setattr__(out, k, theirs if theirs is not None else mine)
        return out

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, k) == getattr(other, k) for k in self._FIELDS)

    def __repr__(self):
        set_ = {k: getattr(self, k) for k in self._FIELDS if getattr(self, k) is not None}
        return f"{type(self).__name__}({set_})"


class OptimizationOptions(_OptionGroup):
    """``tf.data.experimental.OptimizationOptions``."""
    _FIELDS = ("apply_default_optimizations", "filter_fusion", "filter_parallelization",
               "inject_prefetch", "map_and_batch_fusion", "map_and_filter_fusion",
               "map_fusion", "map_parallelization", "noop_elimination", "parallel_batch",
               "seq_interleave_prefetch", "shuffle_and_repeat_fusion")


class ThreadingOptions(_OptionGroup):
    """``tf.data.ThreadingOptions``."""
    _FIELDS = ("max_intra_op_parallelism", "private_threadpool_size")


class DistributeOptions(_OptionGroup):
    """``tf.data.experimental.DistributeOptions``."""
    _FIELDS = ("auto_shard_policy", "num_devices")


class AutotuneOptions(_OptionGroup):
    """``tf.data.experimental.AutotuneOptions``."""
    _FIELDS = ("autotune_algorithm", "cpu_budget", "enabled", "initial_parallelism",
               "min_parallelism", "ram_budget")


class Options(_OptionGroup):
    """Options of a dataset (``tf.data.Options``), applied with ``Dataset.with_options``."""
    _FIELDS = ("autotune", "dataset_name", "deterministic", "experimental_deterministic",
               "experimental_distribute", "experimental_external_state_policy",
               "experimental_optimization", "experimental_slack",
               "experimental_symbolic_checkpoint", "experimental_threading",
               "experimental_warm_start", "framework_type", "threading",
               "experimental_service")

    def __init__(self):
        super().__init__()
        object.__setattr__(self, "autotune", AutotuneOptions())
        object.__setattr__(self, "experimental_distribute", DistributeOptions())
        object.__setattr__(self, "experimental_optimization", OptimizationOptions())
        threading = ThreadingOptions()
        object.__setattr__(self, "threading", threading)
        object.__setattr__(self, "experimental_threading", threading)

    def merge(self, options):
        """These options overridden by those set in ``options``."""
        return self._merge(options)
