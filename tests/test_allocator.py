"""minicnn.allocator: with glibc's thresholds fixed, freed blocks are reused instead of faulting again;
the setting is an explicit call (made by the minicnn commands), never a side effect of the import.

The malloc cases run in fresh interpreters, since the settings are process-wide and cannot be undone."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from minicnn import allocator
from helpers.malloc import env_with_helpers

# Six rounds of allocating and freeing three 15 MiB blocks; print the page faults of each round.
ROUNDS = """
import sys
from helpers.malloc import faults_per_round
if sys.argv[1] == "tuned":
    from minicnn.allocator import keep_freed_memory
    assert keep_freed_memory()
print(*faults_per_round(6))
"""


def faults_per_round(mode: str) -> list[int]:
    """The page faults of each of ROUNDS' rounds in a fresh interpreter, "tuned" or "untuned"."""
    out = subprocess.run([sys.executable, "-c", ROUNDS, mode], capture_output=True, text=True, check=True,
                         env=env_with_helpers({"PATH": ""}))
    return [int(n) for n in out.stdout.split()]


glibc_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's (Linux)")


@glibc_only
def test_tuned_allocator_reuses_freed_blocks_without_page_faults():
    untuned, tuned = faults_per_round("untuned"), faults_per_round("tuned")
    # After the first round, the tuned process faults (almost) nothing: 45 MiB is 11,520 pages.
    assert max(tuned[1:]) < 50, tuned
    # ... while the untuned one faults every round: the difference is the tuning, not the test.
    assert min(untuned[1:]) > 500, untuned


SETTING = """
from minicnn import allocator
print(allocator.freed_memory_kept())
print(allocator.command_setting())
print(allocator.freed_memory_kept())
"""


@glibc_only
@pytest.mark.parametrize("tuning, kept, statement", [
    ("1", "True", "glibc malloc keeps freed memory (minicnn.allocator.keep_freed_memory(): mmap threshold "
                  "32 MiB, heap never trimmed), for every library in the process"),
    ("0", "False", "malloc at its defaults (MINICNN_MALLOC_TUNING=0)"),
])
def test_the_commands_setting_keeps_freed_memory_unless_opted_out_and_says_which(tuning, kept, statement):
    out = subprocess.run([sys.executable, "-c", SETTING], capture_output=True, text=True, check=True,
                         env={"MINICNN_MALLOC_TUNING": tuning, "PATH": ""}).stdout.splitlines()
    assert out == ["False", statement, kept]  # nothing set before the call


def test_without_glibc_nothing_is_set_and_the_statement_says_why(monkeypatch):
    def no_libc(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(allocator, "_tuned", False)
    monkeypatch.setattr(allocator, "_unavailable", False)
    monkeypatch.delenv("MINICNN_MALLOC_TUNING", raising=False)
    assert allocator.describe() == "malloc at its defaults (minicnn.allocator.keep_freed_memory() not called)"
    monkeypatch.setattr(allocator.ctypes, "CDLL", no_libc)
    assert allocator.keep_freed_memory() is False
    assert not allocator.freed_memory_kept()
    assert allocator.describe() == "malloc at its defaults (no glibc mallopt here)"


@glibc_only
def test_minicnn_train_applies_the_setting_and_says_so(tmp_path):
    from helpers.cli import QUICK, run_cli, synthetic_digits, write_idx

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        labels = rng.integers(0, 10, 64)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", synthetic_digits(labels, rng))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    result = run_cli("train", *QUICK, "--backend", "numpy", "--subset", "64", "--epochs", "1",
                     "--data-root", tmp_path, "--out", tmp_path / "run", "--no-plots", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "; glibc malloc keeps freed memory (minicnn.allocator.keep_freed_memory()" in result.stdout
