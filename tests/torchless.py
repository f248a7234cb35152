"""Run Python code where ``import torch`` fails: proof that minicnn's side never uses torch.

The subprocess's ``sys.meta_path`` starts with a finder that raises ImportError for torch and
every torch submodule, and the run ends by asserting torch never made it into sys.modules.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

BLOCK_TORCH = textwrap.dedent("""
    import sys

    class BlockTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError(f"import of {name} blocked: minicnn must work without torch")
            return None

    sys.meta_path.insert(0, BlockTorch())
    import numpy as np
    import minicnn
""")
CHECK_NO_TORCH = "\nassert 'torch' not in sys.modules, 'torch was imported'\n"


def python_env() -> dict[str, str]:
    """This checkout first on the path, one BLAS thread (the machines are shared)."""
    pythonpath = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=pythonpath, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def run_without_torch(code: str, **paths) -> str:
    """Run ``code`` (with ``minicnn``, ``np`` and the given paths as variables) where torch is
    blocked; return its stdout."""
    assignments = "".join(f"{name} = {os.fspath(value)!r}\n" for name, value in paths.items())
    script = BLOCK_TORCH + assignments + textwrap.dedent(code) + CHECK_NO_TORCH
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env=python_env())
    assert done.returncode == 0, done.stderr
    return done.stdout
