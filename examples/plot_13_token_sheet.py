"""
Every token at every layer
==========================

:func:`~mpl_residual.token_sheet` takes a stream that keeps every position,
``(layers, tokens, rows, cols)`` (``hf.residual_stream(..., position=None)``, or
``mpl-residual capture --all-positions``), and draws one row of small grids per token,
one column per layer, on one colour scale with one colorbar. Here: the real
all-MiniLM-L6-v2 sample, without its ``[CLS]`` and ``[SEP]`` tokens.
"""

import mpl_residual as mr

every = mr.load_sample(position=None)
fig = mr.token_sheet(every, positions=slice(1, -1))
