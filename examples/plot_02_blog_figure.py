"""
The blog figure, dark and light
===============================

The look of the seed notebook's blog posts (black figure, cells separated by thin black
gaps, viridis, no frame) is the ``blog_dark`` style; ``blog_light`` is its white twin.
Styles are ordinary ``.mplstyle`` files, so they combine with everything else.
"""

import matplotlib.pyplot as plt

import mpl_residual as mr

stream = mr.load_sample()

for style in ("blog_dark", "blog_light"):
    with mr.style_context(style):
        fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
        mr.residual_grid(stream, ax=ax, layer=-1, colorbar=True, title=stream.title)
