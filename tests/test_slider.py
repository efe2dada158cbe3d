import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from matplotlib.widgets import Slider

from mpl_residual import layer_slider, residual_grid


def test_slider_drives_set_layer(stream):
    fig, ax = plt.subplots()
    artist = residual_grid(stream, ax=ax, layer=1, title="layer {}".format)
    slider = layer_slider(artist)
    assert isinstance(slider, Slider)
    assert (slider.valmin, slider.valmax, slider.val) == (0, 4, 1)
    slider.set_val(3)
    assert artist.layer == 3 and ax.get_title() == "layer 3"
    np.testing.assert_array_equal(artist.get_array(), stream[3])
    assert slider.ax.figure is fig and slider.ax is not ax
    fig.canvas.draw()


def test_dragging_the_slider(stream):
    fig, ax = plt.subplots()
    artist = residual_grid(stream, ax=ax)
    slider = layer_slider(artist)
    fig.canvas.draw()
    x, y = slider.ax.transAxes.transform((0.98, 0.5))
    for name in ("button_press_event", "button_release_event"):
        MouseEvent(name, fig.canvas, x, y, button=1)._process()
    assert artist.layer == 4


def test_from_a_stream_on_given_axes(stream):
    fig, (grid_ax, slider_ax) = plt.subplots(2, 1, height_ratios=[5, 1])
    slider = layer_slider(stream, ax=grid_ax, slider_ax=slider_ax, cmap="RdBu_r", label="depth")
    assert slider.ax is slider_ax and slider.label.get_text() == "depth"
    (artist,) = grid_ax.collections
    slider.set_val(2)
    assert artist.layer == 2 and artist.cmap.name.startswith("RdBu_r")


def test_artist_and_drawing_options_do_not_mix(stream):
    artist = residual_grid(stream)
    with pytest.raises(TypeError, match="for a stream"):
        layer_slider(artist, cmap="viridis")


def test_the_slider_follows_a_layer_set_by_code(stream):
    fig, ax = plt.subplots()
    artist = residual_grid(stream, ax=ax)
    slider = layer_slider(artist)
    moved = []
    slider.on_changed(moved.append)
    artist.set_layer(-1)
    assert slider.val == artist.layer == artist.n_layers - 1
    assert slider.valtext.get_text() == str(artist.n_layers - 1)
    slider.set_val(1)  # and the artist the slider, once each way
    assert artist.layer == 1 and moved == [artist.n_layers - 1, 1]
    plt.close(fig)
