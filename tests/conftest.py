from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def gpt2_vector() -> np.ndarray:
    """GPT-2 small's final hidden state for "Paris is the capital of" (from the seed)."""
    return np.loadtxt(DATA / "gpt2_paris_layer12.txt", dtype=np.float32)


@pytest.fixture
def stream() -> np.ndarray:
    """A small, deterministic, heavy-tailed (layers, rows, cols) stream."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((5, 6, 8)).astype(np.float32)
    data[:, 1, 3] *= 40  # an outlier dimension, as in real models
    return data
