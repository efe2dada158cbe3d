"""`head_grid`, and the views of a decomposition at the size of a real model: GPT-2 small
shaped (12 blocks x 12 heads, 169 components) and a 7B shape (32 x 32)."""

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from matplotlib.figure import Figure

import mpl_residual as mr
from figure_checks import outside
from mpl_residual.decomposition import Attribution, Decomposition

STYLES = [None, "blog_dark", "blog_light", "paper"]


def _names(blocks, heads, bias=True):
    names = ["embeddings"]
    for b in range(blocks):
        names += [f"block {b} head {h}" for h in range(heads)]
        names += [f"block {b} attn bias"] if bias else []
        names.append(f"block {b} mlp")
    return names


def _parts(blocks=12, heads=12, bias=True, shape=(4, 8), seed=0):
    names = _names(blocks, heads, bias)
    rng = np.random.default_rng(seed)
    scale = np.where([n.endswith("mlp") for n in names], 50.0, 1.0)[:, None, None]
    values = (rng.standard_normal((len(names), *shape)) * scale).astype(np.float32)
    return Decomposition(values, names, tokens=("The", " of"), position=1)


def _attribution(parts):
    rng = np.random.default_rng(1)
    shares = rng.standard_normal(len(parts))
    components = {n: float(v) for n, v in zip(parts.names, shares, strict=True)}
    values = rng.standard_normal(parts.shape[1:]).astype(np.float32)
    values.flat[0] += np.float32(sum(components.values()) - values.sum(dtype=np.float64))
    constant = 0.29
    return Attribution(values, constant=constant, components=components, target=" Paris",
                       target_id=1, versus=" London", versus_id=2, tokens=parts.tokens,
                       position=1, decomposition=parts)  # fmt: skip


