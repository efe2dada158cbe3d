"""The logit lens of `mpl_residual.hf`: each layer through the model's own final norm
and output embedding, checked against the model's own logits on tiny random-init
models of several architectures."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from hf_models import tiny_model, tiny_tokenizer  # noqa: E402
from mpl_residual import ResidualStream, hf  # noqa: E402
from mpl_residual.model.anatomy import final_norm_of, unwrap  # noqa: E402

TEXT = "the capital of france is"
LENS_ARCHS = ["gpt2", "llama", "gpt_neox", "opt", "bloom", "phi", "gemma", "gemma2"]


def _gemma2():
    config = transformers.Gemma2Config(
        vocab_size=128,
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        intermediate_size=64,
        max_position_embeddings=64,
        final_logit_softcapping=3.0,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    return transformers.Gemma2ForCausalLM(config)


def lensable(arch, seed=0):
    """A tiny model whose norms have random weights: norming twice is then visible."""
    if arch == "gemma2":
        torch.manual_seed(seed)
        model = _gemma2().eval()
    else:
        model = tiny_model(arch, seed)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if "norm" in type(module).__name__.lower():
                for param in module.parameters():
                    param.add_(torch.randn(param.shape, generator=generator) * 0.5)
    return model


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


def _own_prediction(model, tokenizer, position=-1):
    inputs = tokenizer(TEXT, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0, position].float()
    probabilities = torch.softmax(logits, -1)
    top = int(probabilities.argmax())
    return tokenizer.decode([top]), float(probabilities[top])


@pytest.mark.parametrize("arch", LENS_ARCHS)
@pytest.mark.parametrize("final", ["normed", "raw"])
def test_the_last_layer_reads_what_the_model_predicts(arch, final, tokenizer):
    model = lensable(arch)
    stream = hf.residual_stream(model, tokenizer, TEXT, lens=5, final=final)
    assert len(stream.predictions) == stream.n_layers == 4
    assert all(len(layer) == 5 for layer in stream.predictions)
    token, probability = _own_prediction(model, tokenizer)
    assert stream.predictions[-1][0][0] == token
    assert stream.predictions[-1][0][1] == pytest.approx(probability, rel=1e-5)
    for layer in stream.predictions:
        probabilities = [p for _, p in layer]
        assert probabilities == sorted(probabilities, reverse=True)


def test_a_normed_last_layer_is_not_normed_twice(tokenizer):
    """TransformerLens issue #1076: a stream already through ln_f must not meet it again."""
    model = lensable("gpt2")
    normed = hf.residual_stream(model, tokenizer, TEXT, lens=3)
    raw = hf.residual_stream(model, tokenizer, TEXT, lens=3, final="raw")
    assert normed.layer_names[-1] == "block 2 + final norm" and raw.layer_names[-1] == "block 2"
    assert normed.predictions[:-1] == raw.predictions[:-1]
    assert [t for t, _ in normed.predictions[-1]] == [t for t, _ in raw.predictions[-1]]
    np.testing.assert_allclose(
        [p for _, p in normed.predictions[-1]], [p for _, p in raw.predictions[-1]], rtol=1e-5
    )
    # Norming it twice (what final="raw" on a normed stream does) reads something else.
    twice = hf.logit_lens(model, normed, k=3, tokenizer=tokenizer, final="raw")
    assert twice.predictions[-1] != normed.predictions[-1]


def test_every_layer_is_its_hidden_state_through_ln_f_and_the_head(tokenizer):
    model = lensable("gpt2")
    inputs = tokenizer(TEXT, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**inputs, output_hidden_states=True).hidden_states
        by_hand = [model.lm_head(model.transformer.ln_f(h[0, -1])) for h in hidden[:-1]]
        by_hand.append(model.lm_head(hidden[-1][0, -1]))  # already through ln_f
    stream = hf.residual_stream(model, tokenizer, TEXT, lens=4)
    for layer, logits in enumerate(by_hand):
        probabilities, ids = torch.topk(torch.softmax(logits, -1), 4)
        pairs = zip(probabilities, ids, strict=True)
        want = [(tokenizer.decode([int(i)]), float(p)) for p, i in pairs]
        got = stream.predictions[layer]
        assert [t for t, _ in got] == [t for t, _ in want]
        np.testing.assert_allclose([p for _, p in got], [p for _, p in want], rtol=1e-5)


