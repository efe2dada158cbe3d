import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.testing.decorators import check_figures_equal

from mpl_residual import ResidualAxes, ResidualStreamArtist, residual_grid


def test_projection_is_registered_on_import():
    ax = Figure().add_subplot(projection="residual")
    assert type(ax) is ResidualAxes and isinstance(ax, Axes)


def test_subplots_and_mosaic(stream):
    fig, axs = plt.subplots(2, 2, subplot_kw={"projection": "residual"})
    assert all(isinstance(ax, ResidualAxes) for ax in axs.flat)
    fig = plt.figure()
    axd = fig.subplot_mosaic("AB", per_subplot_kw={"A": {"projection": "residual"}})
    assert isinstance(axd["A"], ResidualAxes) and not isinstance(axd["B"], ResidualAxes)
    artist = axd["A"].residual_grid(stream, layer=-1)
    assert isinstance(artist, ResidualStreamArtist) and artist.axes is axd["A"]


@check_figures_equal(extensions=["png"])
def test_method_delegates_to_the_function(fig_test, fig_ref, stream):
    fig_test.add_subplot(projection="residual").residual_grid(stream, layer=2, colorbar=True)
    residual_grid(stream, ax=fig_ref.add_subplot(), layer=2, colorbar=True)


def test_overrides_nothing_else():
    # "set" and "_subclass_uses_cla" are added to every Axes subclass by matplotlib itself.
    own = {k for k in vars(ResidualAxes) if not k.startswith("__")}
    assert own - {"set", "_subclass_uses_cla"} == {"name", "residual_grid"}
    assert "residual_grid" not in vars(Axes)  # matplotlib's own classes are untouched


def test_ax_argument_is_refused(stream):
    ax = Figure().add_subplot(projection="residual")
    with pytest.raises(TypeError, match="drop ax="):
        ax.residual_grid(stream, ax=ax)


def test_stream_is_positional_only():
    ax = Figure().add_subplot(projection="residual")
    with pytest.raises(TypeError):
        ax.residual_grid(stream=np.zeros((2, 2)))
