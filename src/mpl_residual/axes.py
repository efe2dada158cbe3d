"""`ResidualAxes`: the ``"residual"`` projection, a plain Axes with one extra method."""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes

from .artist import ResidualStreamArtist
from .heatmap import residual_grid

__all__ = ["ResidualAxes"]


class ResidualAxes(Axes):
    """
    An `~matplotlib.axes.Axes` with a `residual_grid` method.

    Registered as the ``"residual"`` projection when `mpl_residual` is imported, so any
    matplotlib layout can ask for one::

        fig.add_subplot(projection="residual")
        plt.subplots(2, 2, subplot_kw={"projection": "residual"})
        fig.subplot_mosaic("AB", per_subplot_kw={"A": {"projection": "residual"}})

    It overrides nothing else: everything else behaves exactly as in a plain Axes.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> import mpl_residual
    >>> fig = plt.figure()
    >>> ax = fig.add_subplot(projection="residual")
    >>> artist = ax.residual_grid(np.random.randn(13, 16, 48), layer=-1)
    """

    name = "residual"

    def residual_grid(self, stream: Any, /, **kwargs: Any) -> ResidualStreamArtist:
        """
        Draw one layer of *stream* on this Axes; see `mpl_residual.residual_grid`.

        Takes the same keyword arguments, except ``ax``.
        """
        if "ax" in kwargs:
            raise TypeError("ResidualAxes.residual_grid() draws on its own Axes; drop ax=")
        return residual_grid(stream, ax=self, **kwargs)
