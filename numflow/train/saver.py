"""``tf.compat.v1.train.Saver``: saves and restores variables as TF V2 checkpoints.

A save fetches the variables' values with one ``sess.run`` and writes them under their
names (``var.op.name``, or the keys of a dict ``var_list``) with
``numflow.io.tf_checkpoint.write_checkpoint``; real TensorFlow reads the result and
vice versa. Durability, in order: the data file, the index and the meta graph are each
written atomically (temp file, fsync, rename); then the ``checkpoint`` state file is
replaced atomically; only then are checkpoints beyond ``max_to_keep`` deleted. A process
killed at any moment leaves a state file that names only complete checkpoints. (When a
save overwrites a checkpoint the state file names, the state file first stops naming
it.)

Restore reads every tensor first (checksums verified), then assigns them all in one
``sess.run`` of assign ops fed through placeholders, built once per Saver: a restore
either assigns every variable or none.
"""
import os
import time
import warnings

import numpy as np

from numflow._api.export import export
from numflow.framework import context, dtypes, errors
from numflow.graph.graph import GraphKeys
from numflow.io import tf_checkpoint
from numflow.train import checkpoint_management as cm


def _variable_name(var):
    op = var.op
    return op.name if op is not None else var.name.split(":")[0]


def _names_to_variables(var_list):
    """A dict checkpoint name -> variable from a list or dict ``var_list``."""
    if isinstance(var_list, dict):
        items = list(var_list.items())
    else:
        items = []
        seen = set()
        for v in var_list:
            if not (hasattr(v, "assign") and hasattr(v, "_key")):
                raise TypeError(f"Variable to save is not a Variable: {v}")
            name = _variable_name(v)
            if name in seen:
                raise ValueError(f"At least two variables have the same name: {name}")
            seen.add(name)
            items.append((name, v))
    out = {}
    for name, v in items:
        if not isinstance(name, str):
            raise TypeError(f"names of a var_list dict must be strings, got {name!r}")
        if not (hasattr(v, "assign") and hasattr(v, "_key")):
            raise TypeError(f"Variable to save is not a Variable: {v}")
        out[name] = v
    return out