def test_logit_lens_of_arrays_and_streams_agree(tokenizer):
    model = lensable("llama")
    inputs = tokenizer(TEXT, return_tensors="pt")
    stream = hf.residual_stream(model, tokenizer, TEXT, lens=5)
    plain = ResidualStream(stream.values, layer_names=stream.layer_names)
    again = hf.logit_lens(model, plain, tokenizer=tokenizer)
    assert again.predictions == stream.predictions
    with torch.no_grad():
        outputs = model(**inputs, output_hidden_states=True)
    array = hf.from_outputs(outputs, rows=4)
    lensed = hf.logit_lens(model, array, tokenizer=tokenizer, final="normed")
    assert [t for t, _ in lensed.predictions[-1]] == [t for t, _ in stream.predictions[-1]]
    # Without a tokenizer the tokens are their ids.
    ids = hf.logit_lens(model, stream, k=2)
    token_id = int(ids.predictions[-1][0][0].lstrip("#"))
    assert tokenizer.decode([token_id]) == stream.predictions[-1][0][0]


def test_half_precision_lens_matches_the_half_precision_model(tokenizer):
    model = lensable("gpt2").to(torch.bfloat16)
    stream = hf.residual_stream(model, tokenizer, TEXT, lens=1)
    assert stream.predictions[-1][0][0] == _own_prediction(model, tokenizer)[0]


def test_titles_read_the_top_prediction(tokenizer):
    model = lensable("gpt_neox")
    stream = hf.residual_stream(model, tokenizer, TEXT, lens=2, position="capital")
    token, probability = stream.predictions[2][0]
    assert stream.title(2) == f"block 1 · 'capital' → {token!r} {probability:.0%}"


def test_the_lens_survives_save_load_and_refold(tokenizer, tmp_path):
    model = lensable("gpt2")
    stream = hf.residual_stream(model, tokenizer, TEXT, lens=3)
    back = ResidualStream.load(stream.save(tmp_path / "lens.npz")).refold(2)
    assert back.predictions == stream.predictions and back.title(3) == stream.title(3)


@pytest.mark.parametrize(
    ("call", "err", "match"),
    [
        (lambda m, t, s: hf.logit_lens(m, s.values), ValueError, "cannot tell whether the last"),
        (lambda m, t, s: hf.logit_lens(m, s, k=0), ValueError, "k must be at least 1"),
        (lambda m, t, s: hf.logit_lens(m, s, k=129), ValueError, "k=129 is more than the 128"),
        (lambda m, t, s: hf.logit_lens(m, s, k=2.5), TypeError, "k must be a positive integer"),
        (lambda m, t, s: hf.logit_lens(m, s, final="x"), ValueError, "final must be 'normed'"),
        (
            lambda m, t, s: hf.logit_lens(m, s.values[:, :2], final="raw"),
            ValueError,
            "the stream is 16 wide but the model's output embedding reads 32",
        ),
        (
            lambda m, t, s: hf.logit_lens(m, np.full((4, 4, 8), np.nan), final="raw"),
            ValueError,
            r"layers \[0, 1, 2, 3\] hold NaN or inf",
        ),
        (
            lambda m, t, s: hf.residual_stream(m, t, TEXT, position=None, lens=3),
            ValueError,
            "lens= reads one position; position=None keeps every position",
        ),
        (
            lambda m, t, s: hf.logit_lens(m, hf.residual_stream(m, t, TEXT, position=None)),
            ValueError,
            r"reads one position; this stream keeps every position .* stream\.at",
        ),
        (lambda m, t, s: hf.residual_stream(m, t, TEXT, lens=0), ValueError, "lens must be at"),
        (lambda m, t, s: hf.residual_stream(m, t, TEXT, lens=True), TypeError, "lens must be a"),
    ],
)
def test_bad_lens_input(call, err, match, tokenizer):
    model = lensable("gpt2")
    stream = hf.residual_stream(model, tokenizer, TEXT)
    with pytest.raises(err, match=match):
        call(model, tokenizer, stream)


def test_a_head_that_transforms_first_is_refused(tokenizer):
    config = transformers.BertConfig(
        vocab_size=128,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
    )
    model = transformers.BertForMaskedLM(config).eval()
    stream = hf.capture(model, tokenizer(TEXT, return_tensors="pt"))
    with pytest.raises(ValueError, match=r"\(cls\.predictions\.decoder\) sits inside a larger"):
        hf.logit_lens(model, stream, final="normed")


