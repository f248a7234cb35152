"""One process-wide random generator, seeded by ``manual_seed`` (init, dropout, randn, shuffling).

minicnn draws from NumPy's PCG64, so a seed reproduces minicnn runs exactly but does not
reproduce torch's random streams; parity tests copy tensors across instead.
"""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def _bit_generator_state(seed: int) -> dict:
    # torch accepts any integer seed, negative ones included; PCG64 wants 0 <= seed < 2**128.
    return np.random.PCG64(int(seed) % 2**64).state


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the process-wide generator in place, so anything holding it sees the new stream."""
    _generator.bit_generator.state = _bit_generator_state(seed)
    return _generator


def seed() -> int:
    """Reseed from OS entropy and return the seed used (``torch.seed``)."""
    new_seed = int(np.random.SeedSequence().entropy % 2**63)
    manual_seed(new_seed)
    return new_seed


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
        self.rng.bit_generator.state = _bit_generator_state(seed)
        return self

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def __getattr__(self, name):  # uniform, normal, permutation, … come from the NumPy Generator
        if name == "rng":  # not set yet (copy/pickle build the object without __init__)
            raise AttributeError(name)
        return getattr(self.rng, name)
