import io
import pickle
from unittest import mock

import matplotlib.path
import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from mpl_residual import ResidualStreamArtist, residual_grid, to_grid


def _placed(stream, **kwargs):
    ax = FigureCanvasAgg(Figure()).figure.add_subplot()
    return ax, residual_grid(stream, ax=ax, **kwargs)


def test_is_a_quadmesh_showing_one_layer(stream):
    ax, artist = _placed(stream, layer=2)
    assert isinstance(artist, QuadMesh)
    assert (artist.layer, artist.n_layers) == (2, 5)
    np.testing.assert_array_equal(artist.get_array(), stream[2])
    assert artist.get_array().shape == (6, 8)


def test_set_layer_swaps_data_in_place_and_marks_stale(stream):
    ax, artist = _placed(stream)
    ax.figure.canvas.draw()
    assert not artist.stale
    artist.set_layer(-1)
    assert artist.stale and artist.layer == 4
    np.testing.assert_array_equal(artist.get_array(), stream[4])
    artist.set_layer(np.int64(1))
    np.testing.assert_array_equal(artist.get_array(), stream[1])
    assert ax.collections[:] == [artist]


@pytest.mark.parametrize("layer", [5, -6, 100])
def test_set_layer_out_of_range(stream, layer):
    _, artist = _placed(stream)
    with pytest.raises(
        IndexError,
        match=rf"layer={layer} is out of range for a stream of 5 "
        r"layers; valid: -5 to 4",
    ):
        artist.set_layer(layer)
    assert artist.layer == 0


@pytest.mark.parametrize("layer", [1.0, "2", True, None])
def test_set_layer_needs_an_integer(stream, layer):
    _, artist = _placed(stream)
    with pytest.raises(TypeError, match="layer must be an integer"):
        artist.set_layer(layer)


def test_one_norm_for_all_layers(stream):
    _, artist = _placed(stream, robust=False)
    limits = (artist.norm.vmin, artist.norm.vmax)
    m = np.abs(stream).max()
    assert limits == pytest.approx((-m, m))
    colours = []
    for i in range(artist.n_layers):
        artist.set_layer(i)
        assert (artist.norm.vmin, artist.norm.vmax) == limits
        colours.append(artist.to_rgba(artist.get_array()))
    # Same value, same colour, in every layer.
    assert np.allclose(artist.to_rgba(np.ma.array([1.0])), artist.to_rgba(np.ma.array([1.0])))


def test_bare_artist_autoscales_on_the_whole_stream(stream):
    artist = ResidualStreamArtist(stream, layer=0)
    assert artist.norm.vmin == pytest.approx(stream.min())
    assert artist.norm.vmax == pytest.approx(stream.max())
    artist.set_clim(0, 1)
    artist.autoscale()
    assert (artist.norm.vmin, artist.norm.vmax) == pytest.approx((stream.min(), stream.max()))


def test_nan_and_inf_use_the_bad_colour():
    data = np.zeros((2, 2, 3))
    data[0, 0, 0], data[0, 0, 1], data[0, 0, 2] = np.nan, np.inf, -np.inf
    ax, artist = _placed(data, cmap="viridis")
    ax.figure.canvas.draw()
    faces = artist.get_facecolors()
    bad = artist.cmap.get_bad()
    np.testing.assert_allclose(faces[:3], [bad] * 3)
    assert not np.allclose(faces[3], bad)
    # NaN/inf did not break the colour scale.
    assert (artist.norm.vmin, artist.norm.vmax) == (-1.0, 1.0)


def test_clipped_cells_get_the_over_and_under_colours(stream):
    ax, artist = _placed(stream, layer=0, vmin=-1, vmax=1)
    ax.figure.canvas.draw()
    faces = artist.get_facecolors().reshape(6, 8, 4)
    layer = stream[0]
    np.testing.assert_allclose(faces[layer > 1], [artist.cmap.get_over()] * (layer > 1).sum())
    np.testing.assert_allclose(faces[layer < -1], [artist.cmap.get_under()] * (layer < -1).sum())
    # ...and those colours differ from the ends of the scale.
    assert not np.allclose(artist.cmap.get_over(), artist.cmap(1.0))
    assert not np.allclose(artist.cmap.get_under(), artist.cmap(0.0))