@pytest.mark.parametrize(("blocks", "heads", "bias"), [(12, 12, True), (32, 32, False)])
def test_the_heads_array_is_blocks_by_heads_and_equals_the_numbers(blocks, heads, bias):
    parts = _parts(blocks, heads, bias)
    fig = Figure()
    image = mr.head_grid(parts, [3, 5], ax=fig.subplots())
    assert image.get_array().shape == (blocks, heads)
    for b, h in [(0, 0), (blocks - 1, heads - 1), (blocks // 2, 1)]:
        want = parts.component(f"block {b} head {h}").ravel()[[3, 5]].sum()
        assert image.get_array()[b, h] == pytest.approx(want, rel=1e-6)
    # what else each block wrote, beside it on the same scale centred on 0
    side = [im for im in fig.axes[0].images if im is not image]
    assert len(side) == 1 and side[0].norm is image.norm
    columns = 2 if bias else 1
    assert side[0].get_array().shape == (blocks, columns)
    assert side[0].get_array()[0, -1] == pytest.approx(parts.component("block 0 mlp").ravel()[[3, 5]].sum(), rel=1e-6)  # noqa: E501
    assert image.norm.vmin == -image.norm.vmax
    assert image.get_cmap().name.startswith("RdBu_r")
    assert "sum over dims 3, 5" in fig.axes[0].get_title()
    assert "embeddings" in fig.axes[0].get_xlabel()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "mlp" in labels and ("attn bias" in labels) == bias
    assert image.colorbar.ax.get_ylabel() == "written to the stream,\nsum over dims 3, 5"


def test_an_attributions_heads_are_their_share_of_the_logit_in_logits():
    attribution = _attribution(_parts())
    fig = Figure()
    image = mr.head_grid(attribution, ax=fig.subplots())
    assert image.get_array()[4, 7] == pytest.approx(attribution.components["block 4 head 7"])
    assert fig.axes[0].get_title() == "logit ' Paris' − ' London'"
    assert image.colorbar.ax.get_ylabel().replace("\n", " ") == (
        "share of the logit difference, in logits"
    )


def test_hovering_names_the_component_and_its_value():
    parts = _parts(4, 8)
    fig, ax = plt.subplots()
    image = mr.head_grid(parts, 0, ax=ax)
    fig.canvas.draw()
    x, y = ax.transData.transform((5, 2))
    event = MouseEvent("motion_notify_event", fig.canvas, x, y)
    said = image.format_cursor_data(image.get_cursor_data(event))
    assert said == f"block 2 head 5 = {parts.component('block 2 head 5').ravel()[0]:+.4g}"
    plt.close(fig)


def test_a_decomposition_without_heads_says_to_pass_heads_true():
    names = ["embeddings", "block 0 attn", "block 0 mlp"]
    parts = Decomposition(np.zeros((3, 2, 2), np.float32), names)
    with pytest.raises(ValueError, match="make it with heads=True"):
        mr.head_grid(parts, ax=Figure().subplots())
    with pytest.raises(TypeError, match="needs a Decomposition, an Attribution or ComponentStats"):
        mr.head_grid(np.zeros((3, 2, 2)), ax=Figure().subplots())
    with pytest.raises(TypeError, match="unexpected options"):
        mr.head_grid(_parts(), ax=Figure().subplots(), robust=False)


def test_an_explicit_cmap_or_norm_wins():
    fig = Figure()
    image = mr.head_grid(_parts(), 0, ax=fig.subplots(), cmap="viridis", vmin=-1, vmax=2)
    assert image.get_cmap().name.startswith("viridis") and (image.norm.vmin, image.norm.vmax) == (-1, 2)  # noqa: E501


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("size", [None, (3.2, 2.4)])
@pytest.mark.parametrize("shape", [(12, 12), (32, 32)])
def test_head_grid_stays_on_the_figure(style, size, shape):
    with mr.style_context(style) if style else mpl.rc_context():
        fig, ax = plt.subplots(figsize=size)
        mr.head_grid(_attribution(_parts(*shape)), ax=ax)
        assert outside(fig) == []
        plt.close(fig)


# -- contributions ----------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_contributions_of_an_attribution_add_up_to_its_total(style):
    attribution = _attribution(_parts())
    with mr.style_context(style) if style else mpl.rc_context():
        fig, ax = plt.subplots(figsize=(5, 4))
        bars = mr.contributions(attribution, ax=ax, top=8)
        labels = [t.get_text() for t in ax.get_yticklabels()]  # from the bottom up
        assert labels[:3] == ["total", "constant (biases)",
                              f"{len(attribution.components) - 8} others"]  # fmt: skip
        widths = [b.get_width() for b in bars]
        assert widths[-1] == pytest.approx(attribution.total)
        assert sum(widths[:-1]) == pytest.approx(attribution.total)  # drawn, it adds up
        assert widths[-2] == pytest.approx(0.29)
        written = [t.get_text() for t in ax.texts]
        assert f"{attribution.total:+.2f}" in written and "+0.29" in written
        # every name is visible against the background of the style
        background = mpl.colors.to_rgb(ax.get_facecolor() if ax.get_facecolor()[3] else fig.get_facecolor())  # noqa: E501
        for label in ax.get_yticklabels():
            assert label.get_visible()
            ink = mpl.colors.to_rgb(label.get_color())
            assert np.abs(np.subtract(ink, background)).sum() > 1.0
        assert outside(fig) == []
        plt.close(fig)


def test_several_dims_are_said_to_be_summed():
    fig = Figure()
    mr.contributions(_parts(shape=(8, 8)), [51, 3, 10], ax=fig.subplots())
    assert "sum over dims 51, 3, 10" in fig.axes[0].get_xlabel()


# -- sheets of a decomposition -----------------------------------------------------------------


def _titles_apart(fig) -> bool:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    return not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


@pytest.mark.parametrize("scale", ["shared", "each"])
def test_a_sheet_of_169_components_reads(scale):
    parts = _parts(12, 12, shape=(24, 32))
    fig = mr.layer_sheet(parts, scale=scale)
    grids = [ax for ax in fig.axes if any(isinstance(c, mr.ResidualStreamArtist)
                                          for c in ax.collections)]  # fmt: skip
    assert len(grids) == 169
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in grids:
        box = ax.get_window_extent(renderer)
        assert min(box.width, box.height) >= 40 - 1e-6
    assert outside(fig) == [] and _titles_apart(fig)
    assert grids[1].get_title().startswith("block 0\nhead 0")
    artists = [ax.collections[0] for ax in grids]
    assert all(a.get_cmap().name.startswith("RdBu_r") for a in artists)
    if scale == "each":  # each on its own symmetric scale, its limit in its title
        mlp = grids[parts.names.index("block 0 mlp")].collections[0]
        head = artists[1]
        assert mlp.norm.vmax > 10 * head.norm.vmax and head.norm.vmin == -head.norm.vmax
        assert f"±{head.norm.vmax:.2g}" in grids[1].get_title()
    else:
        assert len({(a.norm.vmin, a.norm.vmax) for a in artists}) == 1
    plt.close(fig)


@pytest.mark.parametrize("style", STYLES[1:])
def test_a_sheet_of_components_fits_in_every_style(style):
    with mr.style_context(style):
        fig = mr.layer_sheet(_parts(3, 4, shape=(4, 8)), scale="each")
        assert outside(fig) == [] and _titles_apart(fig)
        plt.close(fig)


def test_scale_is_checked():
    with pytest.raises(ValueError, match="scale must be 'shared' or 'each'"):
        mr.layer_sheet(np.zeros((2, 2, 2)), scale="own")
    with pytest.raises(ValueError, match="drop norm, vmin and vmax"):
        mr.layer_sheet(np.zeros((2, 2, 2)), scale="each", vmax=3)


# -- a GPT-2-small-shaped model ---------------------------------------------------------------


@pytest.fixture(scope="module")
def gpt2_small():
    """GPT-2 small's shape (12 blocks x 12 heads, d_model 768), random weights, a tiny
    vocabulary: 169 components with heads."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from hf_models import tiny_tokenizer

    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=128, n_embd=768, n_layer=12, n_head=12,
                                     n_positions=64, bos_token_id=1, eos_token_id=2)  # fmt: skip
    model = transformers.GPT2LMHeadModel(config).eval()
    from mpl_residual import hf

    tokenizer = tiny_tokenizer()
    text = "the capital of france is"
    parts = hf.decompose(model, tokenizer, text, heads=True)
    attribution = hf.logit_attribution(model, tokenizer, text, "paris", versus="rome",
                                       heads=True)  # fmt: skip
    return parts, attribution


def test_gpt2_small_components_are_named_from_block_0(gpt2_small):
    parts, attribution = gpt2_small
    assert len(parts) == 169 and parts.names[1] == "block 0 head 0"
    assert parts.names[-1] == "block 11 mlp"
    assert parts.stream().layer_names == ("embeddings", *(f"block {i}" for i in range(12)))


@pytest.mark.parametrize("style", STYLES)
def test_gpt2_small_views_in_every_style_at_a_small_size(gpt2_small, style):
    parts, attribution = gpt2_small
    with mr.style_context(style) if style else mpl.rc_context():
        fig, ax = plt.subplots(figsize=(3.2, 2.4))
        image = mr.head_grid(attribution, ax=ax)
        heads = np.array([[attribution.components[f"block {b} head {h}"] for h in range(12)]
                          for b in range(12)])  # fmt: skip
        np.testing.assert_allclose(image.get_array(), heads)
        assert image.norm.vmin == -image.norm.vmax and "RdBu" in image.get_cmap().name
        assert outside(fig) == []
        fig, ax = plt.subplots(figsize=(3.2, 2.4))
        bars = mr.contributions(attribution, ax=ax, top=5)
        assert bars[-1].get_width() == pytest.approx(attribution.total)
        assert outside(fig) == []
        plt.close("all")


@pytest.mark.parametrize("style", STYLES)
def test_the_attribute_figure_says_what_each_panel_is_in_every_style(gpt2_small, style):
    from mpl_residual.cli.attribute import figure

    _, attribution = gpt2_small
    with mr.style_context(style) if style else mpl.rc_context():
        fig = figure(attribution)
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        assert titles[:3] == ["each dimension's share", "each component's share",
                              titles[2]] and titles[2].startswith("who wrote dim ")  # fmt: skip
        assert len(set(titles)) == len(titles)
        assert outside(fig) == [] and _titles_apart(fig)
        plt.close(fig)
