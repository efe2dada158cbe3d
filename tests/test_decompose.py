"""Who wrote each cell: `hf.decompose`, `hf.logit_attribution` and `contributions`, on every
architecture the rules cover (tiny random configs) and on real weights."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from hf_models import hook_count, tiny_model, tiny_tokenizer  # noqa: E402
from mpl_residual import Attribution, Decomposition, contributions, hf, residual_grid  # noqa: E402
from mpl_residual.errors import NotDecomposable, NotOneToken  # noqa: E402

TEXT = "the capital of france is paris"
#: Pre-norm models: sequential (GPT-2, Llama, Mistral, Qwen2 with grouped-query
#: attention, Gemma's scaled embeddings, OPT), parallel (GPT-J, GPT-NeoX, Phi, Falcon),
#: and post-norms around each half (Gemma 2).
ARCHS = ["falcon", "gemma", "gemma2", "gpt2", "gpt_neox", "gptj", "llama", "mistral", "opt",
         "phi", "qwen2"]  # fmt: skip


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


def _model(arch):
    """A tiny model whose norms do something (random weights around 1)."""
    model = tiny_model(arch)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name or ".ln" in name:
                param.add_(torch.randn(param.shape) * 0.3)
    return model


def _relative(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


@pytest.mark.parametrize("arch", ARCHS)
def test_the_components_add_up_to_the_stream_at_every_block(arch, tokenizer):
    model = _model(arch)
    hooks = hook_count(model)
    parts = hf.decompose(model, tokenizer, TEXT)
    assert hook_count(model) == hooks  # every hook removed
    raw = hf.capture(model, tokenizer(TEXT, return_tensors="pt"), final="raw")
    assert _relative(parts.stream(), raw) < 1e-5
    n_blocks = model.config.num_hidden_layers
    assert parts.names == (
        "embeddings",
        *(f"block {i} {half}" for i in range(n_blocks) for half in ("attn", "mlp")),
    )
    assert parts.values.dtype == np.float32 and parts.values.shape == (1 + 2 * n_blocks, 4, 8)
    assert parts.token == "paris" and parts.tokens[parts.position] == "paris"
    assert parts.stream().layer_names[-1] == f"block {n_blocks - 1}"


@pytest.mark.parametrize("arch", ARCHS)
def test_the_heads_add_up_to_their_block(arch, tokenizer):
    model = _model(arch)
    whole = hf.decompose(model, tokenizer, TEXT, position=2)
    split = hf.decompose(model, tokenizer, TEXT, position=2, heads=True)
    n_heads = model.config.num_attention_heads
    for i in range(model.config.num_hidden_layers):
        names = [f"block {i} head {h}" for h in range(n_heads)]
        if f"block {i} attn bias" in split.names:
            names.append(f"block {i} attn bias")
        heads = sum(split.component(name).astype(np.float64) for name in names)
        assert _relative(heads, whole.component(f"block {i} attn")) < 1e-5
        np.testing.assert_array_equal(
            split.component(f"block {i} mlp"), whole.component(f"block {i} mlp")
        )
    assert _relative(split.stream(), whole.stream()) < 1e-5
    bias = "block 0 attn bias" in split.names
    assert bias == (arch in ("gpt2", "gpt_neox", "opt", "phi"))  # where o_proj has one


@pytest.mark.parametrize("arch", ARCHS)
def test_the_attribution_adds_up_to_the_models_logit_difference(arch, tokenizer):
    model = _model(arch)
    model.config.final_logit_softcapping = None  # the logit before any soft-capping
    attribution = hf.logit_attribution(model, tokenizer, TEXT, "paris", versus="london")
    with torch.no_grad():
        logits = model(**tokenizer(TEXT, return_tensors="pt")).logits[0, -1].double()
    want = float(logits[attribution.target_id] - logits[attribution.versus_id])
    assert abs(attribution.total - want) < 1e-4 * max(1.0, abs(want))
    assert attribution.total == pytest.approx(np.nansum(attribution.values) + attribution.constant)
    by_component = sum(attribution.components.values()) + attribution.constant
    assert abs(by_component - want) < 1e-4 * max(1.0, abs(want))
    assert set(attribution.components) == set(attribution.decomposition.names)
    assert attribution.values.shape == (4, 8)
    alone = hf.logit_attribution(model, tokenizer, TEXT, attribution.target_id)
    assert abs(alone.total - float(logits[attribution.target_id])) < 1e-4 * max(
        1.0, abs(float(logits[attribution.target_id]))
    )


def test_a_soft_capped_model_is_attributed_before_the_cap(tokenizer, tmp_path):
    model = _model("gemma2")
    assert model.config.final_logit_softcapping
    attribution = hf.logit_attribution(model, tokenizer, TEXT, "paris")
    with torch.no_grad():
        capped = model(**tokenizer(TEXT, return_tensors="pt")).logits[0, -1].double()
    cap = model.config.final_logit_softcapping
    uncapped = float(torch.atanh(capped[attribution.target_id] / cap) * cap)
    assert attribution.total == pytest.approx(uncapped, abs=1e-3)
    assert attribution.capped == pytest.approx(float(capped[attribution.target_id]), abs=1e-4)
    assert attribution.heading == "logit 'paris' before soft-capping"
    versus = hf.logit_attribution(model, tokenizer, TEXT, "paris", versus="rome")
    rome = tokenizer.convert_tokens_to_ids("rome")
    want = float(capped[attribution.target_id] - capped[rome])
    assert versus.capped == pytest.approx(want, abs=1e-4)
    assert "before soft-capping" in versus.title()
    back = Decomposition.load(versus.save(tmp_path / "a.npz")).attribution
    assert back.capped == versus.capped
    from test_cli import run

    said = run("info", "a.npz", cwd=tmp_path, check_rc=0).stdout
    assert f"soft-capped: the model reports {versus.capped:.6g}" in said
    assert "logit 'paris' − 'rome' before soft-capping" in said


def test_an_uncapped_model_says_nothing_of_capping(tokenizer):
    attribution = hf.logit_attribution(_model("gpt2"), tokenizer, TEXT, "paris")
    assert attribution.capped is None and "capping" not in attribution.heading
    assert attribution.labels.quantity == "share of the logit, in logits"


def test_targets_must_be_one_token(tokenizer):
    model = _model("gpt2")
    with pytest.raises(NotOneToken, match=r"target='paris france' is 2 tokens, not one: 'paris'"):
        hf.logit_attribution(model, tokenizer, TEXT, "paris france")
    with pytest.raises(ValueError, match="versus=999 is not a token id of a vocabulary of 128"):
        hf.logit_attribution(model, tokenizer, TEXT, "paris", versus=999)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_a_float64_model_decomposes_to_its_own_precision(arch, tokenizer):
    model = _model(arch)
    want = hf.decompose(model, tokenizer, TEXT, heads=True)
    wide = hf.decompose(model.double(), tokenizer, TEXT, heads=True)
    assert wide.names == want.names and wide.values.dtype == np.float32
    assert _relative(wide.values, want.values) < 1e-5
    raw = hf.capture(model, tokenizer(TEXT, return_tensors="pt"), final="raw")
    assert _relative(wide.stream(), raw) < 1e-6
    attribution = hf.logit_attribution(model, tokenizer, TEXT, "paris", heads=True)
    assert attribution.total == pytest.approx(
        hf.logit_attribution(model.float(), tokenizer, TEXT, "paris").total, rel=1e-5
    )


def test_a_target_outside_the_vocabulary_is_refused_not_read_as_unknown(tokenizer):
    model = _model("gpt2")
    assert tokenizer("zebra", add_special_tokens=False)["input_ids"] == [tokenizer.unk_token_id]
    with pytest.raises(NotOneToken, match=r"target='zebra' is not in the vocabulary: it "
                       r"tokenizes to the unknown token '<unk>'"):  # fmt: skip
        hf.logit_attribution(model, tokenizer, TEXT, "zebra")
    with pytest.raises(NotOneToken, match="versus='zebra' is not in the vocabulary"):
        hf.logit_attribution(model, tokenizer, TEXT, "paris", versus="zebra")
    assert hf.logit_attribution(model, tokenizer, TEXT, "<unk>").target == "<unk>"  # as asked


def test_post_norm_and_unknown_models_are_refused_with_one_line(tokenizer, minilm_folder):
    with pytest.raises(NotDecomposable, match="BertModel is a post-norm model"):
        hf.decompose(tiny_model("bert"), tokenizer, TEXT)
    bert = transformers.AutoModel.from_pretrained(minilm_folder)
    words = transformers.AutoTokenizer.from_pretrained(minilm_folder)
    with pytest.raises(NotDecomposable, match=r"post-norm .* 'output.LayerNorm'"):
        hf.decompose(bert, words, "Paris is nice")
    with pytest.raises(NotDecomposable, match="BloomBlock .* no rule here covers it"):
        hf.decompose(tiny_model("bloom"), tokenizer, TEXT)


# -- drawn like a stream ---------------------------------------------------------------------


def test_a_decomposition_draws_one_panel_or_frame_a_component(tokenizer, tmp_path):
    from matplotlib.figure import Figure

    from mpl_residual import animate, layer_sheet

    parts = hf.decompose(_model("gpt2"), tokenizer, TEXT)
    artist = residual_grid(parts, ax=Figure().add_subplot(), layer=2)
    assert artist.axes.get_title() == "block 0 mlp · 'paris'"
    sheet = layer_sheet(parts)
    assert sheet.axes[0].get_title().startswith("embeddings")
    anim = animate(parts, fig=Figure())
    assert anim.frame_names == parts.names
    back = Decomposition.load(parts.save(tmp_path / "parts.npz"))
    np.testing.assert_array_equal(back.values, parts.values)
    assert (back.names, back.tokens, back.position) == (parts.names, parts.tokens, parts.position)
    with np.load(tmp_path / "parts.npz", allow_pickle=False) as data:
        assert "values" in data.files


def test_an_attribution_draws_on_a_diverging_scale_titled_with_its_target(tokenizer, tmp_path):
    from matplotlib.figure import Figure

    attribution = hf.logit_attribution(_model("llama"), tokenizer, TEXT, "paris", versus="rome")
    artist = residual_grid(attribution, ax=Figure().add_subplot(), colorbar=True)
    assert artist.cmap.name.startswith("RdBu_r")
    assert artist.norm.vmin == -artist.norm.vmax
    assert artist.axes.get_title() == "logit 'paris' − 'rome' · 'paris'"
    assert artist.colorbar.ax.get_ylabel() == "share of the logit difference, in logits"
    path = attribution.save(tmp_path / "a.npz")
    back = Decomposition.load(path).attribution
    assert isinstance(back, Attribution)
    assert back.total == pytest.approx(attribution.total)
    assert back.components == pytest.approx(attribution.components)


def test_contributions_show_who_wrote_a_dimension_largest_first(tokenizer):
    import matplotlib.pyplot as plt

    parts = hf.decompose(_model("gpt2"), tokenizer, TEXT)
    writes = parts.writes([5])[:, 0]
    fig, ax = plt.subplots()
    bars = contributions(parts, 5, ax=ax, top=4)
    shown = [t.get_text() for t in ax.get_yticklabels()][::-1]  # top of the chart first
    order = np.argsort(-np.abs(writes), kind="stable")[:4]
    assert shown == [parts.names[i] for i in order]
    widths = [bar.get_width() for bar in bars]  # the largest first
    np.testing.assert_allclose(widths, writes[order])
    warm, cool = plt.get_cmap("RdBu_r")(0.85), plt.get_cmap("RdBu_r")(0.15)
    for bar, width in zip(bars, [bar.get_width() for bar in bars], strict=True):
        assert bar.get_facecolor() == pytest.approx(warm if width >= 0 else cool)
    assert ax.get_xlabel() == "written to the stream, dim 5"
    assert "top 4 of 7" in ax.get_title()
    several = contributions(parts, [5, 9], ax=plt.figure().add_subplot())
    np.testing.assert_allclose(
        sorted(b.get_width() for b in several), sorted(parts.writes([5, 9]).sum(axis=1))
    )
    with pytest.raises(IndexError, match="dims=32 is out of range for d_model=32"):
        contributions(parts, 32)


def test_contributions_of_an_attribution_are_the_shares_of_the_logit(tokenizer):
    import matplotlib.pyplot as plt

    attribution = hf.logit_attribution(_model("qwen2"), tokenizer, TEXT, "paris")
    ax = plt.figure().add_subplot()
    bars = contributions(attribution, ax=ax, top=3)
    largest = max(attribution.components.items(), key=lambda item: abs(item[1]))
    assert ax.get_yticklabels()[-1].get_text() == largest[0]  # at the top
    assert bars[0].get_width() == pytest.approx(largest[1])
    assert bars[-1].get_width() == pytest.approx(attribution.total)  # then it adds up
