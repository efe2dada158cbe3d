"""`ResidualStream`: fields checked against each other, files that keep every character
and that stay cheap to refuse when they come from anywhere."""

import io
import json
import zipfile

import numpy as np
import pytest

from mpl_residual import ResidualStream, residual_grid

ODD = ("", "\x00", "tail\x00", "$$", "$x^2$", "مرحبا", "\ud800", " \t\n", "a" * 300)


def _stream(**kwargs):
    fields = {
        "tokens": ("The", " capital"),
        "layer_names": ("embeddings", "block 1", "block 2"),
        "position": 1,
        "model_name": "tiny",
        "d_model": 6,
    }
    return ResidualStream(np.arange(18, dtype=np.float32).reshape(3, 2, 3), **{**fields, **kwargs})


# -- fields checked against each other -----------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"layer_names": ("a", "b")}, ValueError, "2 layer names for 3 layers"),
        ({"position": 2}, IndexError, r"position=2 is out of range for 2 tokens; valid: -2 to 1"),
        ({"position": 1.0}, TypeError, "position must be an integer or a token's text; got"),
        ({"position": "Paris"}, ValueError, r"no token reads 'Paris'; the tokens are 'The', "),
        ({"special": (2,)}, IndexError, r"special must hold indices into the 2 tokens; got \[2\]"),
        ({"predictions": ((),)}, ValueError, "predictions for 1 layers of 3 layers"),
        ({"predictions": (((" a", 2.0),),) * 3}, ValueError, "the probability 2.0; expected 0 to"),
        ({"predictions": (((" a", float("nan")),),) * 3}, ValueError, "probability nan"),
        ({"predictions": ((("a",),),) * 3}, TypeError, r"\(token, probability\) pairs; got"),
        ({"predictions": (((3, 0.5),),) * 3}, TypeError, "a token of type int; tokens are str"),
        ({"predictions": ((("a", "x"),),) * 3}, TypeError, "probability 'x'; expected a number"),
        ({"predictions": (1, 2, 3)}, TypeError, r"predictions\[0\] must be a sequence of \(tok"),
        ({"predictions": 3}, TypeError, "predictions must be a sequence of one tuple"),
        ({"special": 0}, TypeError, "special must be a sequence of token indices; got int"),
        ({"special": ("a",)}, TypeError, "special must be token indices; got str 'a'"),
        ({"tokens": (), "position": -1}, ValueError, "counts from the end of tokens"),
        ({"d_model": 7}, ValueError, r"d_model=7 does not fit the 2 x 3 grid"),
        ({"d_model": 3}, ValueError, r"d_model=3 does not fit the 2 x 3 grid"),
        ({"d_model": 0}, ValueError, r"d_model=0 does not fit"),
        ({"tokens": "The capital"}, TypeError, "a sequence of str, not one str"),
        ({"tokens": ("a", 1)}, TypeError, "tokens must hold str only; got int 1"),
        ({"layer_names": ("a", None, "c")}, TypeError, "layer_names must hold str only"),
        ({"model_name": 3}, TypeError, "model_name must be a str or None"),
    ],
)
def test_fields_are_checked_against_each_other(kwargs, err, match):
    with pytest.raises(err, match=match):
        _stream(**kwargs)


def test_every_position_needs_one_token_each_and_no_position():
    values = np.zeros((3, 4, 2, 2), np.float32)
    with pytest.raises(ValueError, match="3 tokens for values with 4 positions"):
        ResidualStream(values, tokens=("a", "b", "c"))
    with pytest.raises(ValueError, match=r"position must be None .* pick one with \.at\(1\)"):
        ResidualStream(values, tokens=("a", "b", "c", "d"), position=1)


def test_values_shape_and_type():
    with pytest.raises(ValueError, match=r"\(layers, rows, cols\) or \(layers, tokens, rows"):
        ResidualStream(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="none of them empty"):
        ResidualStream(np.zeros((0, 2, 2)))
    with pytest.raises(TypeError, match="values must hold numbers"):
        ResidualStream(np.array([[["a"]]]))


def test_negative_position_is_stored_as_the_index_it_means():
    assert _stream(position=-1).position == 1 and _stream(position=-1).token == " capital"


def test_positions_count_back_from_the_last_word_and_name_tokens():
    tokens = ("[CLS]", "the", "city", "of", "paris", "[SEP]")
    values = np.zeros((2, 6, 2, 2), np.float32)
    every = ResidualStream(values, tokens=tokens, special=(5, 0))
    assert every.special == (0, 5)
    assert every.at(-1).token == "paris" and every.at(-1).position == 4
    assert every.at(-4).token == "the" and every.at(-5).token == "[CLS]"
    assert every.at(5).token == "[SEP]"
    assert every.at("PARIS").position == 4 and every.at(" city ").position == 2
    with pytest.raises(IndexError, match=r"position=-6 is out of range for 6 tokens counted back"):
        every.at(-6)
    with pytest.raises(ValueError, match=r"no token reads 'eiffel'; the tokens are '\[CLS\]'"):
        every.at("eiffel")
    with pytest.raises(ValueError, match="names no word"):
        every.at(" ")
    # The same rule when the stream is made, and without special tokens, from the end.
    one = values[:, 0]
    assert ResidualStream(one, tokens=tokens, special=(0, 5), position=-1).token == "paris"
    assert ResidualStream(one, tokens=tokens, position=-1).token == "[SEP]"
    with pytest.raises(ValueError, match="names a token, but this stream has no tokens"):
        ResidualStream(values).at("paris")


def test_the_last_matching_token_is_taken_whatever_its_marker():
    tokens = ("ĠThe", "Ġcat", "Ġsat", "▁on", "Ġthe", "##mat", "ĠCat")
    every = ResidualStream(np.zeros((1, 7, 1, 1)), tokens=tokens)
    assert every.at("the").position == 4
    assert every.at("cat").position == 6
    assert every.at("mat").position == 5 and every.at("on").position == 3


def test_predictions_make_the_title_and_survive_save_and_load(tmp_path):
    predictions = (((" Paris", 0.31), (" France", 0.2)), (("$", 0.004),), ((" a", 0.0001),))
    stream = _stream(predictions=predictions, special=(0,))
    assert stream.title(0) == "embeddings · ' capital' → ' Paris' 31%"
    assert stream.title(1) == "block 1 · ' capital' → '\\$' 0.4%"
    assert stream.title(2) == "block 2 · ' capital' → ' a' <0.1%"
    back = ResidualStream.load(stream.save(tmp_path / "p.npz"))
    assert back.predictions == predictions and back.special == (0,)
    assert back.refold(3).predictions == predictions
    no_token = ResidualStream(stream.values, predictions=predictions)
    assert no_token.title(0) == "layer 0 → ' Paris' 31%"
    quiet = _stream(predictions=((), (), ()))
    assert quiet.title(0) == "embeddings · ' capital'"


def test_predictions_belong_to_one_position():
    with pytest.raises(ValueError, match="predictions belong to one position"):
        ResidualStream(np.zeros((1, 2, 1, 1)), predictions=(((" a", 0.5),),))


def test_padding_fits_within_a_row():
    # 5 dimensions in 2 rows: 3 columns, one padding cell.
    assert _stream(d_model=5).d_model == 5


# -- files -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ODD)
def test_every_character_survives_save_and_load(tmp_path, text):
    predictions = (((text, 0.5),), (), ((text + "y", 1.0), ("z", 0.0)))
    stream = _stream(
        tokens=(text, text + "x"),
        layer_names=(text, "b", text),
        model_name=text,
        predictions=predictions,
    )
    back = ResidualStream.load(stream.save(tmp_path / "s.npz"))
    assert back.tokens == stream.tokens and back.predictions == predictions
    assert back.layer_names == stream.layer_names
    assert back.model_name == stream.model_name
    assert (back.position, back.d_model) == (1, 6)


def test_values_beyond_float32_are_not_rounded_to_inf(tmp_path):
    huge = np.full((2, 2, 2), 1e300)
    back = ResidualStream.load(ResidualStream(huge).save(tmp_path / "h.npz"))
    assert back.dtype == np.float64 and np.all(back.values == 1e300)
    small = ResidualStream(np.ones((2, 2, 2), np.float16))
    assert ResidualStream.load(small.save(tmp_path / "s.npz")).dtype == np.float32


