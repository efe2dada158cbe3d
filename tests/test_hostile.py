"""Hostile input, round four: sizes taken from files and flags are bounded before any
work, text that matplotlib or a page would parse is shown as it is, and every refusal is
one line.  Each test here failed before this round (see the fourth round's notes)."""

import json
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from io import BytesIO

import numpy as np
import pytest
from matplotlib.figure import Figure

import mpl_residual as mr
from mpl_residual import Decomposition, DimensionStats, ResidualStream
from mpl_residual._npzfile import write_npz
from mpl_residual._text import printable
from mpl_residual.errors import TooManyCells
from test_cli import EXE, run
from test_cli_hostile import _one_error_line

# -- bounded work ----------------------------------------------------------------------------


def test_a_decomposition_naming_block_1e11_is_refused_on_load(tmp_path):
    names = ["embeddings", "block 0 attn", "block 0 mlp", "block 100000000000 mlp"]
    labels = {"kind": "mpl-residual decomposition", "format": 1, "names": names}
    write_npz(tmp_path / "d.npz", values=np.zeros((4, 2, 2), np.float32),
              labels=np.array(json.dumps(labels)))  # fmt: skip
    with pytest.raises(ValueError, match=r"d\.npz.*block 100000000000 after block 0"):
        Decomposition.load(tmp_path / "d.npz")
    assert "block 100000000000" in _one_error_line(run("info", "d.npz", cwd=tmp_path))


def test_grids_of_more_cells_than_a_picture_shows_are_refused_up_front(tmp_path):
    with pytest.raises(TooManyCells, match=r"4096 x 4097 = 16,781,312 cells .*at most 4,194,304"):
        mr.residual_grid(np.zeros((1, 4096, 4097), np.float32), ax=Figure().subplots())
    np.save(tmp_path / "big.npy", np.zeros((1, 4096, 4097), np.float32))
    for out in ("x.png", "x.gif", "x.html"):
        proc = run("render", "--input", "big.npy", "-o", out, cwd=tmp_path, check_rc=2)
        assert "at most 4,194,304" in _one_error_line(proc)
        assert not (tmp_path / out).exists()


def test_the_tokenizer_never_sees_more_of_a_line_than_max_length_keeps():
    pytest.importorskip("transformers")
    from mpl_residual import hf
    from mpl_residual.model.text import CHARS_PER_TOKEN

    model, tokenizer = hf.sample_model()
    seen = []
    real = type(tokenizer).__call__

    def spy(self, text, *args, **kwargs):
        seen.extend([text] if isinstance(text, str) else list(text))
        return real(self, text, *args, **kwargs)

    line = "Paris is nice. " * 200_000  # 3 MB
    type(tokenizer).__call__ = spy
    try:
        stats = hf.dimension_stats(model, tokenizer, [line], max_length=16, progress=False)
    finally:
        type(tokenizer).__call__ = real
    assert max(map(len, seen)) <= max(16 * CHARS_PER_TOKEN, 2**16)
    assert stats.n_tokens <= 16 and stats.dropped_tokens > 500_000


def test_info_refuses_what_becomes_gigabytes_as_floats(tmp_path):
    rng = np.random.default_rng(0)
    np.savez_compressed(tmp_path / "b.npz", values=rng.random((40, 1000, 1000)) < 0.1)
    proc = run("info", "b.npz", cwd=tmp_path, check_rc=1)
    assert "as floats" in _one_error_line(proc) and "max_inflation" in proc.stderr


def _stats_file(tmp_path, name, **change):
    from test_stats import _stats

    path = _stats(n_texts=50).save(tmp_path / f"{name}.npz")
    with np.load(path) as saved:
        arrays = {key: saved[key] for key in saved.files}
    labels = json.loads(str(arrays["labels"]))
    for key, value in change.items():
        if key in labels:
            labels[key] = value
        else:
            arrays[key] = value
    arrays["labels"] = np.array(json.dumps(labels))
    return write_npz(tmp_path / f"{name}.npz", **arrays)


def test_counts_past_what_float64_counts_exactly_are_refused(tmp_path):
    big = _stats_file(tmp_path, "big", count=np.full(3, 2**64 - 1, np.uint64))
    with pytest.raises(ValueError, match=r"counts must be at most 2\^53"):
        DimensionStats.load(big)
    texts = _stats_file(tmp_path, "texts", n_texts=10**30)
    with pytest.raises(ValueError, match=r"n_texts must be at most 2\^53"):
        DimensionStats.load(texts)
    assert "2^53" in _one_error_line(run("info", "texts.npz", cwd=tmp_path))


# -- text that matplotlib or a page would parse ------------------------------------------------


def test_layer_names_that_would_end_a_script_stay_in_the_data():
    stream = ResidualStream(np.random.default_rng(0).standard_normal((2, 2, 3)),
                            layer_names=("<!--<script>", "</script><b>x&"))  # fmt: skip
    fig = Figure()
    html = mr.animate(stream, fig=fig).to_html()
    data = html.split('class="mr-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and ">" not in data and "&" not in data
    assert json.loads(data)["names"] == ["<!--<script>", "</script><b>x&"]
    assert "<!--" not in html.replace("<!-- ", "")  # no comment opened by a name


@pytest.mark.parametrize("quantity", ["\x00nul", "$$", "{" * 400 + "x" + "}" * 400, "a$x^2$"])
def test_a_quantity_from_a_file_is_drawn_as_it_is(quantity):
    stream = ResidualStream(np.ones((2, 2, 3)), quantity=quantity)
    fig = Figure()
    artist = mr.residual_grid(stream, ax=fig.subplots(), colorbar=True)
    svg = BytesIO()
    fig.savefig(svg, format="svg")
    ET.fromstring(svg.getvalue())  # it parses
    label = artist.colorbar.ax.get_ylabel()
    assert "\x00" not in label and "$" not in label.replace("\\$", "")


@pytest.mark.parametrize("kind", ["stream", "decomposition"])
def test_labels_nested_100000_deep_are_one_line_naming_the_file(tmp_path, kind):
    text = "[" * 100_000
    if kind == "stream":
        write_npz(tmp_path / "x.npz", values=np.zeros((2, 2, 2), np.float32),
                  labels=np.array(text), format=np.array(2))  # fmt: skip
        load = ResidualStream.load
    else:
        write_npz(tmp_path / "x.npz", values=np.zeros((3, 2, 2), np.float32),
                  labels=np.array(text))  # fmt: skip
        load = Decomposition.load
    with pytest.raises(ValueError, match=r"x\.npz.*nest deeper than 32"):
        load(tmp_path / "x.npz")
    assert "x.npz" in _one_error_line(run("info", "x.npz", cwd=tmp_path))


def _attribution_file(tmp_path, **change):
    names = ["embeddings", "block 0 attn", "block 0 mlp"]
    parts = Decomposition(np.ones((3, 4, 8), np.float32), names)
    attribution = mr.Attribution(np.full((4, 8), 0.5, np.float32), constant=0.5,
                                 components={"embeddings": 8.0, "block 0 attn": 4.0,
                                             "block 0 mlp": 4.0},
                                 target=" Paris", target_id=3, decomposition=parts)  # fmt: skip
    path = attribution.save(tmp_path / "a.npz")
    assert Decomposition.load(path).attribution.total == pytest.approx(16.5)
    with np.load(path) as saved:
        arrays = {key: saved[key] for key in saved.files}
    labels = json.loads(str(arrays["labels"]))
    for key, value in change.items():
        if key == "values":
            arrays["attribution"] = value
        else:
            labels["attribution"][key] = value
    arrays["labels"] = np.array(json.dumps(labels))
    return write_npz(tmp_path / "bad.npz", **arrays)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"components": [["embeddings", 5e6], ["block 0 attn", 4.0], ["block 0 mlp", 4.0]]},
         "its components add up to"),
        ({"values": np.ones((100, 3), np.float32)}, "its attribution is (100, 3)"),
        ({"target": [" Paris"]}, "its target must be a token's text and id"),
        ({"constant": math.nan}, "NaN"),
    ],
)  # fmt: skip
def test_an_attribution_that_does_not_hold_what_it_says_is_refused(tmp_path, change, said):
    path = _attribution_file(tmp_path, **change)
    with pytest.raises(ValueError) as raised:
        Decomposition.load(path)
    assert said in str(raised.value) and "bad.npz" in str(raised.value)
    assert said in _one_error_line(run("info", "bad.npz", cwd=tmp_path, check_rc=1))


# -- exits and messages ----------------------------------------------------------------------


def test_an_unknown_mplbackend_is_one_note_not_a_traceback(tmp_path):
    proc = run("--version", cwd=tmp_path, env={"MPLBACKEND": "bogus"}, check_rc=0)
    assert proc.stdout.startswith("mpl-residual ") and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        "mpl-residual: note: MPLBACKEND='bogus' is not a matplotlib backend; ignored"
    )
    run("render", "--layers", "0:2", "-o", "x.png", cwd=tmp_path, env={"MPLBACKEND": "bogus"},
        check_rc=0)  # fmt: skip
    code = "import warnings, mpl_residual"
    env = {**os.environ, "MPLBACKEND": "bogus"}
    said = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert said.returncode == 0 and "is not a backend matplotlib knows" in said.stderr


@pytest.mark.parametrize("suffix", [".html", ".gif", ".png", ".svg"])
def test_an_output_name_of_any_bytes_is_written(tmp_path, suffix):
    name = os.fsdecode(b"o\xff") + suffix
    proc = run("render", "--layers", "0:2", "-o", name, cwd=tmp_path, check_rc=0)
    assert (tmp_path / name).stat().st_size > 0 and "o\\udcff" in proc.stdout


def test_a_prompt_longer_than_the_model_reads_says_how_long_and_how_to_cut(tmp_path):
    pytest.importorskip("transformers")
    prompt = "Paris is nice. " * 40
    proc = run("capture", "--prompt", prompt, "-o", "x.npz", cwd=tmp_path, check_rc=2)
    line = _one_error_line(proc)
    assert "has 281 tokens, and the model reads at most 64; cut it with --max-length 64" in line
    run("capture", "--prompt", prompt, "--max-length", "64", "-o", "x.npz", cwd=tmp_path,
        check_rc=0)  # fmt: skip
    assert ResidualStream.load(tmp_path / "x.npz").tokens.__len__() == 64
    proc = run("attribute", "--prompt", prompt, "-o", "a.png", cwd=tmp_path, check_rc=2)
    assert "the model reads at most 64" in _one_error_line(proc)


@pytest.mark.parametrize("dpi", ["1", "5", "1e9"])
@pytest.mark.parametrize("command", ["render", "attribute"])
def test_every_command_that_draws_checks_its_dpi_once(tmp_path, command, dpi):
    if command == "attribute":
        pytest.importorskip("transformers")
    proc = run(command, "--dpi", dpi, "-o", "x.png", cwd=tmp_path, check_rc=2)
    assert "--dpi" in _one_error_line(proc) and not (tmp_path / "x.png").exists()


# -- low: what is printed, and where it goes -----------------------------------------------------


def test_bidi_overrides_and_line_separators_are_printed_as_escapes(tmp_path):
    names = ("embeddings", "block 0 \u202egnp.exe", "block 1\u2028x")
    ResidualStream(np.zeros((3, 2, 2), np.float32), layer_names=names,
                   model_name="evil\u202emodel").save(tmp_path / "s.npz")  # fmt: skip
    said = run("info", "s.npz", cwd=tmp_path, check_rc=0).stdout
    assert "\u202e" not in said and "\u2028" not in said
    assert "\\u202e" in said and "\\u2028" in said
    name = "o\u202eut.png"
    proc = run("render", "--layers", "0:2", "-o", name, cwd=tmp_path, check_rc=0)
    assert "\u202e" not in proc.stdout and "o\\u202eut.png" in proc.stdout
    assert printable("שלום $") == "שלום $"  # right-to-left letters are kept


