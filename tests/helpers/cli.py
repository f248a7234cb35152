"""Running the `minicnn` command the way a user does: its console script, in a subprocess."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# The console script installed beside the interpreter that runs the tests (the venv's bin/),
# never whatever `minicnn` comes first on PATH, and never `python -m minicnn` in its place:
# a broken or missing entry point must fail the CLI tests, not be routed around.
MINICNN_SCRIPT = Path(sys.executable).parent / "minicnn"


def run_cli(*args, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``minicnn *args`` on this checkout (PYTHONPATH first), one BLAS thread, no debug.

    It runs in a scratch directory with MINICNN_DATA pointing into it, so a command that
    forgot --out or --data-root cannot write into the repository or the user's data cache.
    """
    assert MINICNN_SCRIPT.is_file(), f"no console script {MINICNN_SCRIPT}: install minicnn (pip install -e .)"
    scratch = tempfile.mkdtemp(prefix="minicnn-cli-")
    pythonpath = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=pythonpath, MINICNN_DATA=os.path.join(scratch, "data"),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("MINICNN_DEBUG", None)
    env.update(extra_env or {})
    try:
        return subprocess.run([str(MINICNN_SCRIPT), *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=300, cwd=scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
