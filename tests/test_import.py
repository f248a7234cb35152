"""``import minicnn`` must work without torch: torch is the tests' oracle, never a dependency."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_importing_minicnn_does_not_import_torch():
    code = (
        "import sys\n"
        "import minicnn, minicnn.nn, minicnn.nn.functional\n"
        "leaked = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not leaked, f'minicnn imported {leaked}'\n"
    )
    # A fresh interpreter, started in the checkout so that it imports this minicnn.
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