def test_values_past_a_colorbar_say_what_to_do_on_the_command_line(tmp_path):
    np.save(tmp_path / "h.npy", np.full((2, 2, 3), 1e308))
    line = _one_error_line(run("render", "--input", "h.npy", "-o", "h.png", cwd=tmp_path,
                               check_rc=2))  # fmt: skip
    assert "--normalize rms" in line and "colorbar=False" not in line
    run("render", "--input", "h.npy", "--normalize", "rms", "-o", "h.png", cwd=tmp_path,
        check_rc=0)  # fmt: skip


def test_ctrl_c_during_an_mp4_is_one_line_and_leaves_nothing(tmp_path):
    import signal
    import time

    np.save(tmp_path / "long.npy", np.random.default_rng(0).standard_normal((1500, 64, 128),
                                                                         dtype=np.float32))
    cmd = [str(EXE), "render", "--input", "long.npy", "-o", "long.mp4"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "MPLBACKEND": "Agg"})  # fmt: skip
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".mr-*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the writing has begun
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err == "mpl-residual render: error: interrupted\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.npy"]


def test_a_full_standard_output_is_an_error(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    ResidualStream(np.zeros((2, 2, 2), np.float32)).save(tmp_path / "s.npz")
    with open("/dev/full", "w") as full:
        proc = subprocess.run([str(EXE), "info", "s.npz"], cwd=tmp_path,
                              stdout=full, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.startswith("mpl-residual info: error: could not write to standard output")


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "folder"])
def test_texts_that_are_no_file_say_what_they_are(tmp_path, special):
    pytest.importorskip("transformers")
    if special == "fifo":
        os.mkfifo(tmp_path / "fifo")
    elif special == "folder":
        (tmp_path / "folder").mkdir()
    proc = run("stats", "--texts", special, "-o", "s.npz", cwd=tmp_path, check_rc=2)
    assert "not a regular file" in _one_error_line(proc) and "--texts -" in proc.stderr


def test_a_line_with_no_end_and_a_corpus_of_nothing(tmp_path):
    pytest.importorskip("transformers")
    proc = run("stats", "--texts", "-", "-o", "s.npz", cwd=tmp_path, stdin="x" * (65 * 2**20),
               check_rc=2)  # fmt: skip
    assert "longer than 67,108,864 bytes" in _one_error_line(proc)
    proc = run("stats", "--texts", "-", "-o", "s.npz", cwd=tmp_path, stdin="\n\n", check_rc=2)
    line = _one_error_line(proc)
    assert "pass --special" in line and "special=True" not in line


def test_advice_for_a_token_sheet_never_goes_in_circles(tmp_path):
    ResidualStream(np.zeros((300, 4, 2, 3), np.float32),
                   tokens=("a", "b", "c", "d")).save(tmp_path / "t.npz")  # fmt: skip
    said = [_one_error_line(run("render", "--input", "t.npz", "--tokens", *layers, "-o", "t.png",
                                cwd=tmp_path, check_rc=2))
            for layers in ([], ["--layers", "::2"])]  # fmt: skip
    assert all(line.endswith("--layers ::5") for line in said)
    run("render", "--input", "t.npz", "--tokens", "--layers", "::5", "-o", "t.png",
        cwd=tmp_path, check_rc=0)  # fmt: skip


def test_a_symlink_loop_as_output_is_refused_and_kept(tmp_path):
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    line = _one_error_line(run("render", "-o", "loop.png", cwd=tmp_path, check_rc=2))
    assert "symlink that loops" in line and loop.is_symlink()