def test_colorbar_as_scalar_mappable(stream):
    ax, artist = _placed(stream)
    cbar = ax.figure.colorbar(artist)
    assert artist.colorbar is cbar
    ax.figure.canvas.draw()


def test_draw_artist_for_blitting(stream):
    ax, artist = _placed(stream)
    canvas = ax.figure.canvas
    canvas.draw()
    background = canvas.copy_from_bbox(ax.bbox)
    before = np.asarray(canvas.buffer_rgba()).copy()
    artist.set_layer(3)
    canvas.restore_region(background)
    ax.draw_artist(artist)
    after = np.asarray(canvas.buffer_rgba())
    assert not np.array_equal(before, after)
    assert not artist.stale


@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_savefig(stream, fmt):
    ax, _ = _placed(stream)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format=fmt)
    assert buf.tell() > 0


def test_rasterized_keeps_pdfs_small():
    big = np.random.default_rng(1).standard_normal((1, 128, 256))
    sizes = {}
    for rasterized in (False, True):
        ax, _ = _placed(big, rasterized=rasterized)
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="pdf")
        sizes[rasterized] = buf.tell()
    assert sizes[True] < sizes[False] / 3


def test_pickle_round_trip_renders(stream):
    ax, artist = _placed(stream, layer=2, colorbar=True, title="layer {}".format)
    fig = pickle.loads(pickle.dumps(ax.figure))
    (copy,) = [c for c in fig.axes[0].collections if isinstance(c, ResidualStreamArtist)]
    assert copy.layer == 2 and copy.n_layers == 5
    copy.set_layer(4)
    assert fig.axes[0].get_title() == "layer 4"
    fig.canvas.draw()


def _event_at(ax, col, row):
    x, y = ax.transData.transform((col, row))
    return MouseEvent("motion_notify_event", ax.figure.canvas, x, y)


def test_hover_reads_out_dimension_position_and_value(gpt2_vector):
    ax, artist = _placed(to_grid(gpt2_vector, 16)[None])
    ax.figure.canvas.draw()
    event = _event_at(ax, 16.2, 9.7)  # inside the cell of row 10, col 16
    assert artist.contains(event)[0]
    assert artist.get_cursor_data(event)[:3] == (496, 10, 16)
    assert artist.format_cursor_data(artist.get_cursor_data(event)) == (
        "dim 496 (row 10, col 16) = 187.1"
    )
    assert artist in ax._mouseover_set  # the toolbar asks mouseover artists only
    outside = _event_at(ax, 48.6, 3)
    assert not artist.contains(outside)[0] and artist.get_cursor_data(outside) is None


def test_hover_follows_the_layer_and_shows_raw_nonfinite_values(stream):
    stream = stream.copy()
    stream[3, 0, 0] = np.inf
    ax, artist = _placed(stream, layer=3)
    ax.figure.canvas.draw()
    assert artist.format_cursor_data(artist.get_cursor_data(_event_at(ax, 0, 0))) == (
        "dim 0 (row 0, col 0) = inf"
    )
    artist.set_layer(1)
    assert artist.get_cursor_data(_event_at(ax, 7, 5)) == (47, 5, 7, float(stream[1, 5, 7]))


def test_hover_is_constant_time():
    # No path containment tests: the cell comes from the inverse transform alone.
    ax, artist = _placed(np.zeros((1, 128, 128)))
    ax.figure.canvas.draw()
    event = _event_at(ax, 100, 3)
    with mock.patch.object(matplotlib.path.Path, "contains_points", side_effect=AssertionError):
        assert artist.contains(event)[0]
        assert artist.get_cursor_data(event)[0] == 3 * 128 + 100


