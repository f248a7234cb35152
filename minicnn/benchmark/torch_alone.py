"""torch as users run it: alone in a fresh process, malloc at its defaults (the second torch column).

In ``minicnn bench`` torch shares the process with minicnn, and so its allocator setting
(:mod:`minicnn.allocator`): like with like, the reference of every ratio. torch in a process
of its own, at glibc's default thresholds, is another number, the one its users see (its large
temporaries page-fault afresh on every call). :func:`time_torch_alone` measures it in a fresh
interpreter (``python -m minicnn.benchmark.torch_alone``) on the same CPU cases, by the same
method (:mod:`.timing`: one contender per group, so its rounds are consecutive blocks, as in
``torch.utils.benchmark``'s ``blocked_autorange``), with the same torch thread count, and reads
the timings back as JSON on the child's stdout. The child imports minicnn for the case code;
importing minicnn changes no process-wide setting, and the child applies none.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Sequence

from .. import allocator
from .cases import BenchPlan, Case, build_cases, contender
from .implementations import optional_torch
from .layers import ConvLayer, LeNetStep, PoolLayer
from .timing import Method, compare


def request(plan: BenchPlan, method: Method, threads: int, groups: Sequence[str] | None = None) -> dict[str, Any]:
    """What the child needs to rebuild ``plan``'s torch cases (only those of ``groups``, if
    given), as JSON-ready data."""
    return {"ops": list(plan.ops), "conv_layers": [asdict(layer) for layer in plan.conv_layers],
            "pool_layers": [asdict(layer) for layer in plan.pool_layers], "lenet": asdict(plan.lenet),
            "groups": None if groups is None else list(groups), "method": method.as_dict(), "threads": threads}


def case_plan(case: Case) -> BenchPlan:
    """A plan holding ``case``'s op on ``case``'s workload: ask for ``case.group`` only."""
    plan = BenchPlan((), case.implementation.torch, (case.op,))
    if case.op == "conv2d":
        return replace(plan, conv_layers=(case.workload,))
    if case.op == "lenet5_step":
        return replace(plan, lenet=case.workload)
    return replace(plan, pool_layers=(case.workload,))


def time_torch_alone(plan: BenchPlan, method: Method, threads: int,
                     groups: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the child on ``plan``'s CPU torch cases (of ``groups``, if given); returns its
    document: ``{"malloc": ..., "threads": ..., "groups": {group: timing}}`` (timings as
    :meth:`~.timing.Timing.as_dict`). RuntimeError with the child's last words if it fails."""
    package_root = str(Path(__file__).resolve().parents[2])  # the child imports this minicnn
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    child = subprocess.run([sys.executable, "-m", "minicnn.benchmark.torch_alone"], env=env, text=True,
                           input=json.dumps(request(plan, method, threads, groups)), capture_output=True)
    if child.returncode != 0:
        last = (child.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"torch alone in a fresh process failed (exit {child.returncode}): {last}")
    return json.loads(child.stdout)


def _plan(document: dict[str, Any], torch) -> BenchPlan:
    return BenchPlan((), torch, tuple(document["ops"]),
                     tuple(ConvLayer(**layer) for layer in document["conv_layers"]),
                     tuple(PoolLayer(**layer) for layer in document["pool_layers"]),
                     LeNetStep(**document["lenet"]))


def main() -> None:
    """The child: read the request on stdin, time each CPU torch case alone, print the JSON."""
    document = json.load(sys.stdin)
    torch, why_not = optional_torch()
    if torch is None:
        raise SystemExit(why_not)
    torch.set_num_threads(document["threads"])
    method = Method(**document["method"])
    groups = {}
    wanted = document["groups"]
    for case in build_cases(_plan(document, torch)):
        if case.implementation.device == "cpu" and (wanted is None or case.group in wanted):
            (timing,) = compare([contender(case)], method)
            groups[case.group] = timing.as_dict()
    json.dump({"malloc": allocator.describe(), "threads": torch.get_num_threads(), "groups": groups}, sys.stdout)


if __name__ == "__main__":
    main()
