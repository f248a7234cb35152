"""The layering of minicnn's packages (pyproject.toml's import-linter contract) holds.

Each package imports only from those below it: the references (functional) never import the
tuned implementations above them, the registry and geometry sit at the bottom, and no command
module imports the command line that calls it.
"""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_packages_import_only_downward():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.is_file(), f"import-linter's lint-imports is not installed beside {sys.executable}"
    done = subprocess.run([str(lint_imports), str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout
