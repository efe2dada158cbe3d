"""`hf.component_stats` and `ComponentStats`: every field against a brute force over
`decompose` at every position, merges, files, views, the CLI and two processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import mpl_residual as mr  # noqa: E402
from hf_models import tiny_model, tiny_tokenizer  # noqa: E402
from mpl_residual import hf  # noqa: E402
from mpl_residual.cli import main  # noqa: E402
from mpl_residual.component_stats import FIELDS, ComponentMoments, ComponentStats  # noqa: E402
from mpl_residual.errors import EmptyCorpus, NotDecomposable  # noqa: E402
from mpl_residual.files import file_kind  # noqa: E402
from mpl_residual.sample import sample_corpus  # noqa: E402

HERE = Path(__file__).parent
#: Texts of several lengths, so that every batch is padded.
WORDS = "the capital of france is paris and germany berlin city eiffel tower in a".split()
TINY_TEXTS = [" ".join(WORDS[i % 7 : i % 7 + 2 + i % 9]) for i in range(11)]


@pytest.fixture(scope="module")
def toy():
    return hf.sample_model()


@pytest.fixture(scope="module")
def toy_texts():
    return list(sample_corpus())[:13]


def _subjects():
    return {
        "toy": lambda: (*hf.sample_model(), list(sample_corpus())[:13]),
        "gpt2": lambda: (tiny_model("gpt2"), tiny_tokenizer(), TINY_TEXTS),
        "llama": lambda: (tiny_model("llama"), tiny_tokenizer(), TINY_TEXTS),
    }


def _brute_force(model, tokenizer, texts, *, heads):
    """(components, tokens, d_model) float64 from `decompose` at every counted position,
    and each token's (text, position); the names."""
    writes, where, names = [], [], None
    specials = set(tokenizer.all_special_ids)
    for number, text in enumerate(texts):
        ids = tokenizer(text)["input_ids"]
        for position, token in enumerate(ids):
            if token in specials:
                continue
            parts = hf.decompose(model, tokenizer, text, position=position, heads=heads)
            flat = parts.values.reshape(len(parts), -1)[:, : parts.d_model]
            writes.append(flat.astype(np.float64))
            where.append((number, position))
            names = parts.names
    return np.stack(writes, axis=1), where, names