def test_files_of_the_first_layout_still_load(tmp_path):
    path = tmp_path / "v1.npz"
    np.savez_compressed(
        path,
        values=np.zeros((3, 2, 3), np.float32),
        tokens=np.array(["The", " capital"]),
        layer_names=np.array(["embeddings", "block 1", "block 2"]),
        position=np.array(1),
        all_positions=np.array(False),
        model_name=np.array("tiny"),
        d_model=np.array(6),
    )
    back = ResidualStream.load(path)
    assert (back.tokens, back.position, back.model_name, back.d_model) == (
        ("The", " capital"),
        1,
        "tiny",
        6,
    )
    assert back.layer_names == ("embeddings", "block 0", "block 1")  # counted from 0 now


def test_files_that_counted_blocks_from_one_load_counted_from_zero(tmp_path):
    """Before the fourth round the stream after the first block was "block 1"; such a
    file's layers are renamed on load, and a file of this version is kept as it is."""
    import json

    path = tmp_path / "old.npz"
    old = {"tokens": ["a"], "position": 0, "layer_names": ["embeddings", "block 1",
           "block 2 + final norm"], "d_model": 6}  # fmt: skip
    np.savez(path, values=np.zeros((3, 2, 3), np.float32), labels=np.array(json.dumps(old)),
             format=np.array(2))  # fmt: skip
    loaded = ResidualStream.load(path)
    assert loaded.layer_names == ("embeddings", "block 0", "block 1 + final norm")
    assert ResidualStream.load(loaded.save(tmp_path / "new.npz")).layer_names == loaded.layer_names
    # names of one's own that only look like the old count survive a save of this version
    own = ResidualStream(np.zeros((3, 2, 3)), layer_names=("embeddings", "block 1", "block 2"))
    assert ResidualStream.load(own.save(tmp_path / "own.npz")).layer_names == own.layer_names


def test_labels_that_contradict_the_values_are_refused_on_load(tmp_path):
    path = tmp_path / "bad.npz"
    labels = {"tokens": ["a"], "position": 5, "layer_names": [], "d_model": None}
    np.savez(path, values=np.zeros((3, 2, 2)), labels=np.array(json.dumps(labels)), format=2)
    with pytest.raises(ValueError, match=r"bad\.npz' does not hold a valid stream: position=5"):
        ResidualStream.load(path)


def _npy_header(shape, dtype="<f4"):
    """A .npy header alone: a file that declares an array it does not hold."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def test_a_huge_declared_array_is_refused_before_decompression(tmp_path):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("values.npy", _npy_header((1 << 20, 64, 128)) + b"\0" * 1000)
    with pytest.raises(ValueError, match=r"declares a 1048576 x 64 x 128 float32 array of 32 GiB"):
        ResidualStream.load(path)
    npy = tmp_path / "bomb.npy"
    npy.write_bytes(_npy_header((1 << 40,)))
    with pytest.raises(ValueError, match=r"bomb\.npy' declares a .* more than max_bytes"):
        ResidualStream.load(npy)


def test_max_bytes_is_the_callers_to_set(tmp_path):
    path = _stream().save(tmp_path / "s.npz")
    with pytest.raises(ValueError, match="more than max_bytes=16 allows"):
        ResidualStream.load(path, max_bytes=16)
    assert ResidualStream.load(path, max_bytes=2000).shape == (3, 2, 3)


def _corrupt(tmp_path, how):
    path = tmp_path / f"{how}.npz"
    if how == "empty":
        path.write_bytes(b"")
        return path
    np.savez(path, values=np.arange(4000, dtype=np.float32).reshape(10, 20, 20))
    data = bytearray(path.read_bytes())
    if how == "truncated":
        del data[len(data) // 2 :]
    elif how == "bad_crc":
        data[len(data) // 2] ^= 0xFF  # inside the stored values
    elif how == "not_a_zip":
        data[:4] = b"JUNK"
        del data[-100:]
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how", ["empty", "truncated", "bad_crc", "not_a_zip"])
def test_corrupt_files_give_one_clear_error(tmp_path, how):
    path = _corrupt(tmp_path, how)
    with pytest.raises(ValueError, match=rf"'{path}' is not a readable \.npz file: \w"):
        ResidualStream.load(path)


def test_truncated_npy(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, np.zeros((5, 4, 4), np.float32))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"t\.npy' is not a readable \.npy file"):
        ResidualStream.load(path)


def test_objects_are_never_unpickled(tmp_path):
    path = tmp_path / "o.npz"
    np.savez(path, values=np.array([[[object()]]], dtype=object))
    with pytest.raises(ValueError, match="holds Python objects, which are never loaded"):
        ResidualStream.load(path)


# -- refolding and titles ---------------------------------------------------------------------


def test_refold_keeps_labels_and_drops_old_padding():
    from mpl_residual import to_grid

    flat = np.arange(3 * 10, dtype=np.float32).reshape(3, 10)
    padded = ResidualStream(to_grid(flat, 4, pad=True), tokens=("a",), position=0, d_model=10)
    assert padded.shape == (3, 4, 3)
    again = padded.refold(2)
    assert again.shape == (3, 2, 5) and again.tokens == ("a",) and again.d_model == 10
    np.testing.assert_array_equal(again.values.reshape(3, -1), flat)
    with pytest.raises(ValueError, match="rows=3 does not divide d_model=10"):
        padded.refold(3)
    assert padded.refold(3, pad=True).shape == (3, 3, 4)


@pytest.mark.parametrize("token", ["$$", "$x^2$", "\\$", "a\x00", "مرحبا"])
def test_titles_show_tokens_as_they_are(token):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    stream = _stream(tokens=("a", token))
    fig = FigureCanvasAgg(Figure()).figure
    ax = fig.add_subplot()
    residual_grid(stream, ax=ax, title=stream.title)
    fig.canvas.draw()  # "$$" used to fail here, in mathtext
    title = ax.title
    assert not title._preprocess_math(title.get_text())[1]  # never mathtext
    shown = title._preprocess_math(title.get_text())[0]
    assert shown == f"embeddings · {token!r}"


# -- titles name the layer ---------------------------------------------------------------------


def _normed_last():
    """A stream whose last layer is after the model's final norm, as hf names it."""
    return _stream(layer_names=("embeddings", "block 1", "block 2 + final norm"))


