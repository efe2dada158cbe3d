import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import CenteredNorm, LogNorm, Normalize
from matplotlib.testing.decorators import check_figures_equal
from matplotlib.ticker import MaxNLocator

from mpl_residual import residual_grid, robust_limits, style_context, to_grid
from mpl_residual._colors import beyond
from mpl_residual.heatmap import BAD_COLOR, N_COLORS


def _real_looking_stream(layers=13, d_model=768, seed=0):
    """Residual-stream-like data: grows with depth, a few massive dimensions."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((layers, d_model)).cumsum(axis=0) * 0.3
    x[:, [37, 138, 447]] += np.linspace(0, 1, layers)[:, None] * [60, -45, 190]
    return to_grid(x, 16)


# -- the picture ---------------------------------------------------------------------


def _integer_ticks(ax):
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator("auto", integer=True, steps=[1, 2, 5, 10]))


@check_figures_equal(extensions=["png"])
def test_same_picture_as_a_hand_built_pcolormesh(fig_test, fig_ref):
    stream = _real_looking_stream()
    vmin, vmax = robust_limits(stream)
    ax = fig_test.subplots()
    residual_grid(stream, ax=ax, layer=5, cmap="viridis", edgecolor="k", linewidth=0.5)

    ref = fig_ref.subplots()
    cmap = mpl.colormaps["viridis"].resampled(N_COLORS)
    ref.pcolormesh(
        np.arange(49) - 0.5,
        np.arange(17) - 0.5,
        stream[5],
        cmap=cmap.with_extremes(
            over=beyond(cmap, 1.0, (1, 1, 1, 1)),  # on white
            under=beyond(cmap, 0.0, (1, 1, 1, 1)),
            bad=BAD_COLOR,
        ),
        vmin=vmin,
        vmax=vmax,
        edgecolors="k",
        linewidth=0.5,
        antialiased=True,
    )
    _integer_ticks(ref)
    ref.set_aspect("equal")
    ref.invert_yaxis()


@check_figures_equal(extensions=["png"])
def test_colormap_object_is_used_as_given(fig_test, fig_ref):
    stream = _real_looking_stream(layers=2)
    cmap = mpl.colormaps["magma"]
    residual_grid(stream, ax=fig_test.subplots(), cmap=cmap, vmin=-3, vmax=3, edgecolor="none")
    ref = fig_ref.subplots()
    ref.pcolormesh(np.arange(49) - 0.5, np.arange(17) - 0.5, stream[0], cmap=cmap, vmin=-3, vmax=3)
    _integer_ticks(ref)
    ref.set_aspect("equal")
    ref.invert_yaxis()


def test_dimension_zero_is_top_left_and_reads_like_text():
    ax = plt.figure().add_subplot()
    artist = residual_grid(np.arange(12.0), rows=3, ax=ax)
    assert ax.get_ylim() == (2.5, -0.5)  # row 0 at the top
    assert ax.get_xlim() == (-0.5, 3.5)
    coords = artist.get_coordinates()
    # cell (0, 0) spans x in [-0.5, 0.5] and y in [-0.5, 0.5]: top-left on screen
    np.testing.assert_array_equal(coords[0, 0], [-0.5, -0.5])
    np.testing.assert_array_equal(artist.get_array()[0], [0, 1, 2, 3])
    np.testing.assert_array_equal(artist.get_array()[1], [4, 5, 6, 7])


def test_square_cells_and_no_margins(stream):
    ax = plt.figure().add_subplot()
    residual_grid(stream, ax=ax)
    assert ax.get_aspect() == 1.0
    assert ax.get_xlim() == (-0.5, 7.5)  # sticky edges: no margin padding
    with mpl.rc_context({"image.aspect": "auto"}):
        ax2 = plt.figure().add_subplot()
        residual_grid(stream, ax=ax2)
        assert ax2.get_aspect() == "auto"


def test_draws_on_the_current_axes_by_default(stream):
    fig, (a, b) = plt.subplots(1, 2)
    plt.sca(a)
    artist = residual_grid(stream)
    assert artist.axes is a


def test_one_vector_is_folded_with_rows(gpt2_vector):
    artist = residual_grid(gpt2_vector, rows=16)
    assert artist.n_layers == 1 and artist.get_array().shape == (16, 48)
    assert residual_grid(gpt2_vector).get_array().shape == (24, 32)


def test_torch_stream():
    torch = pytest.importorskip("torch")
    t = torch.randn(3, 384, dtype=torch.bfloat16, requires_grad=True)
    artist = residual_grid(to_grid(t))
    assert artist.n_layers == 3


# -- colour scaling ---------------------------------------------------------------------


def test_default_limits_are_robust_symmetric_and_shared(gpt2_vector):
    artist = residual_grid(gpt2_vector, rows=16)
    vmin, vmax = artist.norm.vmin, artist.norm.vmax
    assert vmin == -vmax and 1 < vmax < 10
    clipped = np.abs(gpt2_vector) > vmax
    assert clipped.mean() < 0.05
    assert artist.colorbar is None


def test_robust_false_uses_the_full_range(gpt2_vector):
    artist = residual_grid(gpt2_vector, robust=False)
    assert artist.norm.vmax == pytest.approx(187.08, rel=1e-4)


def test_explicit_limits_win(stream):
    artist = residual_grid(stream, vmin=-3, vmax=3, robust=False)
    assert (artist.norm.vmin, artist.norm.vmax) == (-3, 3)
    artist = residual_grid(stream, vmax=2.0)
    assert artist.norm.vmax == 2.0 and artist.norm.vmin == robust_limits(stream)[0]
    norm = LogNorm(1e-2, 10)
    assert residual_grid(stream, norm=norm).norm is norm


def test_norm_without_limits_is_scaled_on_the_whole_stream(stream):
    artist = residual_grid(stream, norm=CenteredNorm(), layer=0)
    m = np.abs(stream).max()
    assert (artist.norm.vmin, artist.norm.vmax) == pytest.approx((-m, m))
    artist = residual_grid(stream, norm="linear", layer=0)
    assert (artist.norm.vmin, artist.norm.vmax) == pytest.approx((stream.min(), stream.max()))


def test_norm_and_limits_together_is_an_error(stream):
    with pytest.raises(ValueError, match="pass either norm or vmin/vmax, not both"):
        residual_grid(stream, norm=Normalize(), vmin=0)


def test_vmin_above_vmax(stream):
    with pytest.raises(ValueError, match="vmin must not exceed vmax; got vmin=2, vmax=1"):
        residual_grid(stream, vmin=2, vmax=1)


@pytest.mark.parametrize(
    "data", [np.full((2, 3, 4), 7.0), np.zeros((2, 3, 4)), np.full((2, 3, 4), np.nan)]
)
def test_constant_and_all_nan_streams_render(data):
    fig, ax = plt.subplots()
    artist = residual_grid(data, ax=ax, colorbar=True)
    fig.canvas.draw()
    assert np.isfinite([artist.norm.vmin, artist.norm.vmax]).all()
    assert artist.norm.vmin < artist.norm.vmax


# -- decorations -----------------------------------------------------------------------


def test_colorbar_marks_clipping_with_extend_arrows(stream):
    fig, ax = plt.subplots()
    artist = residual_grid(stream, ax=ax, colorbar=True)
    assert artist.colorbar is not None and artist.colorbar.mappable is artist
    assert artist.colorbar.extend == "both"
    artist = residual_grid(stream, ax=ax, robust=False, colorbar=True)
    assert artist.colorbar.extend == "neither"
    artist = residual_grid(
        np.abs(stream), ax=ax, colorbar={"label": "activation", "extend": "neither"}
    )
    assert artist.colorbar.extend == "neither"
    assert artist.colorbar.ax.get_ylabel() == "activation"


def test_title_string_or_callable(stream):
    fig, ax = plt.subplots()
    residual_grid(stream, ax=ax, title="Paris")
    assert ax.get_title() == "Paris"
    artist = residual_grid(stream, ax=ax, layer=-1, title=lambda i: f"layer {i}")
    assert ax.get_title() == "layer 4" and artist.title is ax.title
    artist.set_layer(2)
    assert ax.get_title() == "layer 2"


def test_edges_default_to_the_axes_background(stream):
    with mpl.rc_context({"axes.facecolor": "black"}):
        fig, ax = plt.subplots()
        artist = residual_grid(stream, ax=ax)
    np.testing.assert_array_equal(artist.get_edgecolor(), [[0, 0, 0, 1]])
    fig.canvas.draw()
    assert 0 < artist.get_linewidth()[0] <= 0.6
    assert artist.get_antialiased()[0]  # smooth gaps
    artist = residual_grid(stream, ax=ax, edgecolor="red", linewidth=2)
    np.testing.assert_array_equal(artist.get_edgecolor(), [[1, 0, 0, 1]])
    assert artist.get_linewidth()[0] == 2
    artist = residual_grid(stream, ax=ax, edgecolors="blue", linewidths=1)
    np.testing.assert_array_equal(artist.get_edgecolor(), [[0, 0, 1, 1]])
    ax.set_facecolor("none")
    assert residual_grid(stream, ax=ax).get_edgecolor().size == 0


def _drawn_linewidth(shape, figsize=(6.4, 4.8), dpi=100):
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    artist = residual_grid(np.zeros(shape), ax=ax)
    fig.canvas.draw()
    return artist


def test_auto_lines_follow_the_cell_size():
    assert _drawn_linewidth((1, 4, 4)).get_linewidth()[0] == 0.6
    medium = _drawn_linewidth((1, 16, 48)).get_linewidth()[0]
    assert 0.2 < medium < 0.6
    # Tiny cells: no lines at all (they would drown the cells), and no seams either.
    tiny = _drawn_linewidth((1, 128, 128))
    assert tiny.get_linewidth()[0] == 0 and not tiny.get_antialiased()[0]
    # The same width on screen and in a 300 dpi export: it is set in points.
    hi = _drawn_linewidth((1, 16, 48), dpi=300).get_linewidth()[0]
    assert hi == pytest.approx(medium)


def test_auto_lines_follow_the_layout():
    fig, ax = plt.subplots(figsize=(8, 4))
    artist = residual_grid(np.zeros((1, 16, 48)), ax=ax)
    fig.canvas.draw()
    wide = artist.get_linewidth()[0]
    fig.set_size_inches(4, 2)
    fig.canvas.draw()
    assert artist.get_linewidth()[0] < wide
    artist.set_linewidth(0.1)  # an explicit width switches "auto" off
    fig.set_size_inches(8, 4)
    fig.canvas.draw()
    assert artist.get_linewidth()[0] == 0.1


def test_explicit_antialiasing_is_kept():
    fig, ax = plt.subplots()
    artist = residual_grid(np.zeros((1, 4, 4)), ax=ax, antialiased=False)
    fig.canvas.draw()
    assert not artist.get_antialiased()[0]


def test_kwargs_reach_the_quadmesh(stream):
    artist = residual_grid(stream, rasterized=True, alpha=0.5, zorder=3)
    assert artist.get_rasterized() and artist.get_alpha() == 0.5 and artist.get_zorder() == 3


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"layer": 5}, IndexError, "valid: -5 to 4"),
        ({"layer": 1.5}, TypeError, "layer must be an integer"),
        ({"rows": 7}, ValueError, "already folded into 6 rows"),
    ],
)
def test_bad_arguments(stream, kwargs, err, match):
    fig, ax = plt.subplots()
    with pytest.raises(err, match=match):
        residual_grid(stream, ax=ax, **kwargs)
    assert not ax.collections  # nothing half-drawn


@pytest.mark.parametrize(
    ("data", "err", "match"),
    [
        (np.float64(1.0), ValueError, r"expected|shape \(layers, rows, cols\)"),
        (np.zeros((1, 2, 3, 4)), ValueError, r"got ndarray of shape \(1, 2, 3, 4\)"),
        (np.zeros((0, 3)), ValueError, "must not be empty"),
        (np.zeros((2, 3), complex), TypeError, "real-valued"),
        ([["a", "b"]], TypeError, "must hold numbers"),
        ([[1.0, 2.0], [3.0]], ValueError, "ragged"),
        ({"a": 1}, TypeError, "must hold numbers"),
    ],
)
def test_bad_streams(data, err, match):
    with pytest.raises(err, match=match):
        residual_grid(data)


# -- composition ---------------------------------------------------------------------


def test_composes_with_layouts_and_a_shared_colorbar():
    stream = _real_looking_stream()
    fig = plt.figure(layout="constrained", figsize=(8, 6))
    top, bottom = fig.subfigures(2, 1)
    mosaic = top.subplot_mosaic("AB", per_subplot_kw={"A": {"projection": "residual"}})
    a = mosaic["A"].residual_grid(stream, layer=0)
    b = residual_grid(stream, ax=mosaic["B"], layer=-1, norm=a.norm)
    gs = bottom.add_gridspec(1, 3)
    c = residual_grid(stream, ax=bottom.add_subplot(gs[0, :2]), layer=6, norm=a.norm)
    cbar = fig.colorbar(a, ax=[mosaic["A"], mosaic["B"]], extend="both")
    fig.canvas.draw()
    assert a.norm is b.norm is c.norm
    assert cbar.mappable is a
    b.set_layer(3)
    fig.canvas.draw()


# -- image tests (pytest-mpl; baselines in baseline_images/) ----------------------------


@pytest.mark.mpl_image_compare(style="default", remove_text=True)
def test_image_default_look():
    stream = _real_looking_stream()
    stream[-1, 0, :3] = [np.nan, np.inf, -np.inf]  # bad cells: grey, scale unharmed
    fig, ax = plt.subplots(figsize=(6, 2.6))
    residual_grid(stream, ax=ax, layer=-1, colorbar=True)
    return fig


@pytest.mark.mpl_image_compare(style="default", remove_text=True)
def test_image_robust_vs_full_range(gpt2_vector):
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5, 3.6), layout="constrained")
    residual_grid(gpt2_vector, rows=16, ax=top, colorbar=True)
    residual_grid(gpt2_vector, rows=16, ax=bottom, robust=False, colorbar=True)
    return fig


@pytest.mark.mpl_image_compare(style="default", remove_text=True)
def test_image_composition():
    stream = _real_looking_stream()
    fig = plt.figure(layout="constrained", figsize=(6, 4))
    top, bottom = fig.subfigures(2, 1)
    axd = top.subplot_mosaic("AB", per_subplot_kw={"A": {"projection": "residual"}})
    a = axd["A"].residual_grid(stream, layer=0, cmap="RdBu_r")
    residual_grid(stream, ax=axd["B"], layer=-1, norm=a.norm, cmap="RdBu_r")
    top.colorbar(a, ax=list(axd.values()), extend="both")
    axs = bottom.subplots(1, 3)
    for ax, layer in zip(axs, (2, 6, 10), strict=True):
        residual_grid(stream, ax=ax, layer=layer, vmin=-8, vmax=8)
    return fig


# -- numbers at the edges --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"vmin": np.nan}, ValueError, "vmin must be a finite number; got vmin=nan"),
        ({"vmax": np.inf}, ValueError, "vmax must be a finite number; got vmax=inf"),
        ({"vmin": "a"}, TypeError, "vmin must be a number; got str 'a'"),
        ({"vmax": [1]}, TypeError, r"vmax must be a number; got list \[1\]"),
        ({"origin": "top"}, ValueError, "origin must be 'upper' or 'lower'; got origin='top'"),
        ({"colorbar": "yes"}, TypeError, "colorbar must be True, False or a dict"),
    ],
)
def test_bad_limits_origin_and_colorbar(stream, kwargs, err, match):
    with pytest.raises(err, match=match):
        residual_grid(stream, ax=plt.figure().add_subplot(), **kwargs)


@pytest.mark.parametrize(
    ("big", "dtype"), [(1e308, np.float64), (3e38, np.float32), (1.7e38, np.float32)]
)
def test_values_beyond_float32_are_coloured_by_their_value(big, dtype):
    # A ramp from -big to big: every cell its own colour, in order, none saturated.
    ramp = (np.linspace(-1, 1, 48).reshape(1, 6, 8) * big).astype(dtype)
    ax = plt.figure().add_subplot()
    artist = residual_grid(ramp, ax=ax, robust=False)
    scaled = np.asarray(artist.norm(artist.get_array())).ravel()
    np.testing.assert_allclose(scaled, np.linspace(0, 1, 48), atol=1e-6)
    ax.figure.canvas.draw()
    faces = artist.get_facecolors()
    assert len({tuple(c) for c in np.round(faces, 3)}) > 40  # not one colour


def test_the_colorbar_says_clearly_where_matplotlib_cannot_follow():
    ramp = np.linspace(-1, 1, 48).reshape(1, 6, 8) * 1e308
    ax = plt.figure().add_subplot()
    with pytest.raises(ValueError, match=r"cannot draw a colorbar for colour limits \(-1e\+308"):
        residual_grid(ramp, ax=ax, robust=False, colorbar=True)
    ax = plt.figure().add_subplot()
    artist = residual_grid(ramp * 1e-3, ax=ax, robust=False, colorbar=True)
    ax.figure.canvas.draw()
    assert artist.colorbar is not None


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int64, bool])
def test_masked_cells_of_any_dtype_stay_masked(dtype):
    data = np.ma.masked_array(np.ones((2, 3, 4), dtype=dtype), mask=False)
    data[1, 2, 3] = np.ma.masked
    data[0, 0, 0] = np.ma.masked
    ax = plt.figure().add_subplot()
    artist = residual_grid(data, ax=ax, layer=1, cmap="viridis")
    assert np.ma.getmaskarray(artist.get_array())[2, 3]
    ax.figure.canvas.draw()
    bad = mpl.colors.to_rgba(BAD_COLOR)
    assert tuple(artist.get_facecolors()[2 * 4 + 3]) == pytest.approx(bad)
    artist.set_layer(0)
    assert np.ma.getmaskarray(artist.get_array())[0, 0]


# -- orientation ------------------------------------------------------------------------------


def test_origin_lower_is_the_seeds_pcolormesh_layout():
    ax = plt.figure().add_subplot()
    residual_grid(np.arange(12.0), rows=3, ax=ax, origin="lower")
    assert ax.get_ylim() == (-0.5, 2.5)  # row 0 at the bottom
    upper = plt.figure().add_subplot()
    residual_grid(np.arange(12.0), rows=3, ax=upper)
    assert upper.get_ylim() == (2.5, -0.5)


@check_figures_equal(extensions=["png"])
def test_origin_lower_draws_what_pcolormesh_draws(fig_test, fig_ref):
    grid = _real_looking_stream(layers=1)[0]
    residual_grid(
        grid,
        ax=fig_test.subplots(),
        origin="lower",
        vmin=-3,
        vmax=3,
        cmap="viridis",
        edgecolor="none",
    )
    ref = fig_ref.subplots()
    cmap = mpl.colormaps["viridis"].resampled(N_COLORS)
    ref.pcolormesh(
        np.arange(49) - 0.5,
        np.arange(17) - 0.5,
        grid,
        cmap=cmap.with_extremes(
            over=beyond(cmap, 1.0, (1, 1, 1, 1)),
            under=beyond(cmap, 0.0, (1, 1, 1, 1)),
            bad=BAD_COLOR,
        ),
        vmin=-3,
        vmax=3,
    )
    _integer_ticks(ref)
    ref.set_aspect("equal")


# -- the colorbar -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(16, 24), (16, 48), (24, 8)])
@pytest.mark.parametrize("layout", ["constrained", None])
def test_the_colorbar_is_as_tall_as_the_grid(shape, layout):
    fig = plt.figure(figsize=(6.4, 4.8), layout=layout)
    ax = fig.add_subplot()
    artist = residual_grid(np.zeros(shape), ax=ax, colorbar=True)
    fig.canvas.draw()
    grid = ax.get_window_extent()
    bar = artist.colorbar.ax.get_window_extent()
    assert bar.y0 == pytest.approx(grid.y0, abs=1) and bar.y1 == pytest.approx(grid.y1, abs=1)
    assert bar.x0 > grid.x1  # beside it, not over it
    assert fig.bbox.contains(*bar.p1)  # and inside the figure
    assert bar.height / bar.width == pytest.approx(20, rel=0.05)


def test_placement_options_go_to_matplotlib(stream):
    ax = plt.figure().add_subplot()
    artist = residual_grid(stream, ax=ax, colorbar={"location": "bottom", "label": "x"})
    assert artist.colorbar.orientation == "horizontal"
    assert artist.colorbar.ax.get_xlabel() == "x"


PRESETS = ["default", "blog_dark", "blog_light", "paper"]


def _clipped_colours(style, cmap=None):
    context = plt.style.context("default") if style == "default" else style_context(style)
    with context:
        ax = plt.figure().add_subplot()
        artist = residual_grid(
            np.linspace(-5, 5, 40), rows=4, ax=ax, cmap=cmap, vmin=-1, vmax=1, colorbar=True
        )
        background = mpl.colors.to_rgba(ax.get_facecolor())
    plt.close("all")
    return artist, background


@pytest.mark.parametrize("style", PRESETS)
def test_each_presets_clipped_colours_read_as_beyond_its_ends(style):
    from mpl_residual._colors import delta_e, nearest_on_map

    artist, background = _clipped_colours(style)
    cmap = artist.get_cmap()
    for clipped, end in ((cmap.get_under(), 0.0), (cmap.get_over(), 1.0)):
        at = nearest_on_map(cmap, clipped)
        assert abs(at - end) <= 0.02, f"{style}: {clipped} reads as {at:.0%} of the scale"
        assert delta_e(clipped, background) >= 10  # not swallowed by the background
        assert delta_e(clipped, cmap(end)) > 5  # and told from the end itself
    assert artist.colorbar.extend == "both"  # the arrows say values were clipped


@pytest.mark.parametrize("cmap", ["viridis", "magma", "RdBu_r", "cividis", "plasma", "Greys"])
@pytest.mark.parametrize("style", PRESETS)
def test_clipped_colours_never_look_inside_the_scale(style, cmap):
    from mpl_residual._colors import delta_e, nearest_on_map

    artist, background = _clipped_colours(style, cmap)
    drawn = artist.get_cmap()
    for clipped, end in ((drawn.get_under(), 0.0), (drawn.get_over(), 1.0)):
        assert abs(nearest_on_map(drawn, clipped) - end) <= 0.02
        if not np.allclose(clipped, drawn(end)):  # carried past the end: it stands out
            assert delta_e(clipped, background) >= 10


def test_the_arrows_of_a_dark_figure_are_visible():
    with style_context("blog_dark"):
        artist = residual_grid(np.linspace(-5, 5, 40), rows=4, colorbar=True, vmin=-1, vmax=1)
    from mpl_residual._colors import delta_e

    under = artist.get_cmap().get_under()
    arrows = [patch.get_facecolor() for patch in artist.colorbar._extend_patches]
    assert any(np.allclose(color, under) for color in arrows)  # the arrow is the colour
    assert delta_e(under, (0, 0, 0)) >= 10  # and it reads on black


def test_longdouble_beyond_float64_is_drawn_as_inf_and_said():
    from matplotlib.figure import Figure

    x = np.random.default_rng(0).standard_normal((2, 4, 4)).astype(np.longdouble)
    x[0, 0, 0] = np.longdouble("1e400")
    with pytest.warns(RuntimeWarning, match=r"1 value\(s\) beyond float64's range.*e\+400"):
        artist = residual_grid(x, ax=Figure().add_subplot(), colorbar=True)
    assert np.isfinite([artist.norm.vmin, artist.norm.vmax]).all()
    assert artist.stream.dtype == np.float64 and artist.stream.mask[0, 0, 0]  # shown as inf
    ordinary = artist.stream[0].compressed()
    np.testing.assert_allclose(ordinary, x[0].ravel()[1:].astype(np.float64))
    residual_grid(x[:, 1:], ax=Figure().add_subplot())  # in range: no warning
