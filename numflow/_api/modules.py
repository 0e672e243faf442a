"""The modules whose import registers every op and public name; the front doors import
this list before building their namespaces."""
import importlib

CORE_MODULES = (
    "numflow.framework.api",
    "numflow.ops.array_ops",
    "numflow.ops.math_ops",
    "numflow.ops.state_ops",
    "numflow.ops.training_ops",
    "numflow.variables",
    "numflow.autodiff.gradients",
    "numflow.eager.function",
    "numflow.runtime.session",
    "numflow.ops.math_elementwise",
    "numflow.ops.reductions",
    "numflow.ops.slicing",
    "numflow.ops.array_manip",
    "numflow.ops.array_gather",
    "numflow.ops.array_create",
    "numflow.ops.linalg_ops",
    "numflow.ops.control_flow",
    "numflow.ops.debug_ops",
    "numflow.ops.nn_ops",
    "numflow.ops.conv_ops",
    "numflow.ops.rnn_ops",
    "numflow.ops.random_ops",
    "numflow.train.init_ops",
    "numflow.train.variable_scope",
    "numflow.train.optimizer",
    "numflow.train.optimizers",
    "numflow.train.training_util",
    "numflow.train.checkpoint_management",
    "numflow.train.saver",
    "numflow.train.meta_graph",
    "numflow.summary.writer",
    "numflow.summary.v1",
    "numflow.estimator.run_config",
    "numflow.estimator.hooks",
    "numflow.estimator.estimator",
)
# Filled in by the op library, training and data modules as they land.
OPTIONAL_MODULES = (
    "numflow.data.io_api",
)


def import_all():
    """Imports every module that registers ops or exports names."""
    for name in CORE_MODULES:
        importlib.import_module(name)
    for name in OPTIONAL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
