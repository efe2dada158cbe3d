"""Figures that are right when pasted: nothing drawn outside the figure, in matplotlib's
default layout (and in constrained layout), for every view, in every preset and
matplotlib's default style, at the default size and at 3.2 x 2.4 inches."""

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

import mpl_residual as mr
from figure_checks import outside

STYLES = [None, *mr.STYLES]
SIZES = {"default": None, "small": (3.2, 2.4)}


def _sample():
    stream = mr.load_sample()
    # a lens-like title: the longest a stream's title gets
    predictions = tuple(((" the", 0.31), (" a", 0.1)) for _ in range(stream.n_layers))
    return mr.ResidualStream(
        stream.values,
        tokens=stream.tokens,
        layer_names=(*stream.layer_names[:-1], "block 6 + final norm"),
        position=stream.position,
        predictions=predictions,
    )


def _figure(size):
    return plt.figure(figsize=size) if size else plt.figure()


def grid_with_everything(size):
    fig = _figure(size)
    stream = _sample()
    artist = mr.residual_grid(
        stream, ax=fig.add_subplot(), layer=-1, colorbar=True, title=stream.title,
        normalize="rms",
    )  # fmt: skip
    mr.mark_dims(artist, top=8)
    return fig


def grids_side_by_side(size):
    fig = _figure(size)
    stream = _sample()
    for i, ax in enumerate(fig.subplots(1, 2)):
        mr.residual_grid(stream, ax=ax, layer=i, colorbar=True, title=stream.title)
    return fig


def sheet(size):
    with mpl.rc_context({"figure.figsize": size} if size else {}):
        return mr.layer_sheet(_sample())


def sheet_in_a_figure(size):
    # (without the logit lens: seven panels and a profile in 3.2 x 2.4 inches leave
    # no room for titles of three lines)
    return mr.layer_sheet(mr.load_sample(), fig=_figure(size), profile="rms")


def compared(size):
    sample = mr.load_sample()
    with mpl.rc_context({"figure.figsize": size} if size else {}):
        artists = mr.compare(sample, sample.values * 1.1, labels=("clean run", "patched run"))
    return artists[0].get_figure(root=True)


def compared_in_a_figure(size):
    sample = mr.load_sample()
    artists = mr.compare(sample, sample.values[::-1], fig=_figure(size), layer=-1)
    return artists[0].get_figure(root=True)


def compared_with_long_labels(size):
    sample = mr.load_sample()
    artists = mr.compare(sample, sample.values[::-1], labels=("clean prompt", "corrupted prompt"),
                         fig=_figure(size), layer=2)  # fmt: skip
    return artists[0].get_figure(root=True)


def tokens(size):
    with mpl.rc_context({"figure.figsize": size} if size else {}):
        return mr.token_sheet(mr.load_sample(position=None), positions=slice(0, 6))


def animated(size):
    with mpl.rc_context({"figure.figsize": size} if size else {}):
        anim = mr.animate(_sample(), profile="rms", colorbar=True)
    anim.show_layer(6)
    anim.mark_rendered()
    return anim.figure


def animated_in_a_figure(size):
    anim = mr.animate(_sample(), fig=_figure(size), profile="norm", colorbar=True)
    anim.mark_rendered()
    return anim.figure


def slider(size):
    fig = _figure(size)
    stream = _sample()
    fig.slider = mr.layer_slider(stream, ax=fig.add_subplot(), title=stream.title)
    return fig


def contributions(size):
    from mpl_residual.decomposition import Decomposition

    rng = np.random.default_rng(0)
    names = ("embeddings", *(f"block {i} {h}" for i in range(6) for h in ("attn", "mlp")))
    parts = Decomposition(rng.standard_normal((13, 16, 24)).astype(np.float32), names,
                          tokens=("a", " capital"), position=1)  # fmt: skip
    fig = _figure(size)
    mr.contributions(parts, [447 % 384], ax=fig.add_subplot())
    return fig


def _component_stats():
    from mpl_residual.component_stats import ComponentMoments, ComponentStats

    rng = np.random.default_rng(0)
    names = ["embeddings"]
    for block in range(12):
        names += [f"block {block} head {h}" for h in range(12)]
        names += [f"block {block} attn bias", f"block {block} mlp"]
    mean = rng.standard_normal((len(names), 96))
    where = np.zeros(mean.shape, np.int64)
    moments = ComponentMoments(np.full(len(names), 50), mean, mean**2 * 50, np.abs(mean) * 50,
                               np.abs(mean) * 3, where, where, where, mean,
                               np.full(96, 10.0))  # fmt: skip
    return ComponentStats(moments, names, n_texts=1)


def statistics_bars(size):
    fig = _figure(size)
    mr.contributions(_component_stats(), 7, ax=fig.add_subplot())
    return fig


def statistics_heads(size):
    fig = _figure(size)
    mr.head_grid(_component_stats(), 7, ax=fig.add_subplot())
    return fig


VIEWS = [
    grid_with_everything,
    grids_side_by_side,
    sheet,
    sheet_in_a_figure,
    compared,
    compared_in_a_figure,
    compared_with_long_labels,
    tokens,
    animated,
    animated_in_a_figure,
    slider,
    contributions,
    statistics_bars,
    statistics_heads,
]


@pytest.mark.parametrize("layout", ["default", "constrained"])
@pytest.mark.parametrize("size", list(SIZES), ids=str)
@pytest.mark.parametrize("style", STYLES, ids=str)
@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_nothing_is_drawn_outside_the_figure(view, style, size, layout):
    context = mr.style_context(style) if style else mpl.rc_context()
    # the user's figures (plt.figure) in matplotlib's default layout, or constrained
    constrained = {"figure.constrained_layout.use": layout == "constrained"}
    with context, mpl.rc_context(constrained):
        fig = view(SIZES[size])
        assert outside(fig) == []
        for ax in fig.axes:  # and no title over another's
            for other in fig.axes:
                if ax is other or not (ax.get_title() and other.get_title()):
                    continue
                renderer = fig.canvas.get_renderer()
                a, b = (t.title.get_window_extent(renderer) for t in (ax, other))
                assert not a.overlaps(b), (ax.get_title(), other.get_title())
    plt.close("all")


def test_a_constrained_figure_keeps_its_settings_and_fits_titles_between_passes():
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fig = plt.figure(figsize=(3.2, 2.4), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.1, hspace=0.05)
    before = fig.get_layout_engine().get()
    stream = _sample()
    axes = fig.subplots(1, 2)
    for i, ax in enumerate(axes):
        mr.residual_grid(stream, ax=ax, layer=i, title=stream.title)
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine) and engine.get() == before
    fig.canvas.draw()
    titles = [ax.title for ax in axes]
    assert all("\n" in t.get_text() for t in titles)  # broken, and given the room for it
    assert outside(fig) == []
    plt.close(fig)