def _close(got, expected):
    """Equal to 1e-6 of the field's scale: a padded batch runs other kernels than one
    text, and a decomposition keeps float32."""
    scale = np.nanmax(np.abs(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("heads", [False, True], ids=["whole", "heads"])
@pytest.mark.parametrize("subject", ["toy", "gpt2", "llama"])
def test_every_field_equals_decompose_at_every_position(subject, heads):
    model, tokenizer, texts = _subjects()[subject]()
    stats = hf.component_stats(model, tokenizer, texts, heads=heads, batch_size=4,
                               progress=False)  # fmt: skip
    w, where, names = _brute_force(model, tokenizer, texts, heads=heads)
    assert stats.names == names
    assert stats.n_tokens == w.shape[1] and stats.n_texts == len(texts)
    flat = lambda name: stats.field(name).reshape(len(stats), -1)[:, : stats.d_model]  # noqa: E731
    x = w.sum(axis=0)  # the stream the writes add up to
    _close(flat("mean"), w.mean(axis=1))
    _close(flat("std"), w.std(axis=1))
    _close(flat("mean_abs"), np.abs(w).mean(axis=1))
    _close(flat("absmax"), np.abs(w).max(axis=1))
    _close(flat("share"), (w * x).sum(axis=1) / (x * x).sum(axis=0))
    np.testing.assert_array_equal(flat("count"), w.shape[1])
    np.testing.assert_allclose(np.nansum(flat("share"), axis=0), 1.0, atol=1e-9)
    # where: the brute force's largest |write|, wherever it stands clear of the next
    ordered = np.sort(np.abs(w), axis=1)
    clear = ordered[:, -1] - ordered[:, -2] > 1e-4 * np.abs(w).max()
    best = np.abs(w).argmax(axis=1)
    for c, d in zip(*np.nonzero(clear), strict=True):
        text, position, token = stats.where(int(c), int(d))
        assert (text, position) == where[best[c, d]]
        ids = tokenizer(texts[text])["input_ids"]
        assert token == tokenizer.decode([ids[position]])


def test_heads_split_what_attention_writes(toy, toy_texts):
    whole = hf.component_stats(*toy, toy_texts, progress=False)
    split = hf.component_stats(*toy, toy_texts, heads=True, progress=False)
    assert split.heads and not whole.heads
    for block in range(4):
        parts = [n for n in split.names if n.startswith(f"block {block} ")
                 and n != f"block {block} mlp"]  # fmt: skip
        summed = sum(split.moments.mean[split.names.index(n)] for n in parts)
        np.testing.assert_allclose(
            summed, whole.moments.mean[whole.names.index(f"block {block} attn")],
            rtol=1e-5, atol=1e-7,
        )  # fmt: skip


def test_batches_do_not_change_the_result(toy, toy_texts):
    one = hf.component_stats(*toy, toy_texts, batch_size=1, progress=False)
    many = hf.component_stats(*toy, toy_texts, batch_size=13, progress=False)
    for name in FIELDS:
        _close(many.field(name), one.field(name))


def test_merge_is_exact_and_associative(toy, toy_texts):
    whole = hf.component_stats(*toy, toy_texts, batch_size=4, progress=False)
    a, b, c = (hf.component_stats(*toy, toy_texts[i:j], batch_size=4, progress=False)
               for i, j in ((0, 4), (4, 8), (8, 13)))  # fmt: skip
    left, right = a.merge(b).merge(c), a.merge(b.merge(c))
    for name in FIELDS:
        np.testing.assert_allclose(left.field(name), right.field(name), rtol=1e-12)
        _close(left.field(name), whole.field(name))
    assert left.n_texts == right.n_texts == 13
    np.testing.assert_array_equal(left.moments.where_text, right.moments.where_text)
    np.testing.assert_array_equal(left.moments.where_text, whole.moments.where_text)
    assert left.where("block 2 mlp", 5) == whole.where("block 2 mlp", 5)


def test_merge_refuses_statistics_made_otherwise(toy, toy_texts):
    plain = hf.component_stats(*toy, toy_texts[:3], progress=False)
    split = hf.component_stats(*toy, toy_texts[:3], heads=True, progress=False)
    with pytest.raises(ValueError, match="names="):
        plain.merge(split)
    with pytest.raises(ValueError, match="pad=True"):
        plain.merge(plain.refold(5, pad=True))
    with pytest.raises(TypeError, match="ComponentStats"):
        plain.merge(object())


def test_streaming_takes_any_iterable_and_refuses_a_str(toy, toy_texts):
    from_generator = hf.component_stats(*toy, (t for t in toy_texts), progress=False)
    from_list = hf.component_stats(*toy, toy_texts, progress=False)
    np.testing.assert_array_equal(from_generator.mean, from_list.mean)
    with pytest.raises(TypeError, match="one str"):
        hf.component_stats(*toy, "The Eiffel Tower", progress=False)
    with pytest.raises(EmptyCorpus):
        hf.component_stats(*toy, [], progress=False)


def test_no_hidden_states_are_asked_for(toy, toy_texts, monkeypatch):
    model, tokenizer = toy
    seen = []
    forward = model.transformer.forward

    def spy(*args, **kwargs):
        seen.append(kwargs.get("output_hidden_states"))
        return forward(*args, **kwargs)

    monkeypatch.setattr(model.transformer, "forward", spy)
    hf.component_stats(model, tokenizer, toy_texts[:2], progress=False)
    assert seen and not any(seen)


def test_a_post_norm_model_is_refused_in_one_line(minilm_folder):
    import transformers

    model = transformers.AutoModel.from_pretrained(minilm_folder).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_folder)
    with pytest.raises(NotDecomposable, match="post-norm"):
        hf.component_stats(model, tokenizer, ["a sentence"], progress=False)


# -- files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved(toy, toy_texts, tmp_path_factory):
    stats = hf.component_stats(*toy, toy_texts, heads=True, progress=False)
    path = tmp_path_factory.mktemp("stats") / "components.npz"
    stats.save(path)
    return stats, path


def test_save_and_load_round_trip_without_pickles(saved):
    stats, path = saved
    back = ComponentStats.load(path)
    assert back.names == stats.names and back.tokens == stats.tokens
    assert (back.n_texts, back.model_name, back.special) == (stats.n_texts, stats.model_name,
                                                             stats.special)  # fmt: skip
    for name in FIELDS:
        np.testing.assert_array_equal(back.field(name), stats.field(name))
    assert back.where("block 1 head 3", 9) == stats.where("block 1 head 3", 9)
    np.load(path, allow_pickle=False)  # nothing in it needs a pickle
    assert file_kind(path) == "components"


def _forged(path, tmp_path, *, labels=None, arrays=None):
    with np.load(path, allow_pickle=False) as data:
        held = {k: data[k] for k in data.files}
    said = json.loads(str(held["labels"]))
    said.update(labels or {})
    held["labels"] = np.array(json.dumps(said))
    held.update(arrays or {})
    forged = tmp_path / "forged.npz"
    np.savez(forged, **held)
    return forged


@pytest.mark.parametrize(
    "labels, arrays, said",
    [
        (None, {"count": np.full(41, -5)}, "counts must be one non-negative"),
        (None, {"count": np.arange(41)}, "counts must be one"),
        (None, {"count": np.full(41, 2**60)}, "at most 2\\^53"),
        (None, {"mean": np.zeros((40, 128))}, "one count per component"),
        (None, {"absmax": np.zeros((41, 3))}, "moments absmax is"),
        (None, {"energy": np.zeros(3)}, "energy"),
        (None, {"m2": -np.ones((41, 128))}, "negative"),
        (None, {"where_text": np.full((41, 128), 10**6)}, "must index the"),
        ({"names": ["embeddings", "block 7 mlp"] * 20 + ["block 9 mlp"]}, None, "component"),
        ({"names": ["x"] * 41}, None, "component names"),
        ({"n_texts": -1}, None, "n_texts"),
        ({"pickle": True}, None, "unknown labels"),
        ({"kind": "mpl-residual dimension stats"}, None, "not a file of component"),
        ({"format": 99}, None, "format 99"),
    ],
)
def test_a_file_whose_labels_lie_is_refused_in_one_line(saved, tmp_path, labels, arrays, said):
    _, path = saved
    forged = _forged(path, tmp_path, labels=labels, arrays=arrays)
    with pytest.raises(ValueError, match=said) as caught:
        ComponentStats.load(forged)
    assert "forged.npz" in str(caught.value) and "\n" not in str(caught.value)


def test_a_truncated_or_missing_file_is_refused(saved, tmp_path):
    _, path = saved
    cut = tmp_path / "cut.npz"
    cut.write_bytes(path.read_bytes()[:4000])
    with pytest.raises(ValueError, match="cut.npz"):
        ComponentStats.load(cut)
    with pytest.raises(FileNotFoundError):
        ComponentStats.load(tmp_path / "none.npz")
    np.savez(tmp_path / "pickled.npz", labels=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        ComponentStats.load(tmp_path / "pickled.npz")


def test_a_failed_save_leaves_the_old_file(saved, tmp_path, monkeypatch):
    stats, _ = saved
    target = tmp_path / "kept.npz"
    target.write_bytes(b"old")

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full)
    with pytest.raises(OSError):
        stats.save(target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["kept.npz"]


# -- views ----------------------------------------------------------------------------


def test_contributions_bar_each_components_mean_write(saved):
    stats, _ = saved
    fig, ax = plt.subplots()
    bars = mr.contributions(stats, 9, ax=ax, top=5)
    mean = stats.writes([9])[:, 0]
    top = np.argsort(-stats.writes([9], field="mean_abs")[:, 0], kind="stable")[:5]
    np.testing.assert_allclose([b.get_width() for b in bars], mean[top])
    labels = [t.get_text() for t in ax.get_yticklabels()][::-1]
    assert labels == [stats.names[i] for i in top]
    assert "mean write over" in ax.get_xlabel()
    plt.close(fig)


def test_head_grid_shows_each_heads_mean_write_and_any_field(saved):
    stats, _ = saved
    fig, ax = plt.subplots()
    image = mr.head_grid(stats, 9, ax=ax)
    expected = np.array([[stats.writes([9])[stats.names.index(f"block {b} head {h}"), 0]
                          for h in range(8)] for b in range(4)])  # fmt: skip
    np.testing.assert_allclose(image.get_array(), expected)
    assert image.norm.vmin == -image.norm.vmax  # signed: centred on 0
    image = mr.head_grid(stats, 9, ax=ax, field="absmax")
    assert image.norm.vmin == 0 and np.all(image.get_array() >= 0)
    with pytest.raises(ValueError, match="one dim"):
        mr.head_grid(stats, [1, 2], ax=ax, field="std")
    with pytest.raises(TypeError, match="dims="):
        mr.head_grid(stats, ax=ax)
    plt.close(fig)


def test_any_field_draws_as_components(saved):
    stats, _ = saved
    fig, ax = plt.subplots()
    artist = mr.residual_grid(stats.stream("std"), layer=3, ax=ax)
    np.testing.assert_allclose(artist.get_array().filled(np.nan), stats.std[3], rtol=1e-6)
    plt.close(fig)
    sheet = mr.layer_sheet(stats.stream("mean"), layers=range(6))
    titles = [a.get_title() for a in sheet.axes if a.get_visible() and a.get_title()]
    assert titles[0] == "embeddings" and "head 0" in titles[1]
    plt.close(sheet)
    with pytest.raises(ValueError, match="field must be one of"):
        stats.stream("max_ratio")


def test_a_model_that_makes_inf_is_shown_not_refused(toy_texts, recwarn):
    model, tokenizer = hf.sample_model()
    with torch.no_grad():
        model.transformer.h[1].mlp.c_proj.weight[0, 5] = float("inf")
    stats = hf.component_stats(model, tokenizer, toy_texts[:3], heads=True, progress=False)
    assert np.isinf(stats.writes([5], field="absmax")[stats.names.index("block 1 mlp"), 0])
    fig, (bars_ax, heads_ax) = plt.subplots(1, 2)
    bars = mr.contributions(stats, 5, ax=bars_ax)
    assert all(np.isfinite(b.get_width()) for b in bars)
    labels = [t.get_text() for t in bars_ax.get_yticklabels()]
    assert any(label.endswith("(NaN)") or "inf)" in label for label in labels)
    image = mr.head_grid(stats, 5, ax=heads_ax)
    assert np.isfinite(image.norm.vmax) and image.get_array().mask.any()  # grey, not a scale
    fig.canvas.draw()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    plt.close(fig)


def test_where_names_its_component_and_dimension(saved):
    stats, _ = saved
    assert stats.where("block 0 mlp", 3) == stats.where(stats.names.index("block 0 mlp"), 3)
    with pytest.raises(KeyError, match="no component"):
        stats.where("block 9 mlp", 3)
    with pytest.raises(IndexError):
        stats.where(0, 128)


# -- the command line -----------------------------------------------------------------


def test_cli_stats_components_info_and_render(tmp_path, capsys):
    os.chdir(tmp_path)
    assert main(["stats", "--components", "--heads", "-o", "w.npz"]) == 0
    assert "41 components x 128 dims" in capsys.readouterr().out
    assert main(["info", "w.npz"]) == 0
    said = capsys.readouterr().out
    assert "component statistics: 41 components (heads split)" in said
    assert "largest mean writes" in said
    assert main(["render", "--input", "w.npz", "--field", "absmax", "--layers", "0:3",
                 "-o", "w.png"]) == 0  # fmt: skip
    assert (tmp_path / "w.png").stat().st_size > 1000
    capsys.readouterr()
    assert main(["render", "--input", "w.npz", "--field", "max_ratio", "-o", "x.png"]) == 2
    assert "component statistics" in capsys.readouterr().err
    assert main(["stats", "--heads", "-o", "x.npz"]) == 2
    assert "--components" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "x.png").exists()


# -- two processes --------------------------------------------------------------------


@pytest.mark.parametrize("launcher", ["torchrun", "accelerate"])
def test_two_processes_equal_one(tmp_path, launcher):
    from test_hf_stats import LAUNCHERS

    if launcher == "accelerate":
        pytest.importorskip("accelerate")
    texts = list(sample_corpus())[:20]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(texts))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, *LAUNCHERS[launcher], str(HERE / "component_stats_worker.py"),
         str(corpus), str(tmp_path / "two.npz")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    two = ComponentStats.load(tmp_path / "two.npz")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers: the same float32 sums
    try:
        one = hf.component_stats(*hf.sample_model(), texts, heads=True, batch_size=3,
                                 progress=False)  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    assert (two.n_tokens, two.n_texts, two.names) == (one.n_tokens, one.n_texts, one.names)
    for name in FIELDS:
        np.testing.assert_allclose(two.field(name), one.field(name), rtol=1e-9, atol=1e-12)
    for name in ("where_text", "where_position"):
        np.testing.assert_array_equal(getattr(two.moments, name), getattr(one.moments, name))
    assert two.tokens and two.where(5, 7) == one.where(5, 7)


def test_moments_refuse_mismatched_shapes():
    zeros = np.zeros((2, 3))
    whole = np.zeros((2, 3), np.int64)
    with pytest.raises(ValueError, match="energy"):
        ComponentMoments(np.ones(2, np.int64), zeros, zeros, zeros, zeros, whole, whole,
                         whole, zeros, np.zeros(4))  # fmt: skip
