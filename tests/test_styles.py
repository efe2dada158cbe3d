import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

from mpl_residual import STYLES, residual_grid, style_context, to_grid


@pytest.mark.parametrize("name", STYLES)
def test_styles_load_by_dotted_name(name):
    with plt.style.context(f"mpl_residual.{name}"):
        assert mpl.rcParams["savefig.bbox"] is None  # never "tight": breaks Animation.save


def test_blog_dark_is_the_seed_look():
    with style_context("blog_dark"):
        assert mpl.colors.same_color(mpl.rcParams["figure.facecolor"], "black")
        assert mpl.colors.same_color(mpl.rcParams["axes.facecolor"], "black")
        assert mpl.rcParams["image.cmap"] == "viridis"
        assert not mpl.rcParams["axes.spines.left"] and not mpl.rcParams["xtick.bottom"]
    with style_context("mpl_residual.blog_light"):
        assert mpl.colors.same_color(mpl.rcParams["axes.facecolor"], "white")


def test_paper_is_for_print():
    with style_context("paper"):
        assert mpl.rcParams["savefig.dpi"] == 300
        assert mpl.rcParams["font.family"] == ["serif"]
        assert mpl.rcParams["figure.figsize"][0] == 3.5
        assert mpl.rcParams["image.cmap"] == "RdBu_r"  # diverging, colour-blind safe
        assert mpl.rcParams["pdf.fonttype"] == 42 and mpl.rcParams["svg.fonttype"] == "none"


def test_style_context_restores_and_decorates():
    before = mpl.rcParams["axes.facecolor"]

    @style_context("blog_dark")
    def inside():
        return mpl.rcParams["axes.facecolor"]

    assert mpl.colors.same_color(inside(), "black")
    assert mpl.rcParams["axes.facecolor"] == before


def test_unknown_style():
    with pytest.raises(
        ValueError,
        match="unknown mpl_residual style 'neon'; expected one of "
        "'blog_dark', 'blog_light', 'paper'",
    ):
        with style_context("neon"):
            pass


def _styled_figure():
    # Drawn inside each preset; text is left out (fonts are not the point here).
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 384)).cumsum(axis=0)
    x[:, 100] = [5, 20, 80]
    fig, ax = plt.subplots()
    residual_grid(to_grid(x), ax=ax, layer=-1, colorbar=True, title="layer 2")
    return fig


@pytest.mark.mpl_image_compare(style="mpl_residual.blog_dark", remove_text=True)
def test_image_blog_dark():
    return _styled_figure()


@pytest.mark.mpl_image_compare(style="mpl_residual.blog_light", remove_text=True)
def test_image_blog_light():
    return _styled_figure()


@pytest.mark.mpl_image_compare(style="mpl_residual.paper", remove_text=True)
def test_image_paper():
    return _styled_figure()


@pytest.mark.parametrize("bad", [None, 3, "dark", ""])
def test_style_context_names_the_styles(bad):
    with pytest.raises(ValueError, match="expected one of 'blog_dark', 'blog_light', 'paper'"):
        with style_context(bad):
            pass


def test_paper_draws_a_full_frame():
    with style_context("paper"):
        ax = plt.figure().add_subplot()
        residual_grid(np.zeros((4, 6)), ax=ax)
        assert all(spine.get_visible() for spine in ax.spines.values())


def _rc_after(*names):
    """rcParams after matplotlib's defaults, then each preset in turn."""
    with mpl.rc_context():
        mpl.rcdefaults()
        for name in names:
            plt.style.use(f"mpl_residual.{name}")
        return {key: value for key, value in mpl.rcParams.items() if "backend" not in key}


def _drawn_after(*names):
    with mpl.rc_context():
        mpl.rcdefaults()
        for name in names:
            plt.style.use(f"mpl_residual.{name}")
        fig = plt.figure(figsize=(3, 2), dpi=50)
        residual_grid(np.arange(24.0).reshape(4, 6), ax=fig.add_subplot(), colorbar=True)
        fig.canvas.draw()
        pixels = np.asarray(fig.canvas.buffer_rgba()).copy()
        plt.close(fig)
        return pixels


@pytest.mark.parametrize("first", STYLES)
@pytest.mark.parametrize("then", STYLES)
def test_a_preset_after_any_other_is_the_preset_alone(first, then):
    alone, after = _rc_after(then), _rc_after(first, then)
    leaked = {key: after[key] for key in alone if after[key] != alone[key]}
    assert not leaked, f"{first} then {then} keeps {leaked}"
    np.testing.assert_array_equal(_drawn_after(first, then), _drawn_after(then))


@pytest.mark.parametrize("name", STYLES)
def test_style_context_sets_what_the_dotted_name_sets(name):
    # style_context keeps each preset's settings once read; they are the file's own.
    with plt.style.context(f"mpl_residual.{name}"):
        by_name = {k: str(v) for k, v in mpl.rcParams.items()}
    for _ in range(2):  # read, then kept
        with style_context(name):
            assert {k: str(v) for k, v in mpl.rcParams.items()} == by_name
