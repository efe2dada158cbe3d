"""Models dispatched by accelerate (``device_map="auto"``, weights offloaded to the disk):
every model-side function gives the in-memory model's numbers, on the CPU as float32."""

import numpy as np
import pytest

pytest.importorskip("accelerate")
pytest.importorskip("transformers")

from hf_models import tiny_model, tiny_tokenizer  # noqa: E402
from mpl_residual import hf  # noqa: E402

TEXT = "the capital of france is"
TEXTS = [TEXT, "the cat sat on the mat", "rome is the capital of italy"]


#: Blocks, final norm and head shared between the CPU and the disk.
MIXED = {
    "gpt2": {
        "transformer.wte": "cpu", "transformer.wpe": "cpu", "transformer.drop": "cpu",
        "transformer.h.0": "cpu", "transformer.h.1": "disk", "transformer.h.2": "cpu",
        "transformer.ln_f": "disk", "lm_head": "cpu",
    },
    "llama": {
        "model.embed_tokens": "cpu", "model.rotary_emb": "cpu", "model.layers.0": "disk",
        "model.layers.1": "cpu", "model.layers.2": "disk", "model.norm": "disk",
        "lm_head": "disk",
    },
}  # fmt: skip


def _offloaded(model) -> bool:
    return any(p.is_meta for p in model.parameters())


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def pair(request, tmp_path_factory):
    """(in memory, dispatched with everything on the disk, dispatched half CPU half disk,
    tokenizer) of one architecture."""
    folder = tmp_path_factory.mktemp(request.param)
    tiny_model(request.param).save_pretrained(folder / "model")
    tiny_tokenizer().save_pretrained(folder / "model")
    memory, tokenizer = hf.load_model(folder / "model", device="cpu")
    # A tiny max_memory: accelerate puts every weight on the disk.
    disk, _ = hf.load_model(folder / "model", device_map="auto", max_memory={"cpu": "40KB"},
                            offload_folder=folder / "disk")  # fmt: skip
    assert set(disk.hf_device_map.values()) == {"disk"} and _offloaded(disk)
    mixed_map = MIXED[request.param]
    mixed, _ = hf.load_model(folder / "model", device_map=mixed_map,
                             offload_folder=folder / "mixed")  # fmt: skip
    assert set(mixed.hf_device_map.values()) == {"cpu", "disk"} and _offloaded(mixed)
    return memory, disk, mixed, tokenizer


def _same(a, b, dtype=np.float32):
    assert b.dtype == dtype  # the statistics keep their float64 moments
    np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6 * float(np.abs(a).max()))


@pytest.mark.parametrize("which", [1, 2], ids=["disk", "cpu+disk"])
def test_decompose_with_and_without_heads(pair, which):
    memory, dispatched, tokenizer = pair[0], pair[which], pair[3]
    for heads in (False, True):
        want = hf.decompose(memory, tokenizer, TEXT, heads=heads)
        got = hf.decompose(dispatched, tokenizer, TEXT, heads=heads)
        assert got.names == want.names
        _same(want.values, got.values)
    assert _offloaded(dispatched)  # the weights went back to the disk


