"""`token_sheet`: every token at every layer, one scale."""

import numpy as np
import pytest

from mpl_residual import ResidualStreamArtist, load_sample, token_sheet


def _panels(fig):
    return [
        ax for ax in fig.axes if any(isinstance(c, ResidualStreamArtist) for c in ax.collections)
    ]


def test_one_row_per_token_one_column_per_layer():
    every = load_sample(position=None)  # 7 layers x 13 tokens
    fig = token_sheet(every)
    panels = _panels(fig)
    assert len(panels) == 13 * 7
    artists = [ax.collections[0] for ax in panels]
    assert len({id(a.norm) for a in artists}) == 1  # one scale
    assert [a.layer for a in artists[:7]] == list(range(7))
    np.testing.assert_array_equal(artists[7 + 3].get_array(), every.values[3, 1])
    assert [ax.get_title() for ax in panels[:7]] == list(every.layer_names)
    assert [ax.texts[0].get_text() for ax in panels[::7]] == [repr(t) for t in every.tokens]
    # a row's panels share one copy of that token's stream
    assert len({id(a.stream.base) for a in artists[:7]}) == 1
    (bar,) = {a.colorbar for a in artists if a.colorbar is not None}
    assert bar is not None


def test_choosing_tokens_and_layers():
    every = load_sample(position=None)
    fig = token_sheet(every, positions=slice(1, -1), layers=[0, 6])
    panels = _panels(fig)
    assert len(panels) == 11 * 2
    assert panels[0].texts[0].get_text() == "'the'" and panels[1].get_title() == "block 5"


def test_sized_for_a_page():
    # 12 tokens x 13 layers of a 768-wide model: no wider than a page, panels readable.
    stream = np.random.default_rng(0).standard_normal((13, 12, 24, 32))
    fig = token_sheet(stream)
    width, height = fig.get_size_inches()
    assert width <= 7.5 and height <= 10
    fig.canvas.draw()
    panel = _panels(fig)[0].get_window_extent()
    assert panel.width / fig.dpi > 0.35  # inches: each grid still shows its cells
    assert _panels(fig)[0].texts[0].get_text() == "position 0"
    label = _panels(fig)[-13].texts[0].get_window_extent()
    assert label.x0 >= 0  # the row labels fit in the figure


@pytest.mark.parametrize(
    ("stream", "kwargs", "err", "match"),
    [
        (load_sample(), {}, ValueError, r"capture with position=None \(or --all-positions\)"),
        (np.zeros((2, 3, 4, 4)), {"positions": [5]}, IndexError, "position=5 is out of range"),
        (np.zeros((2, 3, 4, 4)), {"title": "x"}, TypeError, "draws every panel itself"),
    ],
)
def test_bad_arguments(stream, kwargs, err, match):
    with pytest.raises(err, match=match):
        token_sheet(stream, **kwargs)


@pytest.mark.mpl_image_compare(style="default", remove_text=True)
def test_image_token_sheet():
    fig = token_sheet(load_sample(position=None), positions=slice(1, 6), layers=[0, 3, 6])
    for ax in fig.axes:  # keep text out (pytest-mpl's remove_text leaves Axes texts)
        for text in ax.texts:
            text.set_visible(False)
    return fig


def test_normalized_per_layer_and_token():
    from mpl_residual import normalize

    every = load_sample(position=None)
    fig = token_sheet(every, normalize="ln", layers=[2])
    artist = _panels(fig)[4].collections[0]
    np.testing.assert_allclose(artist.get_array(), normalize(every, "ln").values[2, 4], atol=1e-6)
    bar = _panels(fig)[0].collections[0].colorbar  # one colorbar, on the first panel
    assert bar.ax.get_ylabel() == "σ of the layer (LayerNorm)"
