"""`compare`: two streams on one scale and their difference, animated together."""

import numpy as np
import pytest

from mpl_residual import ResidualStream, animate, compare, save_animation


@pytest.fixture
def pair(gpt2_like):
    rng = np.random.default_rng(1)
    return gpt2_like, gpt2_like + rng.standard_normal(gpt2_like.shape).astype(np.float32)


def test_one_scale_for_both_and_the_difference_on_its_own(pair):
    a, b = pair
    art_a, art_b, art_d = compare(a, b, labels=("clean", "patched"), layer=5)
    assert art_a.norm is art_b.norm  # equal colours mean equal values
    both = np.abs(np.concatenate([a.ravel(), b.ravel()]))
    assert art_a.norm.vmax == pytest.approx(np.percentile(both, 98), rel=1e-5)
    np.testing.assert_allclose(art_d.stream.data, a - b, atol=1e-6)
    assert art_d.norm.vmin == -art_d.norm.vmax  # centred on zero
    assert art_d.norm is not art_a.norm and art_d.get_cmap().name.startswith("RdBu_r")
    assert [art.layer for art in (art_a, art_b, art_d)] == [5, 5, 5]
    titles = [art.axes.get_title() for art in (art_a, art_b, art_d)]
    assert titles == ["clean · layer 5", "patched · layer 5", "clean − patched · layer 5"]


def test_animated_together(pair, tmp_path):
    import player_pages

    artists = compare(*pair, labels=("a", "b"))
    anim = animate(artists)
    assert anim.artists == tuple(artists)
    anim._show(7)
    assert [a.layer for a in artists] == [7, 7, 7]
    assert artists[2].axes.get_title() == "a − b · layer 7"
    path = save_animation(animate(compare(*pair)), tmp_path / "diff.html", progress=False)
    data = player_pages.payload(path.read_text())
    assert len(data["grids"]) == 3 and data["frames"] == 13
    gif = save_animation(animate(compare(*pair)), tmp_path / "diff.gif", progress=False)
    assert gif.stat().st_size > 0


def test_wide_grids_stack_square_ones_sit_side_by_side(pair):
    a, b = pair
    tall = compare(a, b)  # 24 x 32
    boxes = [art.axes.get_position() for art in tall]
    assert max(b.y0 for b in boxes) < min(b.y1 for b in boxes)  # one row
    wide = compare(a.reshape(13, 16, 48), b.reshape(13, 16, 48), diff=False)
    assert len(wide) == 2
    assert wide[0].axes.get_position().y0 > wide[1].axes.get_position().y0  # stacked


def test_labels_are_text_not_mathtext(pair):
    art = compare(*pair, labels=("$x^2$", "$$"))[2]
    title = art.axes.title
    assert not title._preprocess_math(title.get_text())[1]


@pytest.mark.parametrize(
    ("b", "kwargs", "err", "match"),
    [
        (np.zeros((13, 16, 48)), {}, ValueError, "a and b must have the same shape"),
        (None, {"labels": ("one",)}, TypeError, "labels must be two strings"),
        (None, {"title": "x"}, TypeError, "makes its own Axes, titles and colorbars"),
    ],
)
def test_bad_arguments(pair, b, kwargs, err, match):
    with pytest.raises(err, match=match):
        compare(pair[0], pair[1] if b is None else b, **kwargs)


def test_streams_keep_their_names(pair):
    a = ResidualStream(pair[0], tokens=("x",), position=0, d_model=768)
    artists = compare(a, pair[1])
    assert artists[0].d_model == 768


@pytest.mark.mpl_image_compare(style="default", remove_text=True)
def test_image_compare(pair):
    return compare(*pair, layer=4)[0].get_figure(root=True)