def test_stream_property_is_read_only(stream):
    _, artist = _placed(stream)
    with pytest.raises(ValueError, match="read-only"):
        artist.stream[0, 0, 0] = 1.0


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 4, 5)), np.zeros(5), np.zeros((0, 2, 2))])
def test_bad_stream_shape(bad):
    with pytest.raises(ValueError, match=r"\(layers, rows, cols\) or \(rows, cols\)"):
        ResidualStreamArtist(bad)


def test_hovering_padding_says_it_is_padding():
    from mpl_residual import ResidualStream

    grid = to_grid(np.arange(2 * 10, dtype=float).reshape(2, 10), 4, pad=True)  # 4 x 3, 2 pads
    ax, artist = _placed(grid)
    ax.figure.canvas.draw()
    assert artist.d_model == 10
    data = artist.get_cursor_data(_event_at(ax, 2, 3))
    assert data[0] is None
    assert artist.format_cursor_data(data) == "padding (row 3, col 2), past d_model = 10"
    last = artist.get_cursor_data(_event_at(ax, 0, 3))
    assert artist.format_cursor_data(last) == "dim 9 (row 3, col 0) = 9"
    # A NaN that is data, not padding, is read out as such.
    data = np.arange(12.0).reshape(1, 3, 4)
    data[0, 1, 1] = np.nan
    ax, artist = _placed(data)
    ax.figure.canvas.draw()
    assert artist.format_cursor_data(artist.get_cursor_data(_event_at(ax, 1, 1))) == (
        "dim 5 (row 1, col 1) = nan"
    )
    # A stream that knows its width says so even where NaN runs on.
    stream = ResidualStream(grid, d_model=10)
    _, artist = _placed(stream)
    assert artist.d_model == 10


def test_d_model_must_fit_the_grid(stream):
    with pytest.raises(ValueError, match=r"d_model=49 does not fit a grid of 48 cells \(6 x 8\)"):
        ResidualStreamArtist(stream, d_model=49)


@pytest.mark.parametrize("origin", ["upper", "lower"])
@pytest.mark.parametrize("zoom", [False, True])
def test_redrawn_grids_are_the_same_pixels(origin, zoom):
    # From its second draw at one place a grid is put down as an image: the same bytes.
    rng = np.random.default_rng(int(zoom) + 2 * (origin == "lower"))
    stream = rng.standard_normal((3, 37, 53))
    stream[1, 4, 5] = np.nan

    def drawn(layer, times):
        fig = FigureCanvasAgg(Figure(figsize=(5.3, 3.1), dpi=87)).figure
        ax = fig.add_subplot()
        artist = residual_grid(stream, ax=ax, origin=origin, colorbar=True)
        if zoom:
            ax.set_xlim(3.2, 30.7)
        for _ in range(times):
            artist.set_layer(layer)
            fig.canvas.draw()
            artist.set_layer((layer + 1) % 3)
        artist.set_layer(layer)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).copy()

    for layer in range(3):
        np.testing.assert_array_equal(drawn(layer, 3), drawn(layer, 0))


@pytest.mark.parametrize("shape", ["circle", "turned"])
def test_redrawn_grids_that_leave_pixels_of_their_box_are_the_same_pixels(shape):
    # Cells turned by an affine transform do not cover their box: written where they
    # are, the canvas around them left as it was.  A clip path's edge is antialiased
    # (pixels blend there): such a grid stays a quad mesh.
    from matplotlib.patches import Circle
    from matplotlib.transforms import Affine2D

    stream = np.random.default_rng(7).standard_normal((2, 23, 31))

    def drawn(times):
        fig = FigureCanvasAgg(Figure(figsize=(4.1, 3.3), dpi=91, facecolor="0.8")).figure
        ax = fig.add_subplot()
        artist = residual_grid(stream, ax=ax, linewidth=0)  # no lines: drawn as an image
        if shape == "circle":
            artist.set_clip_path(Circle((15, 11), 9, transform=ax.transData))
        else:
            artist.set_transform(Affine2D().rotate_deg_around(15, 11, 21) + ax.transData)
        for _ in range(times):
            artist.set_layer(1)
            fig.canvas.draw()
        artist.set_layer(0)
        fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).copy()

    once = drawn(0)
    assert (once[..., :3] == 204).all(axis=-1).mean() > 0.3  # the figure shows around
    np.testing.assert_array_equal(drawn(3), once)