def test_a_final_norm_the_lens_cannot_find_is_an_error(tokenizer):
    model = lensable("gpt2")
    # The norm the lens finds is not all that the blocks' owner does to the last block.
    norm = model.transformer.ln_f
    model.transformer.register_forward_hook(
        lambda module, args, out: type(out)(last_hidden_state=out.last_hidden_state * 2)
    )
    assert final_norm_of(model.transformer) is norm
    with pytest.raises(RuntimeError, match="is not its last block's output through the final"):
        hf.residual_stream(model, tokenizer, TEXT, lens=2)
    hf.residual_stream(model, tokenizer, TEXT)  # the stream alone is still drawn


# -- nnsight ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nnsight_lm(tokenizer):
    nnsight = pytest.importorskip("nnsight")
    model = lensable("gpt2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nnsight 0.8 calls LanguageModel deprecated
        wrapped = nnsight.LanguageModel(model, tokenizer=tokenizer)
    return model, wrapped


def test_nnsight_language_model_is_unwrapped(nnsight_lm, tokenizer):
    model, wrapped = nnsight_lm
    assert unwrap(wrapped) is model
    want = hf.residual_stream(model, tokenizer, TEXT, lens=3)
    got = hf.residual_stream(wrapped, None, TEXT, lens=3)  # the wrapper's own tokenizer
    np.testing.assert_array_equal(got, want)
    assert got.predictions == want.predictions and got.tokens == want.tokens
    inputs = tokenizer(TEXT, return_tensors="pt")
    np.testing.assert_array_equal(hf.capture(wrapped, inputs), hf.capture(model, inputs))
    np.testing.assert_array_equal(
        hf.capture(wrapped, inputs, blocks=wrapped.transformer.h), hf.capture(model, inputs)
    )
    lensed = hf.logit_lens(wrapped, want, k=3, tokenizer=tokenizer)
    assert lensed.predictions == want.predictions


def test_not_a_model():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module .* or an nnsight"):
        hf.capture(object(), torch.zeros((1, 2), dtype=torch.long))
    with pytest.raises(TypeError, match="tokenizer is None, and the model carries none"):
        hf.residual_stream(tiny_model("gpt2"), None, TEXT)


# -- load_model -----------------------------------------------------------------------------


def test_load_model_gives_a_causal_lm_with_its_head(tmp_path, tokenizer):
    model = lensable("llama")
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, loaded_tokenizer = hf.load_model(tmp_path, device="cpu")
    assert type(loaded).__name__ == "LlamaForCausalLM" and not loaded.training
    want = hf.residual_stream(model, tokenizer, TEXT, lens=2)
    got = hf.residual_stream(loaded, loaded_tokenizer, TEXT, lens=2)
    np.testing.assert_array_equal(got, want)
    assert got.predictions == want.predictions
    half, _ = hf.load_model(str(tmp_path), dtype="bfloat16")
    assert half.dtype == torch.bfloat16


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"dtype": "float8"}, ValueError, "dtype must be a torch.dtype or one of 'float32'"),
        ({"device": "gpu:0"}, ValueError, "device='gpu:0' is not a torch device"),
    ],
)
def test_load_model_bad_options(tmp_path, kwargs, err, match):
    with pytest.raises(err, match=match):
        hf.load_model(tmp_path, **kwargs)


def test_load_model_from_an_empty_folder_says_so(tmp_path):
    with pytest.raises(OSError, match=r"could not load a model from the folder '.*'"):
        hf.load_model(tmp_path, device="cpu")


def test_lens_of_a_model_offloaded_to_disk(tokenizer, tmp_path):
    """accelerate keeps offloaded weights on the meta device and loads them per call."""
    pytest.importorskip("accelerate")
    model = lensable("gpt2")
    model.save_pretrained(tmp_path / "model")
    device_map = {"transformer.wte": "cpu", "transformer.wpe": "cpu", "transformer.drop": "cpu"}
    device_map.update({f"transformer.h.{i}": "cpu" if i < 2 else "disk" for i in range(3)})
    # lm_head shares its weights with wte (tied), so it stays where wte is.
    device_map.update({"transformer.ln_f": "disk", "lm_head": "cpu"})
    dispatched = transformers.AutoModelForCausalLM.from_pretrained(
        tmp_path / "model", device_map=device_map, offload_folder=str(tmp_path / "offload")
    ).eval()
    assert dispatched.transformer.ln_f.weight.device.type == "meta"
    want = hf.residual_stream(model, tokenizer, TEXT, lens=3)
    got = hf.residual_stream(dispatched, tokenizer, TEXT, lens=3)
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert [[t for t, _ in layer] for layer in got.predictions] == [
        [t for t, _ in layer] for layer in want.predictions
    ]
