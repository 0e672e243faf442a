"""Finding checkpoints: the ``checkpoint`` state file, ``latest_checkpoint``,
``get_checkpoint_state``, ``checkpoint_exists``, and reading variables back
(``load_checkpoint``, ``load_variable``, ``list_variables``).

The state file is TF's ``CheckpointState`` text proto::

    model_checkpoint_path: "model.ckpt-7"
    all_model_checkpoint_paths: "model.ckpt-6"
    all_model_checkpoint_paths: "model.ckpt-7"

written atomically (temp file, fsync, rename), so a reader sees the old or the new state,
never a mix. Paths inside it are relative to its directory unless absolute.
"""
import glob
import logging
import os

from numflow._api.export import export
from numflow.framework import errors
from numflow.io import tf_checkpoint
from numflow.io.atomic import atomic_write_bytes

_log = logging.getLogger("numflow")
_FIELDS = ("model_checkpoint_path", "all_model_checkpoint_paths",
           "all_model_checkpoint_timestamps", "last_preserved_timestamp")


class CheckpointState:
    """``tf.train.CheckpointState``: ``model_checkpoint_path`` (the latest checkpoint),
    ``all_model_checkpoint_paths`` (those kept, oldest first) and their timestamps."""

    def __init__(self, model_checkpoint_path="", all_model_checkpoint_paths=(),
                 all_model_checkpoint_timestamps=(), last_preserved_timestamp=0.0):
        self.model_checkpoint_path = model_checkpoint_path
        self.all_model_checkpoint_paths = list(all_model_checkpoint_paths)
        self.all_model_checkpoint_timestamps = list(all_model_checkpoint_timestamps)
        self.last_preserved_timestamp = last_preserved_timestamp

    def __str__(self):
        lines = [f'model_checkpoint_path: "{_escape(self.model_checkpoint_path)}"']
        lines += [f'all_model_checkpoint_paths: "{_escape(p)}"'
                  for p in self.all_model_checkpoint_paths]
        lines += [f"all_model_checkpoint_timestamps: {t!r}"
                  for t in self.all_model_checkpoint_timestamps]
        if self.last_preserved_timestamp:
            lines.append(f"last_preserved_timestamp: {self.last_preserved_timestamp!r}")
        return "\n".join(lines) + "\n"

    def __repr__(self):
        return str(self)

    def __eq__(self, other):
        return isinstance(other, CheckpointState) and str(self) == str(other)


# ---- the text format ------------------------------------------------------------------------
_ESCAPES = {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord('"'): '\\"',
            ord("'"): "\\'", ord("\\"): "\\\\"}


def _escape(text):
    """C-escapes a string as protobuf's text format does (non-ASCII bytes as octal)."""
    out = []
    for b in text.encode("utf-8"):
        if b in _ESCAPES:
            out.append(_ESCAPES[b])
        elif 0x20 <= b < 0x7f:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03o}")
    return "".join(out)


class _ParseError(ValueError):
    pass


def _unescape(body):
    out, i = bytearray(), 0
    simple = {"n": 10, "r": 13, "t": 9, '"': 34, "'": 39, "\\": 92, "a": 7, "b": 8, "f": 12,
              "v": 11, "?": 63}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        if i + 1 >= len(body):
            raise _ParseError("dangling backslash")
        e = body[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e in "01234567":
            j = i + 1
            while j < len(body) and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(int(body[i + 1:j], 8) & 0xFF)
            i = j
        elif e in "xX":
            j = i + 2
            while j < len(body) and j < i + 4 and body[j] in "0123456789abcdefABCDEF":
                j += 1
            if j == i + 2:
                raise _ParseError("bad \\x escape")
            out.append(int(body[i + 2:j], 16))
            i = j
        else:
            raise _ParseError(f"unknown escape \\{e}")
    return out.decode("utf-8", errors="replace")


def parse_checkpoint_state(text):
    """Parses the text of a ``checkpoint`` file into a CheckpointState.

    Raises:
      ValueError: on a malformed line or an unknown field.
    """
    state = CheckpointState()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or key not in _FIELDS:
            raise _ParseError(f"line {lineno}: unexpected {raw!r}")
        if key.endswith("_path") or key.endswith("_paths"):
            if len(value) < 2 or value[0] != value[-1] or value[0] not in "\"'":
                raise _ParseError(f"line {lineno}: expected a quoted string")
            s = _unescape(value[1:-1])
            if key == "model_checkpoint_path":
                state.model_checkpoint_path = s
            else:
                state.all_model_checkpoint_paths.append(s)
        else:
            try:
                number = float(value)
            except ValueError:
                raise _ParseError(f"line {lineno}: expected a number") from None
            if key == "last_preserved_timestamp":
                state.last_preserved_timestamp = number
            else:
                state.all_model_checkpoint_timestamps.append(number)
    return state


# ---- the state file ---------------------------------------------------------------------------
def _state_filename(save_dir, latest_filename):
    return os.path.join(save_dir, latest_filename or "checkpoint")


@export(v1=["train.generate_checkpoint_state_proto"])
def generate_checkpoint_state_proto(save_dir, model_checkpoint_path,
                                    all_model_checkpoint_paths=None,
                                    all_model_checkpoint_timestamps=None,
                                    last_preserved_timestamp=None):
    """A CheckpointState naming ``model_checkpoint_path`` as the latest (it is appended to
    ``all_model_checkpoint_paths`` if not last there); relative paths are made relative to
    ``save_dir`` when ``save_dir`` is relative, as TF does."""
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)
    if not os.path.isabs(save_dir):
        if not os.path.isabs(model_checkpoint_path):
            model_checkpoint_path = os.path.relpath(model_checkpoint_path, save_dir)
        paths = [p if os.path.isabs(p) else os.path.relpath(p, save_dir) for p in paths]
    return CheckpointState(model_checkpoint_path, paths, all_model_checkpoint_timestamps or (),
                           last_preserved_timestamp or 0.0)