@export(v1=["train.Saver"])
class Saver:
    """Saves and restores variables (``tf.compat.v1.train.Saver(var_list=None,
    reshape=False, sharded=False, max_to_keep=5, keep_checkpoint_every_n_hours=10000.0,
    name=None, restore_sequentially=False, saver_def=None, builder=None, defer_build=False,
    allow_empty=False, write_version=2, pad_step_number=False, save_relative_paths=False,
    filename=None)``).

    ``var_list`` is None (every global variable, saved under its name), a list of
    variables, or a dict from checkpoint names to variables. ``max_to_keep`` recent
    checkpoints are kept (None or 0 keeps all); every ``keep_checkpoint_every_n_hours``
    one more is preserved.

    Raises:
      ValueError: no variables to save (unless ``allow_empty``), or two with one name.
      RuntimeError: eagerly without ``var_list``.
    """

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False,
                 saver_def=None, builder=None, defer_build=False, allow_empty=False,
                 write_version=2, pad_step_number=False, save_relative_paths=False,
                 filename=None):
        if context.executing_eagerly() and var_list is None:
            raise RuntimeError("When eager execution is enabled, `var_list` must specify a "
                               "list or dict of variables to save")
        if var_list is None:
            graph = context.get_default_graph()
            var_list = graph.get_collection(GraphKeys.GLOBAL_VARIABLES) + \
                graph.get_collection("saveable_objects")
        self._vars = _names_to_variables(var_list)
        self._is_empty = not self._vars
        if self._is_empty and not allow_empty:
            raise ValueError("No variables to save")
        self._max_to_keep = max_to_keep
        self._keep_hours = keep_checkpoint_every_n_hours
        self._next_keep_time = time.time() + keep_checkpoint_every_n_hours * 3600
        self._pad_step_number = pad_step_number
        self._save_relative_paths = save_relative_paths
        self._name = name or "save"
        self._last_checkpoints = []    # [(path, time)], oldest first
        self._to_delete = []
        self._graph = None if context.executing_eagerly() else context.get_default_graph()
        self._restore_op = None
        self._placeholders = {}
        self._is_built = False
        if not defer_build:
            self.build()

    # ---- graph ops --------------------------------------------------------------------------
    def build(self):
        """Adds the restore ops (one placeholder and assign per variable) to the graph."""
        if self._is_built or self._graph is None or self._is_empty:
            self._is_built = True
            return
        from numflow.ops.array_ops import group, placeholder
        graph = self._graph
        with graph.as_default(), graph.control_dependencies(None), \
                graph.name_scope(self._name) as scope:
            assigns = []
            for i, (name, var) in enumerate(sorted(self._vars.items())):
                ph = placeholder(var.dtype.base_dtype, var.get_shape(),
                                 name="restore_value" + (f"_{i}" if i else ""))
                self._placeholders[name] = ph
                assigns.append(var.assign(ph, name="Assign" + (f"_{i}" if i else "")))
            self._restore_op = group(*assigns, name=scope + "restore_all")
        self._is_built = True

    # ---- bookkeeping --------------------------------------------------------------------------
    @property
    def last_checkpoints(self):
        """The checkpoints kept by this Saver, oldest first."""
        return [p for p, _ in self._last_checkpoints]

    def set_last_checkpoints(self, last_checkpoints):
        """Replaces the list of kept checkpoints (deprecated in TF)."""
        self._last_checkpoints = [(p, None) for p in last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time):
        """Replaces the list of kept ``(path, timestamp)`` checkpoints."""
        self._last_checkpoints = [(p, t) for p, t in last_checkpoints_with_time]

    def recover_last_checkpoints(self, checkpoint_paths):
        """Takes over ``checkpoint_paths`` (that exist) as this Saver's kept checkpoints,
        e.g. after a restart:
        ``saver.recover_last_checkpoints(state.all_model_checkpoint_paths)``."""
        mtimes = []
        for p in checkpoint_paths:
            try:
                mtimes.append((p, os.path.getmtime(tf_checkpoint.index_filename(p))))
            except OSError:
                pass
        self._last_checkpoints = mtimes

    def _record(self, path):
        if not self._max_to_keep:
            return
        self._last_checkpoints = [(p, t) for p, t in self._last_checkpoints if p != path]
        self._last_checkpoints.append((path, time.time()))
        while len(self._last_checkpoints) > self._max_to_keep:
            self._to_delete.append(self._last_checkpoints.pop(0))

    def _delete_old(self, meta_graph_suffix):
        while self._to_delete:
            path, stamp = self._to_delete.pop(0)
            if stamp is not None and stamp > self._next_keep_time:
                self._next_keep_time += self._keep_hours * 3600
                continue
            try:
                cm.remove_checkpoint(path, meta_graph_suffix=meta_graph_suffix)
            except OSError as e:
                warnings.warn(f"Ignoring: {e}")

    # ---- save -------------------------------------------------------------------------------
    def save(self, sess, save_path, global_step=None, latest_filename=None,
             meta_graph_suffix="meta", write_meta_graph=True, write_state=True,
             strip_default_attrs=False, save_debug_info=False):
        """Saves the variables' values from ``sess`` to checkpoint ``save_path`` (suffixed
        ``-<global_step>`` if given: an int or a variable/tensor); writes the meta graph
        (``<prefix>.meta``) and updates the ``checkpoint`` state file. Returns the prefix
        written (``Saver.save``), or None for an empty Saver.

        Raises:
          TypeError: ``sess`` is not a Session (graph mode).
          ValueError: ``latest_filename`` has path components or collides with the
            checkpoint.
        """
        if not self._is_built and self._graph is not None:
            raise RuntimeError("`build()` should be called before save if defer_build==True")
        latest_filename = latest_filename or "checkpoint"
        if os.path.split(latest_filename)[0]:
            raise ValueError("'latest_filename' must not contain path components")
        save_path = os.fspath(save_path)
        if global_step is not None:
            if not isinstance(global_step, (int, np.integer)):
                from numflow.train.training_util import global_step as read_step
                global_step = read_step(sess, global_step)
            fmt = "{}-{:08d}" if self._pad_step_number else "{}-{}"
            checkpoint_file = fmt.format(save_path, int(global_step))
        else:
            checkpoint_file = save_path
            if os.path.basename(save_path) == latest_filename:
                raise ValueError(f"'latest_filename' collides with 'save_path': "
                                 f"'{latest_filename}' and '{save_path}'")
        if self._graph is not None and not hasattr(sess, "run"):
            raise TypeError(f"'sess' must be a Session; {sess}")
        save_dir = os.path.dirname(save_path)
        if self._is_empty:
            return None
        values = self._read_values(sess)
        if write_state:
            self._stop_naming(checkpoint_file, save_dir, latest_filename)
        tf_checkpoint.write_checkpoint(checkpoint_file, values)
        if write_meta_graph and self._graph is not None:
            self._write_meta_graph(sess, cm.meta_graph_filename(checkpoint_file,
                                                                meta_graph_suffix))
        if write_state:
            self._record(checkpoint_file)
            cm.update_checkpoint_state_internal(
                save_dir, checkpoint_file, self.last_checkpoints, latest_filename,
                self._save_relative_paths)
            self._delete_old(meta_graph_suffix)
        return checkpoint_file

    def _read_values(self, sess):
        names = sorted(self._vars)
        if self._graph is None:
            arrays = [self._vars[n].numpy() for n in names]
        else:
            arrays = sess.run([self._vars[n] for n in names])
        return {n: np.array(a, copy=True) if not isinstance(a, (bytes, str)) else a
                for n, a in zip(names, arrays)}

    def _stop_naming(self, checkpoint_file, save_dir, latest_filename):
        """Before overwriting a checkpoint the state file names, drop it from the state."""
        if not cm.checkpoint_exists(checkpoint_file):
            return
        state = cm.get_checkpoint_state(save_dir or ".", latest_filename)
        if state is None:
            return
        target = os.path.abspath(checkpoint_file)
        kept = [p for p in state.all_model_checkpoint_paths if os.path.abspath(p) != target]
        if os.path.abspath(state.model_checkpoint_path) != target and \
                len(kept) == len(state.all_model_checkpoint_paths):
            return
        state_file = os.path.join(save_dir, latest_filename)
        if not kept:
            os.remove(state_file)
            return
        cm.update_checkpoint_state_internal(save_dir, kept[-1], kept, latest_filename,
                                            self._save_relative_paths)

    def _write_meta_graph(self, sess, filename):
        from numflow.train import meta_graph
        try:
            meta_graph.export_meta_graph(filename, graph=sess.graph,
                                         saver_info=self._saver_info())
        except meta_graph.MetaGraphExportError as e:
            warnings.warn(f"The meta graph was not written ({e}); the checkpoint was.")

    def _saver_info(self):
        return {"names": {n: _variable_name(v) for n, v in self._vars.items()},
                "max_to_keep": self._max_to_keep,
                "keep_checkpoint_every_n_hours": self._keep_hours,
                "pad_step_number": self._pad_step_number}

    # ---- restore ------------------------------------------------------------------------------
    def restore(self, sess, save_path):
        """Restores every variable of this Saver from checkpoint ``save_path``
        (``Saver.restore``). The variables need not be initialized.

        Raises:
          ValueError: ``save_path`` is None.
          NotFoundError: no checkpoint at ``save_path`` (also a ValueError, which TF
            raises), or the checkpoint lacks one of the variables.
          InvalidArgumentError: a variable's dtype or shape differs from the checkpoint's.
          DataLossError: the checkpoint is corrupt.
        """
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        save_path = os.fspath(save_path)
        if self._is_empty:
            return
        if not cm.checkpoint_exists(save_path):
            raise cm.CheckpointNotFoundError(
                None, None, "The passed save_path is not a valid checkpoint: " + save_path)
        reader = tf_checkpoint.CheckpointReader(save_path)
        values = {name: self._checked_value(reader, name, var)
                  for name, var in sorted(self._vars.items())}
        if self._graph is None:
            for name, var in self._vars.items():
                var.assign(values[name])
            return
        if not self._is_built:
            self.build()
        sess.run(self._restore_op, feed_dict={self._placeholders[n]: v
                                              for n, v in values.items()})

    def _checked_value(self, reader, name, var):
        if not reader.has_tensor(name):
            raise errors.NotFoundError(
                None, None, "Restoring from checkpoint failed. This is most likely due to a "
                "Variable name or other graph key that is missing from the checkpoint. Please "
                "ensure that you have not altered the graph expected based on the checkpoint. "
                f"Original error:\n\nKey {name} not found in checkpoint")
        value = reader.get_tensor(name)
        want = var.dtype.base_dtype
        got = reader.get_variable_to_dtype_map()[name]
        mismatch = None
        if got != want:
            mismatch = (f"tensor_name = {name}; expected dtype {want.name} does not equal "
                        f"original dtype {got.name}")
        elif not var.get_shape().is_compatible_with(np.shape(value)):
            mismatch = (f"Assign requires shapes of both tensors to match. lhs shape= "
                        f"{var.get_shape().as_list()} rhs shape= {list(np.shape(value))}")
        if mismatch:
            raise errors.InvalidArgumentError(
                None, None, "Restoring from checkpoint failed. This is most likely due to a "
                "mismatch between the current graph and the graph from the checkpoint. Please "
                "ensure that you have not altered the graph expected based on the checkpoint. "
                f"Original error:\n\n{mismatch}")
        if want == dtypes.string:
            return value
        return np.asarray(value, dtype=want.as_numpy_dtype)

    # ---- meta graph ---------------------------------------------------------------------------
    def export_meta_graph(self, filename=None, collection_list=None, as_text=False,
                          export_scope=None, clear_devices=False,
                          clear_extraneous_savers=False, strip_default_attrs=False,
                          save_debug_info=False):
        """Writes the graph with this Saver's variable mapping (see
        ``tf.train.export_meta_graph``); returns the serialized meta graph (a dict)."""
        from numflow.train import meta_graph
        return meta_graph.export_meta_graph(
            filename, collection_list=collection_list, graph=self._graph,
            export_scope=export_scope, clear_devices=clear_devices,
            saver_info=self._saver_info())
