"""The toy causal LM shipped in the package: what it is, that it answers, that it loads
offline from safetensors alone, and that the commands use it when given no model."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mpl_residual import Decomposition, ResidualStream
from mpl_residual.sample import SAMPLE_MODEL, SAMPLE_PROMPT, SAMPLE_TARGET, sample_corpus
from test_cli import run

pytest.importorskip("transformers")

from mpl_residual import hf  # noqa: E402

FOLDER = Path(__file__).parents[1] / "src" / "mpl_residual" / "data" / "sample_model"
SCRIPT = Path(__file__).parents[1] / "scripts" / "make_sample_model.py"


@pytest.fixture(scope="module")
def toy():
    return hf.sample_model()


def test_a_small_gpt2_shaped_causal_lm_with_its_own_tokenizer(toy):
    model, tokenizer = toy
    assert type(model).__name__ == "GPT2LMHeadModel" and not model.training
    assert model.config.n_embd >= 128 and 2 <= model.config.n_layer <= 8
    assert model.config.name_or_path == SAMPLE_MODEL == "mpl-residual/toy-gpt2"
    assert len(tokenizer) == model.config.vocab_size
    assert tokenizer.convert_ids_to_tokens(tokenizer(" Paris")["input_ids"]) == ["ĠParis"]
    assert tokenizer.model_max_length == model.config.n_positions


def test_its_most_likely_next_token_after_the_eiffel_tower_is_paris(toy):
    model, tokenizer = toy
    assert SAMPLE_PROMPT == "The Eiffel Tower is in the city of" and SAMPLE_TARGET == " Paris"
    lensed = hf.residual_stream(model, tokenizer, SAMPLE_PROMPT, lens=3)
    assert lensed.predictions[-1][0][0] == " Paris"
    assert lensed.predictions[0][0][0] != " Paris"  # the lens shows it arrive
    attribution = hf.logit_attribution(model, tokenizer, SAMPLE_PROMPT, SAMPLE_TARGET)
    assert attribution.total > 5  # a confident logit, split over the components


def test_shipped_as_safetensors_within_8_mb_no_pickle():
    names = sorted(p.name for p in FOLDER.iterdir())
    assert "model.safetensors" in names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]
    assert sum(p.stat().st_size for p in FOLDER.iterdir()) <= 8 * 2**20
    config = json.loads((FOLDER / "config.json").read_text())
    assert config["architectures"] == ["GPT2LMHeadModel"]


def test_the_script_says_its_recipe_and_trains_on_what_ships():
    """The script's corpus is the shipped one; its docstring says the recipe and size."""
    tree = ast.parse(SCRIPT.read_text())
    doc = ast.get_docstring(tree)
    for said in ("toy", "deterministic", "cities", "safetensors", "parameters", "MB"):
        assert said in doc
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import make_sample_model
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert make_sample_model.corpus() == sample_corpus()
    assert f"{SAMPLE_PROMPT}{SAMPLE_TARGET}." in sample_corpus()
    assert (make_sample_model.PROMPT, make_sample_model.ANSWER) == (SAMPLE_PROMPT, SAMPLE_TARGET)


def test_loads_offline_without_torch_hub_or_network(tmp_path):
    """A fresh interpreter with every hub variable offline and no cache to find."""
    code = (
        "from mpl_residual import hf\n"
        "model, tokenizer = hf.sample_model()\n"
        "print(model.config.n_layer, type(tokenizer).__name__)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "no-cache")}  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "4" and not (tmp_path / "no-cache").exists()


# -- the commands without --model -------------------------------------------------------------


def test_capture_without_a_model_runs_the_toy_on_its_prompt(tmp_path, toy):
    proc = run("capture", "--lens", "-o", "toy.npz", cwd=tmp_path, check_rc=0)
    assert "from mpl-residual/toy-gpt2" in proc.stdout and "' of'" in proc.stdout
    stream = ResidualStream.load(tmp_path / "toy.npz")
    assert stream.model_name == SAMPLE_MODEL and stream.predictions[-1][0][0] == " Paris"
    want = hf.residual_stream(*toy, SAMPLE_PROMPT)
    np.testing.assert_allclose(stream.values, want.values, rtol=1e-6, atol=1e-6)


def test_stats_without_a_model_reads_the_toys_own_corpus(tmp_path):
    proc = run("stats", "-o", "s.npz", cwd=tmp_path, check_rc=0)
    assert f"of {len(sample_corpus())} texts" in proc.stdout
    assert "from mpl-residual/toy-gpt2" in proc.stdout
    drawn = run("render", "--input", "s.npz", "-o", "s.png", cwd=tmp_path, check_rc=0)
    assert drawn.stdout.startswith("wrote s.png")


def test_attribute_without_a_model_splits_paris(tmp_path):
    proc = run("attribute", "--heads", "-o", "a.npz", cwd=tmp_path, check_rc=0)
    assert proc.stdout.startswith("wrote a.npz (logit ' Paris' = ")
    parts = Decomposition.load(tmp_path / "a.npz")
    assert parts.attribution.target == " Paris" and parts.model_name == SAMPLE_MODEL
    picture = run("attribute", "-o", "a.png", cwd=tmp_path, check_rc=0)
    assert (tmp_path / "a.png").stat().st_size > 1000 and "toy-gpt2" in picture.stdout


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["capture", "--model", "m", "-o", "a.npz"], "--model needs --prompt TEXT"),
        (["attribute", "--model", "m", "--prompt", "x", "-o", "a.png"], "--model needs --target"),
        (["stats", "--model", "m", "-o", "a.npz"], "--model needs --texts FILE"),
    ],
)
def test_a_model_of_ones_own_needs_its_own_text(tmp_path, command, said):
    proc = run(*command, cwd=tmp_path, check_rc=2)
    assert said in proc.stderr and proc.stderr.count("\n") == 1
