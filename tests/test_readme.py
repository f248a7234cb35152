"""The README's quickstart is the front door: its Python example must run as written."""
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README.md has no ```python block"
    result = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True,
                            cwd=README.parent, timeout=120)
    assert result.returncode == 0, result.stderr
    # The example prints the gradient shapes it promises in its comment.
    assert result.stdout.split("\n")[0] == "(8, 1, 28, 28) (6, 1, 5, 5)"


def test_readme_benchmark_table_is_generated_from_the_run_it_names():
    """The table between the bench-table markers is benchmarks/readme_table.py's rendering of the
    committed results file it names: editing the numbers by hand, or the file, fails here."""
    sys.path.insert(0, str(README.parent / "benchmarks"))
    try:
        import readme_table
    finally:
        sys.path.pop(0)
    text = README.read_text()
    run = readme_table.named_run(text)
    assert run.is_file(), f"README.md names {run}, which is not committed"
    assert readme_table.block(run) in text
