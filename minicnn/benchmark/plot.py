"""The bar chart of a run, as a PNG, when matplotlib is installed.

Horizontal bars, so that the long group names (op, shape, direction) read level: one block
of bars per group, one bar per implementation that computed it, each implementation in the
same colour everywhere. With torch, the bars are time / torch's time (1 = as fast as torch,
drawn as a line); without it, the median times. Both on a log scale: the implementations
differ by factors, not by amounts.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .results import CaseResult


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")  # render to a file; no display needed
    import matplotlib.pyplot as plt

    return plt


BAR_INCHES = 0.22  # height of one bar; a group adds one bar's height of gap


def plot_results(results: Sequence[CaseResult], path: Path | str, with_torch: bool) -> Path | None:
    """Write the chart to ``path``; None (nothing written) when matplotlib is missing."""
    plt = _pyplot()
    if plt is None:
        return None
    shown = [r for r in results if (r.vs_torch if with_torch else r.median_s) is not None]
    groups: dict[str, list[CaseResult]] = {}
    for result in shown:
        groups.setdefault(result.group, []).append(result)
    implementations = list(dict.fromkeys(r.implementation for r in shown))
    palette = plt.get_cmap("tab20")
    colour = {name: palette(i % palette.N) for i, name in enumerate(implementations)}

    fig, ax = plt.subplots(figsize=(10, 1.5 + BAR_INCHES * (len(shown) + len(groups))))
    y, ticks = 0.0, []
    for group, members in groups.items():
        ticks.append(y + (len(members) - 1) / 2)  # the group's name faces the middle of its block
        for result in members:
            value = result.vs_torch if with_torch else result.median_s * 1e3
            ax.barh(y, value, color=colour[result.implementation], label=result.implementation)
            y += 1
        y += 1
    ax.set_yticks(ticks)
    ax.set_yticklabels(list(groups), fontsize=7)
    ax.invert_yaxis()  # first group on top, as in the printed table
    ax.set_xscale("log")
    if with_torch:
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel("time / torch's time (log scale; < 1 is faster than torch)")
    else:
        ax.set_xlabel("median time, ms (log scale)")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))  # one legend entry per implementation, not per bar
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="best")
    ax.set_title("minicnn bench")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
