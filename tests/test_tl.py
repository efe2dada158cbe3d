"""`mpl_residual.tl.from_cache` against `hf.capture(final="raw")` on the Hugging Face
twin of a TransformerLens model: a random GPT-2 converted with TransformerLens's own
weight conversion (HookedTransformer) or bridged (TransformerBridge), no hub."""

import copy
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
transformer_lens = pytest.importorskip("transformer_lens")

from hf_models import tiny_model, tiny_tokenizer  # noqa: E402
from mpl_residual import ResidualStream, hf, tl  # noqa: E402

TEXT = "the capital of france is paris"


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TransformerLens warns about much on a CPU
        yield


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    """The tiny tokenizer, loaded from a folder: TransformerLens reloads it by its name."""
    folder = tmp_path_factory.mktemp("tokenizer")
    tiny_tokenizer().save_pretrained(folder)
    return transformers.AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def twin(tokenizer):
    """The HF GPT-2, a HookedTransformer with its weights, and their tokenizer."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig
    from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights

    model = tiny_model("gpt2", seed=3)
    with torch.no_grad():  # norms that do something, so that where they apply shows
        for name, param in model.named_parameters():
            if ".ln_" in name:  # ln_1, ln_2 and ln_f
                param.add_(torch.randn(param.shape) * 0.5)
            if "attn.c_proj.bias" in name:  # a bias that writes (b_O), as GPT-2 small's
                param.add_(torch.randn(param.shape) * 0.1)
    c = model.config
    cfg = HookedTransformerConfig(
        n_layers=c.n_layer,
        d_model=c.n_embd,
        n_heads=c.n_head,
        d_head=c.n_embd // c.n_head,
        d_mlp=4 * c.n_embd,
        n_ctx=c.n_positions,
        d_vocab=c.vocab_size,
        act_fn="gelu_new",
        normalization_type="LN",
        eps=c.layer_norm_epsilon,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hooked = HookedTransformer(cfg)
        hooked.load_state_dict(convert_gpt2_weights(model, cfg), strict=False)
        hooked.set_tokenizer(tokenizer, default_padding_side="right")
    return model, hooked.eval(), tokenizer


@pytest.fixture(scope="module")
def bridge(twin):
    """The same GPT-2 behind a TransformerBridge (TransformerLens 4's model, also in 3.x)."""
    bridge_module = pytest.importorskip("transformer_lens.model_bridge")
    model, _, tokenizer = twin
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bridge_module.TransformerBridge.boot_transformers(  # it rebuilds its model
            "gpt2", hf_model=copy.deepcopy(model), tokenizer=tokenizer, device="cpu"
        )


def _ids(tokenizer, text=TEXT):
    return tokenizer(text, return_tensors="pt")["input_ids"]


@pytest.mark.parametrize("position", [-1, 0, 3, None])
def test_hooked_transformer_cache_equals_capture_raw(twin, position):
    model, hooked, tokenizer = twin
    ids = _ids(tokenizer)
    _, cache = hooked.run_with_cache(ids)
    got = tl.from_cache(cache, position=position)
    want = hf.residual_stream(model, tokenizer, TEXT, position=position, final="raw")
    np.testing.assert_allclose(got.values, want.values, atol=1e-5, rtol=0)
    assert got.layer_names == want.layer_names == ("embeddings", "block 0", "block 1", "block 2")
    assert got.d_model == 32 and got.values.dtype == np.float32
    assert got.position == want.position
    capture = hf.capture(model, ids, position=position, final="raw")
    np.testing.assert_allclose(got.values, capture, atol=1e-5, rtol=0)


def test_bridge_cache_equals_capture_raw(twin, bridge):
    model, _, tokenizer = twin
    ids = _ids(tokenizer)
    _, cache = bridge.run_with_cache(ids)
    got = tl.from_cache(cache, tokens=ids[0])
    want = hf.residual_stream(model, tokenizer, TEXT, final="raw")
    np.testing.assert_allclose(got.values, want.values, atol=1e-5, rtol=0)
    assert got.layer_names == want.layer_names and got.tokens == want.tokens
    # The normed last layer is ln_final.hook_out, not hook_normalized (before ln_final's
    # weights): that is what hf.capture's default reports.
    normed = hf.capture(model, ids, rows=1)[-1, 0]
    np.testing.assert_allclose(cache["ln_final.hook_out"][0, -1], normed, atol=1e-5)
    assert not np.allclose(cache["ln_final.hook_normalized"][0, -1], normed, atol=1e-3)


def test_labels_from_tokens_and_positions_by_name(twin):
    _, hooked, tokenizer = twin
    ids = _ids(tokenizer, "the city of paris is big")
    _, cache = hooked.run_with_cache(ids)
    stream = tl.from_cache(cache, tokens=ids[0], position="paris")
    assert stream.token == "paris" and stream.position == 3
    assert stream.title(3) == "block 2 · 'paris'"
    strings = tl.from_cache(cache, tokens=["a", "b", "c", "d", "e", "f"], position=-1)
    assert strings.token == "f"
    every = tl.from_cache(cache, position=None, tokens=ids[0])
    assert every.shape == (4, 6, 4, 8)
    np.testing.assert_array_equal(every.at("paris"), stream)


def test_a_batch_and_a_cache_without_its_batch_dim(twin):
    model, hooked, tokenizer = twin
    texts = ["the cat sat on the mat", "the dog ran to the park"]
    ids = tokenizer(texts, return_tensors="pt")["input_ids"]
    _, cache = hooked.run_with_cache(ids)
    for b in (0, 1):
        want = hf.capture(model, ids[b], position=2, final="raw")
        np.testing.assert_allclose(
            tl.from_cache(cache, batch_index=b, position=2), want, atol=1e-5, rtol=0
        )
    _, single = hooked.run_with_cache(ids[:1])
    single = single.remove_batch_dim()
    np.testing.assert_allclose(
        tl.from_cache(single, rows=8), hf.capture(model, ids[0], rows=8, final="raw"), atol=1e-5
    )


def test_a_plain_dict_of_hooks_works_too(twin):
    _, hooked, tokenizer = twin
    _, cache = hooked.run_with_cache(_ids(tokenizer))
    plain = {name: cache[name] for name in tl.hook_names(3)}
    np.testing.assert_array_equal(tl.from_cache(plain), tl.from_cache(cache))
    assert isinstance(tl.from_cache(plain), ResidualStream)


def test_bad_caches(twin):
    _, hooked, tokenizer = twin
    ids = _ids(tokenizer)
    _, partial = hooked.run_with_cache(ids, names_filter=lambda name: "resid_pre" in name)
    with pytest.raises(ValueError, match=r"lacks blocks\.2\.hook_resid_post: cache every"):
        tl.from_cache(partial)
    with pytest.raises(ValueError, match=r"no blocks\.\{i\}\.hook_resid_pre"):
        tl.from_cache({})
    with pytest.raises(TypeError, match="cache must be a TransformerLens ActivationCache"):
        tl.from_cache([1, 2])
    _, cache = hooked.run_with_cache(ids)
    with pytest.raises(IndexError, match="position=9 is out of range for 6 positions"):
        tl.from_cache(cache, position=9)
    with pytest.raises(IndexError, match="batch_index=1 is out of range for a batch of 1"):
        tl.from_cache(cache, batch_index=1)
    with pytest.raises(ValueError, match="names a token; pass tokens= to read them"):
        tl.from_cache(cache, position="paris")
    with pytest.raises(ValueError, match="3 tokens for a cache of 6 positions"):
        tl.from_cache(cache, tokens=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"tokens of a batch: pass the row"):
        tl.from_cache(cache, tokens=ids)
    with pytest.raises(TypeError, match="got one str"):
        tl.from_cache(cache, tokens=TEXT)


# -- who wrote each cell ----------------------------------------------------------------------


@pytest.mark.parametrize("position", [-1, 2])
def test_tl_decompose_equals_hf_decompose_on_the_same_weights(twin, position):
    model, hooked, tokenizer = twin
    _, cache = hooked.run_with_cache(_ids(tokenizer))
    for heads in (False, True):
        got = tl.decompose(cache, position=position, heads=heads, tokens=_ids(tokenizer)[0])
        want = hf.decompose(model, tokenizer, TEXT, position=position, heads=heads)
        assert got.names == want.names
        np.testing.assert_allclose(got.values, want.values, atol=1e-5, rtol=0)
        assert got.tokens == want.tokens and got.position == want.position
        np.testing.assert_allclose(
            got.stream().values, tl.from_cache(cache, position=position).values, atol=1e-5
        )


def test_the_heads_are_transformer_lens_own_per_head_results(twin):
    """Each head's write equals cache.stack_head_results, each MLP's hook_mlp_out."""
    model, hooked, tokenizer = twin
    _, cache = hooked.run_with_cache(_ids(tokenizer))
    parts = hf.decompose(model, tokenizer, TEXT, heads=True)
    results, labels = cache.stack_head_results(layer=-1, pos_slice=-1, return_labels=True)
    for label, result in zip(labels, results[:, 0].detach(), strict=True):  # "L0H1"
        block, head = (int(x) for x in label[1:].split("H"))
        np.testing.assert_allclose(
            parts.component(f"block {block} head {head}").ravel(), result, atol=1e-5
        )
    for block in range(3):
        np.testing.assert_allclose(
            parts.component(f"block {block} mlp").ravel(),
            cache[f"blocks.{block}.hook_mlp_out"][0, -1],
            atol=1e-5,
        )
        np.testing.assert_allclose(
            parts.component(f"block {block} attn bias").ravel(),
            hooked.blocks[block].attn.b_O.detach(),
            atol=1e-6,
        )


def test_a_bridge_cache_decomposes_where_it_has_the_hooks(twin, bridge):
    model, _, tokenizer = twin
    ids = _ids(tokenizer)
    _, cache = bridge.run_with_cache(ids)
    got = tl.decompose(cache, tokens=ids[0])
    want = hf.decompose(model, tokenizer, TEXT)
    np.testing.assert_allclose(got.values, want.values, atol=1e-5, rtol=0)


def test_a_cache_without_the_hooks_says_which(twin):
    _, hooked, tokenizer = twin
    _, partial = hooked.run_with_cache(
        _ids(tokenizer), names_filter=lambda name: "resid_pre" in name
    )
    with pytest.raises(ValueError, match=r"lacks blocks\.0\.hook_attn_out"):
        tl.decompose(partial)
    with pytest.raises(ValueError, match=r"lacks blocks\.0\.attn\.hook_z"):
        tl.decompose(partial, heads=True)


def test_tl_decompose_counts_real_tokens_of_a_padded_batch_given_its_mask(twin):
    model, hooked, tokenizer = twin
    texts = [TEXT, "the cat sat"]
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    assert batch["attention_mask"][1].tolist().count(0) > 0  # padded on the right
    _, cache = hooked.run_with_cache(batch["input_ids"])
    for heads in (False, True):
        got = tl.decompose(cache, batch_index=1, heads=heads, tokens=batch["input_ids"][1],
                           attention_mask=batch["attention_mask"])  # fmt: skip
        want = hf.decompose(model, tokenizer, texts[1], heads=heads)
        assert got.names == want.names and got.position == want.position == 2
        np.testing.assert_allclose(got.values, want.values, atol=1e-5, rtol=0)
        assert got.token == "sat"
    first = tl.decompose(cache, position=1, attention_mask=batch["attention_mask"])
    np.testing.assert_allclose(
        first.values, hf.decompose(model, tokenizer, TEXT, position=1).values, atol=1e-5
    )


def test_tl_decompose_refuses_to_guess_the_padding_of_a_batch(twin):
    _, hooked, tokenizer = twin
    batch = tokenizer([TEXT, "the cat sat"], return_tensors="pt", padding=True)
    _, cache = hooked.run_with_cache(batch["input_ids"])
    with pytest.raises(ValueError, match="a batch of 2 sequences, which may be padded: pass "
                       "attention_mask="):  # fmt: skip
        tl.decompose(cache, batch_index=1)
    with pytest.raises(ValueError, match=r"attention_mask has shape \(1, 3\)"):
        tl.decompose(cache, attention_mask=[[1, 1, 1]])
