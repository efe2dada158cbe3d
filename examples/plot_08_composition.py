"""
Composing with subfigures and GridSpec
======================================

A :class:`~mpl_residual.ResidualStreamArtist` is an ordinary matplotlib collection, so
grids go anywhere an image would: in subfigures, in any GridSpec cell, next to a line
plot, sharing one colorbar.
"""

import matplotlib.pyplot as plt
import numpy as np

import mpl_residual as mr

stream = mr.load_sample()
values = np.asarray(stream)

fig = plt.figure(figsize=(9, 5), layout="constrained")
left, right = fig.subfigures(1, 2, width_ratios=[2, 1])

gs = left.add_gridspec(2, 2)
big = left.add_subplot(gs[0, :], projection="residual")
first = big.residual_grid(stream, layer=-1, title=stream.title)
for i, layer in enumerate((1, 3)):
    ax = left.add_subplot(gs[1, i], projection="residual")
    ax.residual_grid(stream, layer=layer, norm=first.norm, title=stream.title)
left.colorbar(first, ax=left.axes, extend="both", shrink=0.7)

ax = right.subplots()
norms = np.linalg.norm(values.reshape(len(values), -1), axis=1)
ax.plot(range(len(values)), norms, "o-")
ax.set(xlabel="layer", ylabel="‖x‖", title="norm of the stream")
right.suptitle("a line plot beside it")
