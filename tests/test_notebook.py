"""interact() in a real Jupyter kernel, and its widget logic in-process."""

import pytest

widgets = pytest.importorskip("ipywidgets")

import mpl_residual  # noqa: E402


def test_widget_updates_one_artist_in_place(stream):
    box = mpl_residual.interact(stream, title="layer {}".format)
    image, controls = box.children
    play, slider, readout = controls.children
    assert isinstance(image, widgets.Image) and isinstance(slider, widgets.IntSlider)
    assert (slider.min, slider.max) == (0, 4) and play.max == 4
    first = image.value
    figure, artist = box.figure, box.artist
    n_children = len(figure.axes[0].get_children())
    slider.value = 3
    assert artist.layer == 3 and readout.value == "3"
    assert figure.axes[0].get_title() == "layer 3"
    assert image.value != first and image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert box.figure is figure and len(figure.axes[0].get_children()) == n_children


def test_layer_subsets(stream):
    box = mpl_residual.interact(stream, layers=[0, 2, 4])
    box.slider.value = 2
    assert box.artist.layer == 4 and box.slider.max == 2


def test_missing_ipywidgets(stream, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ImportError, match=r"pip install 'mpl-residual\[notebook\]'"):
        mpl_residual.interact(stream)


def _run_notebook(cells):
    """A notebook of *cells*, run in a real Jupyter kernel; its cells with their outputs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    return nb.cells


def test_in_a_jupyter_kernel():
    cells = [
        "import numpy as np, mpl_residual as mr\n"
        "stream = np.random.default_rng(0).standard_normal((6, 384))\n"
        "w = mr.interact(mr.to_grid(stream), colorbar=True)\n"
        "w",
        "before = w.children[0].value\n"
        "w.slider.value = 4\n"
        "import matplotlib.pyplot as plt\n"
        "print(w.artist.layer, w.children[0].value != before, len(plt.get_fignums()))",
    ]
    cells = _run_notebook(cells)
    shown = cells[0].outputs[0]
    assert shown["output_type"] == "execute_result"
    assert "application/vnd.jupyter.widget-view+json" in shown["data"]
    # The widget moved: one artist switched layer, the image changed, no pyplot figures.
    assert cells[1].outputs[0]["text"].strip() == "4 True 0"


def test_an_animation_that_ends_a_cell_plays_there():
    cells = [
        "%matplotlib inline\n"
        "import numpy as np, mpl_residual as mr, matplotlib.pyplot as plt\n"
        "anim = mr.animate(np.random.default_rng(0).standard_normal((5, 8, 12)))\n"
        "anim",
        "other = mr.animate(np.random.default_rng(1).standard_normal((4, 8, 12)), colorbar=True)\n"
        "other",
        "from IPython.display import HTML\nHTML(anim.to_jshtml())  # the seed's own call",
        "print(len(plt.get_fignums()))",
    ]
    cells = _run_notebook(cells)
    players = []
    for cell in cells[:3]:
        (shown,) = cell.outputs  # the player alone: no still copy of the figure under it
        assert shown["output_type"] == "execute_result"
        html = shown["data"]["text/html"]
        assert html.startswith('<div class="mr-player"') and "mrPlayer" in html
        assert "image/png" not in shown["data"]
        players.append(html.split('"', 4)[3])  # the root element's id
    assert len(set(players)) == 3  # two cells, two players: their ids never collide
    assert cells[3].outputs[0]["text"].strip() == "0"  # pyplot holds no figure
