"""minicnn against an earlier minicnn, in one process: the standard conv layers and the LeNet-5 step.

    python benchmarks/before_after.py REV [--out results.md] [--quick]

REV (a commit) is extracted with ``git archive`` into a scratch directory and imported under
the name ``minicnn_before`` beside this checkout's ``minicnn`` (its imports are relative, so
the two never meet). Both are timed by :func:`minicnn.benchmark.timing.compare` — each in its
own warmed block, blocks alternated over rounds, the median of the block medians — under the
same process settings: glibc's malloc thresholds kept (:func:`minicnn.allocator.keep_freed_memory`;
an older minicnn may set them at import, which this matches) and the same BLAS threads.

What runs: ``F.conv2d`` with no arguments (the default path) forward and forward+backward on
every standard layer, float32, and one LeNet-5 training step (batch 64, Adam, cross-entropy) on
the numpy and, where numba is installed, the numba backend.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import io
import platform
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import minicnn  # noqa: E402
from minicnn import allocator  # noqa: E402
from minicnn.benchmark.layers import STANDARD_LAYERS  # noqa: E402
from minicnn.benchmark.timing import DEFAULT_METHOD, QUICK_METHOD, Contender, compare  # noqa: E402


def import_revision(revision: str, where: Path):
    """``minicnn`` as of ``revision``, imported as ``minicnn_before`` from ``where``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "minicnn", "kernels"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(where, filter="tar")
    (where / "minicnn").rename(where / "minicnn_before")
    sys.path.insert(0, str(where))
    before = importlib.import_module("minicnn_before")
    # The backend packages are imported by absolute name on first use; point those at the copy.
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("minicnn_before."):
            for name in ("_BACKEND_MODULES", "BACKEND_PACKAGES"):
                table = getattr(module, name, None)
                if isinstance(table, dict):
                    table.update({key: "minicnn_before." + value.split(".", 1)[1] for key, value in table.items()})
    return before


def conv_contenders(lib, label: str, layer, backward: bool):
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((layer.n, layer.c_in, layer.h, layer.w), dtype=np.float32),
                   requires_grad=backward)
    w = lib.tensor(rng.standard_normal((layer.c_out, layer.c_in, layer.k, layer.k), dtype=np.float32),
                   requires_grad=backward)
    b = lib.tensor(rng.standard_normal(layer.c_out, dtype=np.float32), requires_grad=backward)
    conv2d = lib.nn.functional.conv2d

    def step():
        y = conv2d(x, w, b, stride=layer.stride, padding=layer.pad)
        if backward:
            y.sum().backward()
            x.grad = w.grad = b.grad = None

    scope = (lambda: lib.backends.use_backend("numpy")) if backward else (lambda: _forward_scope(lib))
    return Contender(label, step, scope)


class _forward_scope:
    """numpy backend and no autograd graph, entered around each forward block."""

    def __init__(self, lib):
        self.contexts = [lib.backends.use_backend("numpy"), lib.no_grad()]

    def __enter__(self):
        for context in self.contexts:
            context.__enter__()

    def __exit__(self, *exc):
        for context in reversed(self.contexts):
            context.__exit__(*exc)


def lenet_contender(lib, label: str, backend: str, batch: int = 64):
    rng = np.random.default_rng(1)
    lib.manual_seed(0)
    model = lib.models.get_model("lenet5")
    optimizer = lib.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = lib.nn.CrossEntropyLoss()
    images = lib.tensor(rng.standard_normal((batch, 1, 28, 28), dtype=np.float32))
    labels = lib.tensor(rng.integers(0, 10, batch))

    def step():
        optimizer.zero_grad()
        loss_fn(model(images), labels).backward()
        optimizer.step()

    return Contender(label, step, lambda: lib.backends.use_backend(backend))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("revision", help="the earlier commit to compare with")
    parser.add_argument("--out", type=Path, help="write the markdown table here too")
    parser.add_argument("--quick", action="store_true", help="short blocks: a smoke run, not a result")
    parser.add_argument("--layers", help="comma-separated standard layer names (default: all)")
    args = parser.parse_args(argv)
    method = QUICK_METHOD if args.quick else DEFAULT_METHOD
    malloc = allocator.command_setting()
    with tempfile.TemporaryDirectory(prefix="minicnn-before-") as scratch:
        before = import_revision(args.revision, Path(scratch))
        groups = []
        chosen = set(args.layers.split(",")) if args.layers else None
        for layer in STANDARD_LAYERS:
            if chosen and layer.name not in chosen:
                continue
            for backward in (False, True):
                groups.append((f"{layer.name} {'fwd+bwd' if backward else 'fwd'}",
                               [conv_contenders(lib, name, layer, backward)
                                for name, lib in (("before", before), ("after", minicnn))]))
        backends = ["numpy"] + (["numba"] if minicnn.backends.available()["numba"][0] else [])
        for backend in backends:
            groups.append((f"lenet5 step, batch 64, {backend}",
                           [lenet_contender(lib, name, backend) for name, lib in (("before", before), ("after", minicnn))]))
        rows = []
        for title, contenders in groups:
            before_t, after_t = compare(contenders, method)
            if before_t.error or after_t.error:
                rows.append(f"| {title} | {before_t.error or ''} | {after_t.error or ''} | | |")
                continue
            lo, hi = after_t.spread
            rows.append(f"| {title} | {before_t.median * 1e3:.2f} | {after_t.median * 1e3:.2f} | "
                        f"{after_t.median / before_t.median:.3f} | {lo * 1e3:.2f}-{hi * 1e3:.2f} |")
            print(rows[-1], flush=True)
    header = [
        f"# minicnn {minicnn.__version__} (this checkout) against {args.revision}, "
        f"{datetime.date.today().isoformat()}",
        "",
        f"Machine: {platform.machine()}, {platform.processor() or platform.platform()}; "
        f"numpy {np.__version__}; {malloc}.",
        f"{method.describe()}.",
        "",
        "| case | before (ms) | after (ms) | after/before | after's block medians (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    text = "\n".join(header + rows) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