def update_checkpoint_state_internal(save_dir, model_checkpoint_path,
                                     all_model_checkpoint_paths=None, latest_filename=None,
                                     save_relative_paths=False,
                                     all_model_checkpoint_timestamps=None,
                                     last_preserved_timestamp=None):
    """Writes the state file atomically (``save_relative_paths`` stores paths relative to
    ``save_dir``).

    Raises:
      RuntimeError: the state file would overwrite the checkpoint itself.
    """
    filename = _state_filename(save_dir, latest_filename)
    if save_relative_paths:
        def rel(p):
            return os.path.relpath(p, save_dir) if os.path.isabs(p) else p
        state = generate_checkpoint_state_proto(
            save_dir, rel(model_checkpoint_path),
            [rel(p) for p in all_model_checkpoint_paths or []],
            all_model_checkpoint_timestamps, last_preserved_timestamp)
    else:
        state = generate_checkpoint_state_proto(
            save_dir, model_checkpoint_path, all_model_checkpoint_paths,
            all_model_checkpoint_timestamps, last_preserved_timestamp)
    if os.path.abspath(filename) == os.path.abspath(state.model_checkpoint_path):
        raise RuntimeError(f"Save path '{model_checkpoint_path}' conflicts with path used for "
                           "checkpoint state.  Please use a different save path.")
    if save_dir:
        os.makedirs(save_dir, exist_ok=True)
    atomic_write_bytes(filename, str(state).encode("utf-8"))


@export(v1=["train.update_checkpoint_state"])
def update_checkpoint_state(save_dir, model_checkpoint_path, all_model_checkpoint_paths=None,
                            latest_filename=None, all_model_checkpoint_timestamps=None,
                            last_preserved_timestamp=None):
    """Writes the ``checkpoint`` state file of ``save_dir`` (atomically)
    (``tf.compat.v1.train.update_checkpoint_state``)."""
    update_checkpoint_state_internal(save_dir, model_checkpoint_path, all_model_checkpoint_paths,
                                     latest_filename, False, all_model_checkpoint_timestamps,
                                     last_preserved_timestamp)


@export("train.get_checkpoint_state", v1=["train.get_checkpoint_state"])
def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The CheckpointState in ``checkpoint_dir``'s state file (relative paths joined to
    ``checkpoint_dir``), or None when there is none or it cannot be parsed
    (``tf.train.get_checkpoint_state``).

    Raises:
      ValueError: the file parses but names no checkpoint.
    """
    checkpoint_dir = os.fspath(checkpoint_dir)
    filename = _state_filename(checkpoint_dir, latest_filename)
    try:
        with open(filename, "rb") as f:
            raw = f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    except OSError as e:
        _log.warning("%s: %s: Checkpoint ignored", filename, e)
        return None
    try:
        state = parse_checkpoint_state(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        _log.warning("%s: %s: Checkpoint ignored", filename, e)
        return None
    if not state.model_checkpoint_path:
        raise ValueError("Invalid checkpoint state loaded from " + checkpoint_dir)
    if not os.path.isabs(state.model_checkpoint_path):
        state.model_checkpoint_path = os.path.join(checkpoint_dir, state.model_checkpoint_path)
    state.all_model_checkpoint_paths = [
        p if os.path.isabs(p) else os.path.join(checkpoint_dir, p)
        for p in state.all_model_checkpoint_paths]
    return state


@export("train.latest_checkpoint", v1=["train.latest_checkpoint"])
def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the latest checkpoint named by ``checkpoint_dir``'s state file, or
    None if there is none or its files are missing (``tf.train.latest_checkpoint``)."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state and state.model_checkpoint_path:
        if checkpoint_exists(state.model_checkpoint_path):
            return state.model_checkpoint_path
        _log.error("Couldn't match files for checkpoint %s", state.model_checkpoint_path)
    return None


@export(v1=["train.checkpoint_exists"])
def checkpoint_exists(checkpoint_prefix):
    """True if a checkpoint (its ``.index`` file, or a V1 file) exists at
    ``checkpoint_prefix``, which may be a glob pattern
    (``tf.compat.v1.train.checkpoint_exists``)."""
    prefix = os.fspath(checkpoint_prefix)
    return bool(glob.glob(glob.escape(prefix) + ".index") or glob.glob(prefix + ".index")
                or (os.path.isfile(prefix)))


@export(v1=["train.get_checkpoint_mtimes"])
def get_checkpoint_mtimes(checkpoint_prefixes):
    """The modification times of the checkpoints' ``.index`` files (missing ones skipped)."""
    out = []
    for prefix in checkpoint_prefixes:
        try:
            out.append(os.path.getmtime(tf_checkpoint.index_filename(prefix)))
        except OSError:
            pass
    return out


