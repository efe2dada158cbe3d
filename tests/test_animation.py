import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from matplotlib.testing.decorators import check_figures_equal

from mpl_residual import ResidualStream, ResidualStreamArtist, animate, residual_grid
from mpl_residual._layers import frame_layers


def _run(anim, frame):
    """Draw one frame as FuncAnimation does (public API only)."""
    return anim._func(frame)


def _artist(fig):
    (artist,) = [c for c in fig.axes[0].collections if isinstance(c, ResidualStreamArtist)]
    return artist


def test_returns_a_funcanimation_over_every_layer(stream):
    anim = animate(stream, interval=120)
    assert isinstance(anim, FuncAnimation)
    assert list(anim.new_frame_seq()) == [0, 1, 2, 3, 4]
    assert anim.event_source.interval == 120
    anim.pause()


def test_one_artist_set_layer_per_frame_and_one_scale(stream):
    fig = Figure()
    anim = animate(stream, fig=fig)
    artist = _artist(fig)
    limits = (artist.norm.vmin, artist.norm.vmax)
    n_artists = len(fig.axes[0].get_children())
    for layer in anim.new_frame_seq():
        returned = _run(anim, layer)
        assert returned[0] is artist and artist.layer == layer
        assert (artist.norm.vmin, artist.norm.vmax) == limits
        np.testing.assert_array_equal(artist.get_array(), stream[layer])
        assert fig.axes[0].get_title() == f"layer {layer}"
    # Nothing was created on the way: frames only swap data.
    assert len(fig.axes[0].get_children()) == n_artists


@check_figures_equal(extensions=["png"])
def test_frame_k_is_layer_k_drawn_alone(fig_test, fig_ref, stream):
    anim = animate(stream, fig=fig_test, colorbar=True)
    _run(anim, 3)
    residual_grid(stream, ax=fig_ref.add_subplot(), layer=3, colorbar=True, title="layer 3")


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        (None, list(range(13))),
        (slice(None, None, 4), [0, 4, 8, 12]),
        (slice(None, None, 5), [0, 5, 10, 12]),
        (range(0, 13, 6), [0, 6, 12]),
        (slice(2, 6), [2, 3, 4, 5]),
        (slice(0, 6, 4), [0, 4]),
        ([0, -1, 6], [0, 12, 6]),
    ],
)
def test_layer_subsets_keep_the_last_layer_when_stepping(layers, expected):
    assert frame_layers(13, layers) == expected


@pytest.mark.parametrize(
    ("layers", "err", "match"),
    [
        (3, TypeError, "layers must be None, a slice, a range or a sequence"),
        ([0, 13], IndexError, "valid: -13 to 12"),
        (slice(20, None), ValueError, "selects no layer"),
    ],
)
def test_bad_layer_subsets(layers, err, match):
    with pytest.raises(err, match=match):
        frame_layers(13, layers)


def test_title_names_the_token_when_known(stream):
    labelled = ResidualStream(stream, tokens=("The", " capital"), position=1)
    fig = Figure()
    anim = animate(labelled, fig=fig, layers=[1, 4])
    assert fig.axes[0].get_title() == "layer 1 · ' capital'"
    _run(anim, 4)
    assert fig.axes[0].get_title() == "layer 4 · ' capital'"
    anim = animate(stream, fig=Figure(), title="fixed")
    _run(anim, 2)
    assert anim._fig.axes[0].get_title() == "fixed"


def test_blitting_updates_the_label_inside_the_axes(stream):
    fig, ax = plt.subplots()
    anim = animate(stream, ax=ax, blit=True)
    artist = _artist(fig)
    label = artist.title
    assert label is not ax.title and label.axes is ax
    assert label.get_transform() == ax.transAxes  # inside the Axes, where blits happen
    fig.canvas.draw()
    background = fig.canvas.copy_from_bbox(ax.bbox)
    for layer in (1, 4):
        returned = _run(anim, layer)
        assert label in returned and artist in returned
        fig.canvas.restore_region(background)
        for a in returned:
            ax.draw_artist(a)
        assert label.get_text() == f"layer {layer}"
    anim.pause()


def test_axes_and_figure_arguments(stream):
    fig = Figure()
    sub = fig.subfigures(1, 2)[1]
    ax = sub.add_subplot()
    anim = animate(stream, ax=ax)
    assert anim._fig is fig
    with pytest.raises(ValueError, match="ax does not belong to fig"):
        animate(stream, ax=ax, fig=Figure())
    with pytest.raises(TypeError, match="pick some with layers="):
        animate(stream, fig=Figure(), layer=2)


def test_default_figure_fits_the_grid(stream):
    anim = animate(np.zeros((3, 16, 48)))
    width, height = anim._fig.get_size_inches()
    assert height < width / 2  # a wide grid gets a wide figure
    assert anim._fig.get_layout_engine() is not None
    anim.pause()


def test_origin_reaches_the_animated_grid(stream):
    anim = animate(stream, origin="lower")
    assert not anim.artist.axes.yaxis_inverted()
    assert animate(stream).artist.axes.yaxis_inverted()


def test_grids_already_drawn_change_layer_together(stream):
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2)
    a = residual_grid(stream, ax=left, title="layer {}".format)
    b = residual_grid(stream * 2, ax=right)
    for source in (a, [a, b], fig):
        anim = animate(source, layers=[1, 3])
        assert set(anim.artists) <= {a, b} and anim.layers == (1, 3)
        anim._show(3)
        assert a.layer == 3 and left.get_title() == "layer 3"
    assert animate(fig).artists == (a, b)
    assert a.title in animate(a).followers


@pytest.mark.parametrize(
    ("make", "kwargs", "err", "match"),
    [
        (lambda s, f: f(s), {"cmap": "viridis"}, TypeError, r"options \['cmap'\] are for drawing"),
        (lambda s, f: f(s), {"layer": 1}, TypeError, "pick some with layers=, not layer="),
    ],
)
def test_animating_drawn_grids_refuses_what_cannot_work(stream, make, kwargs, err, match):
    import matplotlib.pyplot as plt

    def drawn(data):
        return residual_grid(data, ax=plt.figure().add_subplot())

    with pytest.raises(err, match=match):
        animate(make(stream, drawn), **kwargs)


def test_grids_of_different_lengths_are_not_animated_together(stream):
    fig, (left, right) = plt.subplots(1, 2)
    a, b = residual_grid(stream, ax=left), residual_grid(stream[:3], ax=right)
    with pytest.raises(ValueError, match=r"streams of different lengths \[3, 5\]"):
        animate([a, b])


def test_grids_on_two_figures_or_none():
    import matplotlib.pyplot as plt

    from mpl_residual import ResidualStreamArtist

    one = residual_grid(np.zeros((2, 2, 2)), ax=plt.figure().add_subplot())
    two = residual_grid(np.zeros((2, 2, 2)), ax=plt.figure().add_subplot())
    with pytest.raises(ValueError, match="must be on one figure"):
        animate([one, two])
    with pytest.raises(ValueError, match="must be on a figure"):
        animate(ResidualStreamArtist(np.zeros((2, 2, 2))))
    with pytest.raises(ValueError, match="holds no ResidualStreamArtist"):
        animate(plt.figure())