@pytest.mark.parametrize("which", [1, 2], ids=["disk", "cpu+disk"])
def test_logit_attribution(pair, which):
    memory, dispatched, tokenizer = pair[0], pair[which], pair[3]
    want = hf.logit_attribution(memory, tokenizer, TEXT, "paris", versus="rome", heads=True)
    got = hf.logit_attribution(dispatched, tokenizer, TEXT, "paris", versus="rome", heads=True)
    _same(want.values, got.values)
    assert got.total == pytest.approx(want.total, rel=1e-5)
    assert got.constant == pytest.approx(want.constant, rel=1e-5, abs=1e-7)
    assert got.components == pytest.approx(want.components, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("which", [1, 2], ids=["disk", "cpu+disk"])
def test_capture_stream_and_lens(pair, which):
    memory, dispatched, tokenizer = pair[0], pair[which], pair[3]
    inputs = tokenizer(TEXT, return_tensors="pt")
    for final in ("normed", "raw"):
        _same(hf.capture(memory, inputs, final=final), hf.capture(dispatched, inputs, final=final))
    want = hf.residual_stream(memory, tokenizer, TEXT, lens=3)
    got = hf.residual_stream(dispatched, tokenizer, TEXT, lens=3)
    _same(want.values, got.values)
    assert [[t for t, _ in p] for p in got.predictions] == [
        [t for t, _ in p] for p in want.predictions
    ]
    lensed = hf.logit_lens(dispatched, want, k=3, tokenizer=tokenizer)
    for a, b in zip(lensed.predictions, want.predictions, strict=True):
        assert [p for _, p in a] == pytest.approx([p for _, p in b], rel=1e-5)


@pytest.mark.parametrize("which", [1, 2], ids=["disk", "cpu+disk"])
def test_dimension_stats(pair, which):
    memory, dispatched, tokenizer = pair[0], pair[which], pair[3]
    want = hf.dimension_stats(memory, tokenizer, TEXTS, batch_size=2, progress=False)
    got = hf.dimension_stats(dispatched, tokenizer, TEXTS, batch_size=2, progress=False)
    for field in ("mean", "std", "mean_abs", "absmax"):
        _same(getattr(want, field), getattr(got, field), np.float64)
    assert got.n_tokens == want.n_tokens


@pytest.mark.parametrize("which", [1, 2], ids=["disk", "cpu+disk"])
def test_component_stats(pair, which):
    memory, dispatched, tokenizer = pair[0], pair[which], pair[3]
    for heads in (False, True):
        want = hf.component_stats(memory, tokenizer, TEXTS, heads=heads, batch_size=2,
                                  progress=False)  # fmt: skip
        got = hf.component_stats(dispatched, tokenizer, TEXTS, heads=heads, batch_size=2,
                                 progress=False)  # fmt: skip
        assert got.names == want.names and got.n_tokens == want.n_tokens
        for field in ("mean", "std", "mean_abs", "absmax", "share"):
            _same(getattr(want, field), getattr(got, field), np.float64)
    assert _offloaded(dispatched)


def test_load_model_checks_what_dispatch_is_given(tmp_path):
    with pytest.raises(ValueError, match="device_map must be one of 'auto'"):
        hf.load_model(tmp_path, device_map="everywhere")
    with pytest.raises(ValueError, match="pass one"):
        hf.load_model(tmp_path, device="cpu", device_map="auto")
    with pytest.raises(ValueError, match="go with device_map"):
        hf.load_model(tmp_path, max_memory={"cpu": "1GB"})
    with pytest.raises(TypeError, match="max_memory must be a dict"):
        hf.load_model(tmp_path, device_map="auto", max_memory="1GB")


# -- the command line --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpt2") / "model"
    tiny_model("gpt2").save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return folder


def test_the_commands_shard_a_model_with_device_map(folder, tmp_path):
    from mpl_residual import Decomposition, DimensionStats, ResidualStream
    from test_cli import run

    big = ["--model", str(folder), "--device-map", "auto", "--max-memory", "cpu=40KB",
           "--offload-folder", str(tmp_path / "offload")]  # fmt: skip
    run("capture", *big, "--prompt", TEXT, "-o", "big.npz", cwd=tmp_path, check_rc=0)
    run("capture", "--model", str(folder), "--prompt", TEXT, "-o", "small.npz", cwd=tmp_path,
        check_rc=0)  # fmt: skip
    _same(ResidualStream.load(tmp_path / "small.npz").values,
          ResidualStream.load(tmp_path / "big.npz").values)  # fmt: skip
    run("attribute", *big, "--prompt", TEXT, "--target", "paris", "--heads", "-o", "a.npz",
        cwd=tmp_path, check_rc=0)  # fmt: skip
    memory, tokenizer = hf.load_model(folder, device="cpu")
    want = hf.logit_attribution(memory, tokenizer, TEXT, "paris", heads=True)
    parts = Decomposition.load(tmp_path / "a.npz")
    _same(want.decomposition.values, parts.values)
    assert parts.attribution.total == pytest.approx(want.total, rel=1e-5)
    (tmp_path / "texts.txt").write_text("\n".join(TEXTS))
    run("stats", *big, "--texts", "texts.txt", "-o", "s.npz", cwd=tmp_path, check_rc=0)
    stats = DimensionStats.load(tmp_path / "s.npz")
    want = hf.dimension_stats(memory, tokenizer, TEXTS, progress=False)
    _same(want.absmax, stats.absmax, np.float64)
    # --dtype goes with them
    run("capture", *big, "--dtype", "bfloat16", "--prompt", TEXT, "-o", "b16.npz",
        cwd=tmp_path, check_rc=0)  # fmt: skip
    half = ResidualStream.load(tmp_path / "b16.npz").values
    np.testing.assert_allclose(half, ResidualStream.load(tmp_path / "small.npz").values,
                               atol=0.1)  # fmt: skip


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--device-map", "everywhere"], "argument --device-map: invalid choice"),
        (["--device-map", "auto", "--max-memory", "cpu"], "expected DEVICE=SIZE[,DEVICE=SIZE...]"),
        (["--device-map", "auto", "--max-memory", "0=70"], "e.g. 0=70GiB,cpu=200GiB; got '0=70'"),
        (["--device-map", "auto", "--max-memory", "cpu=-1GB"], "DEVICE=SIZE"),
        (["--max-memory", "cpu=1GB"], "--max-memory goes with --device-map"),
        (["--offload-folder", "x"], "--offload-folder goes with --device-map"),
        (["--device", "cpu", "--device-map", "auto"], "both place the model; pass one"),
    ],
)
def test_a_bad_dispatch_is_a_usage_error_showing_the_form(folder, tmp_path, options, said):
    from test_cli import run

    proc = run("capture", "--model", str(folder), "--prompt", TEXT, *options, "-o", "a.npz",
               cwd=tmp_path, check_rc=2)  # fmt: skip
    assert said in proc.stderr and proc.stderr.count("\n") == 1
    assert not (tmp_path / "a.npz").exists()