def test_a_normed_last_layer_is_titled_as_such_in_every_view(tmp_path):
    """Titles name the layer (changed on purpose: they used to read "layer 2", which let
    a normed last layer pass for a raw one)."""
    import re

    from matplotlib.figure import Figure

    from mpl_residual import animate, layer_sheet

    stream = _normed_last()
    assert stream.title(2) == "block 2 + final norm · ' capital'"
    anim = animate(stream, fig=Figure())
    anim.show_layer(2)
    assert anim.figure.axes[0].get_title() == "block 2 + final norm · ' capital'"
    assert anim.frame_names == ("embeddings", "block 1", "block 2 + final norm")
    html = anim.to_html()
    assert re.search(r'class="mr-frame">embeddings<', html)
    assert '"names":["embeddings","block 1","block 2 + final norm"]' in html
    sheet = layer_sheet(stream)
    # (a small panel breaks its title before the token)
    assert sheet.axes[2].get_title().replace("\n", " · ") == "block 2 + final norm · ' capital'"
    plain = ResidualStream(stream.values)  # no names: the index, as before
    assert plain.title(2) == "layer 2"


def test_the_command_line_titles_a_saved_stream_by_its_layer_names(tmp_path):
    import subprocess
    import sys

    _normed_last().save(tmp_path / "s.npz")
    subprocess.run(
        [sys.executable, "-m", "mpl_residual", "render", "--input", "s.npz", "-o", "s.svg"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={"MPLBACKEND": "Agg", "PATH": ""},
    )
    svg = (tmp_path / "s.svg").read_text()
    assert "block 2 + final norm" in svg  # as a comment or text, whatever svg.fonttype


def test_a_saved_stream_says_what_it_holds_and_is_read_as_every_file(tmp_path):
    import json

    from mpl_residual.files import file_kind

    path = _stream().save(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as data:
        held = {k: data[k] for k in data.files}
    labels = json.loads(str(held["labels"]))
    assert labels["kind"] == "mpl-residual stream" and labels["format"] == 3
    assert file_kind(path) == "stream"
    for change, said in [({"surprise": 1}, r"unknown labels \['surprise'\]"),
                         ({"kind": "mpl-residual decomposition"}, "not a file of stream"),
                         ({"position": 1e400}, "Infinity")]:  # fmt: skip
        held["labels"] = np.array(json.dumps({**labels, **change}))
        np.savez(tmp_path / "forged.npz", **held)
        with pytest.raises(ValueError, match=f"forged.npz' does not hold a valid stream.*{said}"):
            ResidualStream.load(tmp_path / "forged.npz")
