"""``import minicnn`` must work without torch (torch is the tests' oracle, never a dependency) and
must change nothing process-wide: not glibc's malloc, not the environment, not any thread pool."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers.malloc import env_with_helpers

REPO = Path(__file__).parent.parent


def run_fresh(code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter, started in the checkout so that it imports this minicnn
    (and able to import the tests' ``helpers``)."""
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env=env_with_helpers(dict(os.environ)))


def test_importing_minicnn_does_not_import_torch():
    result = run_fresh(
        "import sys\n"
        "import minicnn, minicnn.nn, minicnn.nn.functional\n"
        "leaked = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not leaked, f'minicnn imported {leaked}'\n"
    )
    assert result.returncode == 0, result.stderr


# Before and after the import: the environment, every thread pool threadpoolctl sees, whether
# anything asked the C library for mallopt, and (on glibc) whether freed 15 MiB blocks still
# page-fault in again on reuse, as they do under glibc's own adaptive thresholds.
NO_PROCESS_WIDE_CHANGE = """
import ctypes, os, sys
import threadpoolctl

asked = []
class WatchedCDLL(ctypes.CDLL):
    def __getattr__(self, name):
        asked.append(name)
        return super().__getattr__(name)
ctypes.CDLL = WatchedCDLL

def pools():
    return {pool["filepath"]: pool["num_threads"] for pool in threadpoolctl.threadpool_info()}

environment, threads = dict(os.environ), pools()
import minicnn, minicnn.nn, minicnn.nn.functional, minicnn.optim
assert dict(os.environ) == environment, "the environment changed"
after = pools()
assert {path: after[path] for path in threads} == threads, (threads, after)
assert "mallopt" not in asked, asked
assert not minicnn.allocator.freed_memory_kept()
if "numba" in sys.modules:
    import numba
    assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS

if sys.platform.startswith("linux"):
    from helpers.malloc import faults_per_round
    faults = faults_per_round(4)
    assert min(faults[1:]) > 500, f"freed blocks were reused: malloc was retuned ({faults})"
print("unchanged")
"""


def test_importing_minicnn_changes_no_process_wide_state():
    result = run_fresh(NO_PROCESS_WIDE_CHANGE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "unchanged"
