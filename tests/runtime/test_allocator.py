"""numflow/runtime/allocator.py: glibc's malloc keeps freed arrays for reuse, unless the
user opts out."""
import os
import subprocess
import sys

import pytest

from numflow.runtime import allocator


def _glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False


def _configured_in_child(env_value):
    env = dict(os.environ)
    env.pop("NUMFLOW_MALLOC", None)
    if env_value is not None:
        env["NUMFLOW_MALLOC"] = env_value
    out = subprocess.run([sys.executable, "-c", "import numflow\n"
                          "from numflow.runtime import allocator\n"
                          "print(allocator.configured)"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not _glibc(), reason="glibc only")
def test_import_configures_glibc_once():
    assert _configured_in_child(None) == "True"
    assert allocator.configure() is allocator.configured    # a second call changes nothing


def test_numflow_malloc_default_opts_out():
    assert _configured_in_child("default") == "False"
