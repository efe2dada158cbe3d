"""A GPT-2-small-like stream, for the gallery: no model, no download."""

import numpy as np


def gpt2_like(seed: int = 0, *, massive: bool = True) -> np.ndarray:
    """
    ``(13, 768)``: embeddings and 12 blocks whose typical size grows a hundredfold with
    depth, and (if *massive*) two dimensions, 138 and 447, with massive activations
    from block 2 on, hundreds to thousands of times the median, as Sun et al. (2024)
    found in GPT-2.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((13, 768)).cumsum(axis=0) * np.geomspace(0.05, 3, 13)[:, None]
    if massive:
        x[2:, 447] += np.geomspace(60, 3000, 11)
        x[2:, 138] -= np.geomspace(20, 900, 11)
    return x.astype(np.float32)