def checkpoint_files(prefix, meta_graph_suffix="meta"):
    """The files of checkpoint ``prefix`` that exist: index first, then data, then meta."""
    prefix = os.fspath(prefix)
    files = [tf_checkpoint.index_filename(prefix)]
    files += sorted(glob.glob(glob.escape(prefix) + ".data-?????-of-?????"))
    files.append(meta_graph_filename(prefix, meta_graph_suffix))
    return [f for f in files if os.path.exists(f)]


@export(v1=["train.remove_checkpoint"])
def remove_checkpoint(checkpoint_prefix, checkpoint_format_version=2, meta_graph_suffix="meta"):
    """Deletes checkpoint ``checkpoint_prefix``: its index first (so it stops existing),
    then its data and meta graph files (``tf.compat.v1.train.remove_checkpoint``)."""
    for f in checkpoint_files(checkpoint_prefix, meta_graph_suffix):
        try:
            os.remove(f)
        except FileNotFoundError:
            pass


def meta_graph_filename(checkpoint_filename, meta_graph_suffix="meta"):
    """``model.ckpt-7`` -> ``model.ckpt-7.meta`` (any ``-?????-of-?????`` shard suffix
    dropped)."""
    import re
    basename = re.sub(r"-[\d\?]+-of-\d+$", "", os.fspath(checkpoint_filename))
    return f"{basename}.{meta_graph_suffix}"


# ---- reading variables back ---------------------------------------------------------------------
def _checkpoint_prefix(ckpt_dir_or_file):
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        prefix = latest_checkpoint(path)
        if prefix is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given "
                             f"directory {path}")
        return prefix
    return path


@export("train.load_checkpoint", v1=["train.load_checkpoint"])
def load_checkpoint(ckpt_dir_or_file):
    """A CheckpointReader for a checkpoint prefix, or the latest checkpoint of a directory
    (``tf.train.load_checkpoint``): ``get_tensor``, ``has_tensor``,
    ``get_variable_to_shape_map``, ``get_variable_to_dtype_map``.

    Raises:
      ValueError: a directory without checkpoints.
      NotFoundError: no checkpoint at the prefix.
      DataLossError: a corrupt checkpoint.
    """
    return tf_checkpoint.CheckpointReader(_checkpoint_prefix(ckpt_dir_or_file))


@export(v1=["train.NewCheckpointReader"])
def NewCheckpointReader(filepattern):  # noqa: N802 - TF's public name
    """A CheckpointReader for checkpoint prefix ``filepattern`` (TF1 spelling of
    ``load_checkpoint``)."""
    return tf_checkpoint.CheckpointReader(os.fspath(filepattern))


@export("train.load_variable", v1=["train.load_variable"])
def load_variable(ckpt_dir_or_file, name):
    """The value (a NumPy array) of variable ``name`` (a trailing ``:0`` is ignored) in a
    checkpoint (``tf.train.load_variable``).

    Raises:
      NotFoundError: the checkpoint has no such variable.
    """
    if name.endswith(":0"):
        name = name[:-2]
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)


@export("train.list_variables", v1=["train.list_variables"])
def list_variables(ckpt_dir_or_file):
    """``[(name, shape), ...]`` of every variable in a checkpoint, sorted by name
    (``tf.train.list_variables``)."""
    shapes = load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map()
    return [(name, shapes[name]) for name in sorted(shapes)]


class CheckpointNotFoundError(errors.NotFoundError, ValueError):
    """No checkpoint at the path given to ``Saver.restore``. TF raises ValueError
    ("The passed save_path is not a valid checkpoint"); this is both a ValueError and a
    ``tf.errors.NotFoundError``, so either ``except`` clause catches it."""
