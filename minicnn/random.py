"""One process-wide random generator, seeded by ``manual_seed`` (init, dropout, randn, shuffling).

minicnn draws from NumPy's PCG64, so a seed reproduces minicnn runs exactly but does not
reproduce torch's random streams; parity tests copy tensors across instead.
"""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


seed = manual_seed


def default_generator() -> np.random.Generator:
    return _generator


def get_rng_state() -> dict:
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    _generator.bit_generator.state = state


class Generator:
    """``minicnn.Generator().manual_seed(s)``: a private stream for e.g. a DataLoader."""

    def __init__(self, device="cpu"):
        self.rng = np.random.default_rng()

    def manual_seed(self, seed: int) -> "Generator":
        self.rng = np.random.default_rng(int(seed))
        return self

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def __getattr__(self, name):  # uniform, normal, permutation, … come from the NumPy Generator
        return getattr(self.rng, name)
