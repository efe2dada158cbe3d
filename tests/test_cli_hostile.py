"""The command line under attack: extreme numbers, closed streams, hostile text in files,
options that used to be ignored, work that grows with the layer count."""

import os
import subprocess
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from mpl_residual import ResidualStream, load_sample
from test_cli import EXE, run


def _one_error_line(proc):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.mark.parametrize("dpi", ["1e308", "1e-3", "inf", "0", "-5"])
def test_extreme_resolutions_are_usage_errors(tmp_path, dpi):
    for out in ("x.png", "x.gif"):
        proc = run("render", f"--dpi={dpi}", "-o", out, cwd=tmp_path, check_rc=2)
        assert "dpi" in _one_error_line(proc)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--vmin=1e308"], "colour limits go to"),
        (["--mark", "factor:inf"], "--mark factor:inf"),
        (["--mark", "factor:nan"], "--mark factor:nan"),
        (["--mark", "top:0"], "--mark top:0"),
        (["--rows", "99999999999"], "--rows"),
        (["--fps", "1e308"], "--fps"),
        (["--position", "99999999999999999999"], "--position"),
    ],
)
def test_extreme_numbers_are_usage_errors(tmp_path, args, said):
    proc = run("render", *args, "-o", "x.gif", cwd=tmp_path, check_rc=2)
    assert said in _one_error_line(proc)


def test_a_closed_stdout_is_no_failure(tmp_path):
    proc = subprocess.run(
        f"'{EXE}' render -o x.png | true; echo \"${{PIPESTATUS[0]}}\" >&2",
        shell=True,
        executable="/bin/bash",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )
    assert proc.stderr.strip() == "0"  # no BrokenPipeError, and the file is written
    assert (tmp_path / "x.png").stat().st_size > 0


def test_names_an_encoding_cannot_spell_or_that_hold_terminal_escapes(tmp_path):
    stream = load_sample()
    named = "modèle \x1b[2J\x1b]0;PWNED\x07"
    ResidualStream(stream.values, model_name=named, tokens=stream.tokens,
                   layer_names=stream.layer_names, position=stream.position).save(
        tmp_path / "s.npz"
    )  # fmt: skip
    proc = run("render", "--input", "s.npz", "-o", "x.png", cwd=tmp_path,
               env={"PYTHONIOENCODING": "ascii"}, check_rc=0)  # fmt: skip
    assert (tmp_path / "x.png").stat().st_size > 0
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "mod\\xe8le \\x1b[2J\\x1b]0;PWNED\\x07" in proc.stdout
    info = run("info", "s.npz", cwd=tmp_path, check_rc=0).stdout
    assert "\x1b" not in info and "\\x1b[2J" in info


@pytest.mark.parametrize("view", [["--tokens"], ["--profile", "rms"]])
@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_control_characters_in_tokens_and_layer_names_make_well_formed_files(
    tmp_path, view, suffix
):
    values = np.random.default_rng(0).standard_normal((3, 4, 2, 3)).astype(np.float32)
    stream = ResidualStream(
        values if view == ["--tokens"] else values[:, 1],
        tokens=("\x00a", "b\x01", "\x0bc", "d\ud800"),
        layer_names=("embed\x00dings", "block\x0b1", "block 2\x1b[0m"),
        position=None if view == ["--tokens"] else 1,
    )
    stream.save(tmp_path / "s.npz")
    run("render", "--input", "s.npz", "--style", "paper", *view, "-o", f"x{suffix}",
        cwd=tmp_path, check_rc=0)  # fmt: skip
    data = (tmp_path / f"x{suffix}").read_bytes()
    if suffix == ".svg":
        ElementTree.fromstring(data)  # well-formed XML, or this raises
        text = data.decode()
        assert "\\x00" in text or "\\x0b" in text  # shown, escaped
    else:
        assert data.startswith(b"%PDF") and b"\x00a" not in data


# -- options that used to be ignored, and input that used to escape -------------------------


def test_a_position_on_statistics_is_refused_even_zero(tmp_path, minilm_folder):
    (tmp_path / "c.txt").write_text("The cat sat.\nParis is nice.\n")
    run("stats", "--model", minilm_folder, "--texts", "c.txt", "-o", "s.npz", cwd=tmp_path,
        check_rc=0)  # fmt: skip
    for position in ("0", "1", "-1"):
        proc = run("render", "--input", "s.npz", "--position", position, "-o", "x.png",
                   cwd=tmp_path, check_rc=2)  # fmt: skip
        assert "--position: 's.npz' holds statistics over every token" in _one_error_line(proc)


def test_an_empty_token_is_a_usage_error(tmp_path):
    proc = run("render", "--token", "", "-o", "x.gif", cwd=tmp_path, check_rc=2)
    assert "--token" in _one_error_line(proc)


def test_standard_input_closed_or_not_utf8(tmp_path, minilm_folder):
    proc = subprocess.run(
        f"'{EXE}' stats --model '{minilm_folder}' --texts - -o s.npz 0<&-",
        shell=True,
        executable="/bin/bash",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert proc.returncode == 2 and "standard input is closed" in _one_error_line(proc)
    bad = subprocess.run(
        [str(EXE), "stats", "--model", minilm_folder, "--texts", "-", "-o", "s.npz"],
        input=b"the cat sat\n\xff\xfe not text\n",
        cwd=tmp_path,
        capture_output=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert bad.returncode == 2, bad.stderr
    assert b"line 2 of standard input is not UTF-8" in bad.stderr
    assert not (tmp_path / "s.npz").exists()


def test_max_length_is_honoured_and_long_texts_are_cut_to_the_model(tmp_path, minilm_folder):
    from mpl_residual import DimensionStats

    (tmp_path / "c.txt").write_text("the cat sat on the mat\nparis is the capital of france\n")
    run("stats", "--model", minilm_folder, "--texts", "c.txt", "--max-length", "3",
        "-o", "three.npz", cwd=tmp_path, check_rc=0)  # fmt: skip
    three = DimensionStats.load(tmp_path / "three.npz")
    assert three.n_tokens == 2 and three.max_length == 3  # [CLS] one word [SEP], a text
    # [CLS] alone: nothing to count, which --special (a flag of this command) would count
    proc = run("stats", "--model", minilm_folder, "--texts", "c.txt", "--max-length", "1",
               "-o", "one.npz", cwd=tmp_path, check_rc=2)  # fmt: skip
    assert "pass --special" in proc.stderr
    (tmp_path / "long.txt").write_text(" ".join(["word"] * 3000) + "\nshort text\n")
    proc = run("stats", "--model", minilm_folder, "--texts", "long.txt", "-o", "l.npz",
               cwd=tmp_path, check_rc=0)  # fmt: skip
    notes = [line for line in proc.stderr.splitlines() if "note:" in line]
    assert len(notes) == 1 and "cut to it: 2,490 tokens dropped" in notes[0], proc.stderr
    long = DimensionStats.load(tmp_path / "l.npz")
    assert long.dropped_tokens == 2490 and long.n_tokens == 510 + 2


def test_five_thousand_layers_refuse_with_a_way_to_pick_fewer(tmp_path):
    np.save(tmp_path / "many.npy", np.zeros((5000, 2, 2), np.float32))
    for out in ("x.png", "x.gif", "x.mp4", "x.html"):
        proc = run("render", "--input", "many.npy", "-o", out, cwd=tmp_path, check_rc=2)
        assert "--layers ::" in _one_error_line(proc)
    run("render", "--input", "many.npy", "--layers", "::20", "-o", "x.png", cwd=tmp_path,
        check_rc=0)  # fmt: skip
