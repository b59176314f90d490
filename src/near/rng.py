"""Seeded, isolated randomness: code run inside draws from a given seed and leaves every global
generator (torch CPU and CUDA, NumPy, Python's ``random``) exactly as it found it."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch


@contextlib.contextmanager
def isolated_rng(seed: int) -> Iterator[None]:
    """Seed all global generators with ``seed`` for the duration of the block, then restore them.

    Torch takes seeds below 2**64 only: a larger one is hashed into that range by NumPy's
    ``SeedSequence`` (smaller seeds are used as they are, so their streams do not change).
    """
    torch_seed = seed if seed < 2**64 else int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=cuda):
            torch.default_generator.manual_seed(torch_seed)
            if cuda:  # only when CUDA is in use already: never initialise it (or queue a seed) as a side effect
                torch.cuda.manual_seed_all(torch_seed)
            np.random.seed(seed % 2**32)
            random.seed(seed)
            yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
