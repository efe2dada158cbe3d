"""`mpl-residual attribute` and `mpl-residual info`, run as a user would."""

import numpy as np
import pytest

from mpl_residual import Decomposition, ResidualStream, load_sample
from test_cli import run

PROMPT = "the capital of france is"


@pytest.fixture(scope="module")
def lm_folder(tmp_path_factory):
    """A tiny random GPT-2 with its LM head and a word-level tokenizer, in a folder."""
    pytest.importorskip("transformers")
    from hf_models import tiny_model, tiny_tokenizer

    folder = tmp_path_factory.mktemp("tiny-gpt2")
    tiny_model("gpt2").save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return str(folder)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_a_figure_of_the_attribution_and_its_writers(tmp_path, lm_folder, suffix):
    proc = run("attribute", "--model", lm_folder, "--prompt", PROMPT, "--target", "paris",
               "--versus", "london", "-o", f"a{suffix}", cwd=tmp_path, check_rc=0)  # fmt: skip
    assert proc.stdout.startswith(f"wrote a{suffix} (logit 'paris' − 'london' = ")
    assert "at 'is'; largest share: " in proc.stdout
    assert (tmp_path / f"a{suffix}").stat().st_size > 1000


def test_npz_keeps_the_decomposition_and_the_attribution(tmp_path, lm_folder):
    from mpl_residual import hf

    run("attribute", "--model", lm_folder, "--prompt", PROMPT, "--target", "paris",
        "--heads", "--token", "capital", "-o", "a.npz", cwd=tmp_path, check_rc=0)  # fmt: skip
    parts = Decomposition.load(tmp_path / "a.npz")
    model, tokenizer = hf.load_model(lm_folder, device="cpu")
    want = hf.logit_attribution(model, tokenizer, PROMPT, "paris", position="capital", heads=True)
    assert parts.names == want.decomposition.names and "block 0 head 3" in parts.names
    np.testing.assert_allclose(parts.values, want.decomposition.values, atol=1e-6)
    assert parts.attribution.total == pytest.approx(want.total, abs=1e-5)
    assert parts.token == "capital"
    drawn = run("render", "--input", "a.npz", "-o", "w.gif", cwd=tmp_path, check_rc=0)
    assert f"{len(parts.names)} frames" in drawn.stdout
    info = run("info", "a.npz", cwd=tmp_path, check_rc=0).stdout
    assert "a decomposition: 19 components" in info and "block 2 mlp" in info
    assert "attribution: logit 'paris' = " in info


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--target", "paris france"], "--target: target='paris france' is 2 tokens, not one"),
        (["--target", "paris", "--versus", "the cat"], "--versus: versus='the cat' is 2 tokens"),
        (["--target", "9999"], "target=9999 is not a token id of a vocabulary of 128"),
        (["--target", "paris", "--token", "rome"], "--token: no token reads 'rome'"),
        (["--target", "paris", "--position", "9"], "--position 9: position=9 is out of range"),
        (["--target", "paris", "-o", "a.gif"], "cannot tell what to write from the suffix"),
    ],
)
def test_usage_errors(tmp_path, lm_folder, args, said):
    options = ["--model", lm_folder, "--prompt", PROMPT, "-o", "a.png", *args]
    proc = run("attribute", *options, cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode in (1, 2) and len(lines) == 1, proc.stderr
    assert said in lines[0]
    assert proc.returncode == 2 or "vocabulary" in said


def test_a_post_norm_model_is_one_line(tmp_path, minilm_folder):
    proc = run("attribute", "--model", minilm_folder, "--prompt", "paris is nice",
               "--target", "nice", "-o", "a.png", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2 and "output embedding" in proc.stderr  # no LM head: --model


# -- info ----------------------------------------------------------------------------------------


def test_info_lists_what_a_stream_holds(tmp_path):
    load_sample(position=None).save(tmp_path / "every.npz")
    load_sample().save(tmp_path / "one.npz")
    every = run("info", "every.npz", cwd=tmp_path, check_rc=0).stdout
    assert "a residual stream of every position: 7 x 13 x 16 x 24 float32" in every
    assert "d_model 384 folded 16 x 24" in every
    assert "     0  '[CLS]' *" in every and "    11  'paris'" in every
    assert "pick one with --position N or --token WORD" in every
    assert "     6  block 5" in every
    one = run("info", "one.npz", cwd=tmp_path, check_rc=0).stdout
    assert ">   11  'paris'" in one and "position: 11 'paris'" in one


def test_info_of_statistics_and_of_bad_files(tmp_path):
    from test_stats import _stats

    _stats(n_texts=50, model_name="m").save(tmp_path / "s.npz")
    said = run("info", "s.npz", cwd=tmp_path, check_rc=0).stdout
    assert "dimension statistics: 3 layers x d_model 24" in said
    assert "counted: 50 tokens of 50 texts" in said and "max_ratio" in said
    assert run("info", "nope.npz", cwd=tmp_path, check_rc=2).stderr.count("\n") == 1
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really")
    proc = run("info", "bad.npz", cwd=tmp_path, check_rc=1)
    assert proc.stderr.count("\n") == 1 and "bad.npz" in proc.stderr
    np.save(tmp_path / "a.npy", np.zeros((3, 2, 2), np.float32))
    assert "a residual stream: 3 x 2 x 2" in run("info", "a.npy", cwd=tmp_path, check_rc=0).stdout
    assert ResidualStream.load(tmp_path / "a.npy").shape == (3, 2, 2)