@pytest.mark.parametrize("turned", [False, True])
def test_upright_grids_are_gathered_by_rows_and_columns(turned):
    # An upright grid's cell map is a cell row for each pixel row times a column for
    # each pixel column: gathered as such (the bytes are held to the quad mesh's by the
    # tests above, the upright ones through this path); a turned grid pixel by pixel.
    from matplotlib.transforms import Affine2D

    fig = FigureCanvasAgg(Figure(figsize=(4.1, 3.3), dpi=91)).figure
    ax = fig.add_subplot()
    artist = residual_grid(np.random.default_rng(3).standard_normal((2, 23, 31)), ax=ax)
    artist.set_linewidth(0)
    if turned:
        artist.set_transform(Affine2D().rotate_deg_around(15, 11, 21) + ax.transData)
    for layer in (0, 1, 0):
        artist.set_layer(layer)
        fig.canvas.draw()
    lines = artist._raster._lines
    assert (lines is None) == turned
    if not turned:
        rows_of, cols_of = lines
        assert rows_of[0] == 0 and rows_of[-1] == 22 and np.all(np.diff(rows_of) >= 0)
        assert cols_of[0] == 0 and cols_of[-1] == 30 and np.all(np.diff(cols_of) >= 0)


def test_grids_with_lines_or_translucent_cells_stay_quad_meshes(stream):
    from mpl_residual._raster import CellRaster

    fig = FigureCanvasAgg(Figure()).figure
    lined = residual_grid(stream, ax=fig.add_subplot(121), linewidth=0.5)
    seethrough = residual_grid(stream, ax=fig.add_subplot(122), alpha=0.5)
    renderer = fig.canvas.get_renderer()
    for artist in (lined, seethrough):
        raster = CellRaster()
        assert not raster.applies(artist, renderer) and not raster.applies(artist, renderer)


# -- the cell map at any size -------------------------------------------------------------------


def test_cell_numbers_are_exact_past_two_to_the_24_cells():
    """Canvas-free: numbers spelled in colours (24 bits a drawing) read back exactly for
    more cells than 24 bits hold, where one drawing used to wrap (red for blue)."""
    from mpl_residual._raster import cell_numbers, number_colors

    n = 2**24 + 4099
    drawings = [
        np.floor(number_colors(n, part) * 255 + 0.5).astype(np.uint8)[None] for part in (0, 1)
    ]
    numbers = cell_numbers(*drawings)[0]
    assert numbers.dtype == np.int64
    np.testing.assert_array_equal(numbers, np.arange(n))
    assert numbers[2**24] == 2**24 and numbers[-1] == n - 1  # not 0 and 4098 again


def test_a_grid_spelled_in_several_drawings_is_the_same_pixels(monkeypatch):
    """With 3 bits a drawing, a 37 x 53 grid takes four drawings: the same bytes as one."""
    from mpl_residual import _raster

    def drawn():
        rng = np.random.default_rng(5)
        fig = FigureCanvasAgg(Figure(figsize=(5.3, 3.1), dpi=87)).figure
        artist = residual_grid(rng.standard_normal((2, 37, 53)), ax=fig.add_subplot())
        for layer in (1, 0, 1):  # from the second draw on, through the cell map
            artist.set_layer(layer)
            fig.canvas.draw()
        return np.asarray(fig.canvas.buffer_rgba()).copy()

    whole = drawn()
    monkeypatch.setattr(_raster, "BITS", 3)
    np.testing.assert_array_equal(drawn(), whole)
