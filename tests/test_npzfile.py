"""Files from anywhere: bounded before anything is inflated, every error one line."""

import io
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

from mpl_residual import DimensionStats, ResidualStream, load_sample
from mpl_residual.decomposition import Decomposition


def _zeros_member(archive: zipfile.ZipFile, name: str, shape: tuple, level: int = 9) -> None:
    """A member of *shape* float32 zeros, written in chunks (never whole in memory)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    size = int(np.prod(shape)) * 4
    chunk = bytes(min(size, 64 << 20))
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        member.write(header.getvalue())
        while size:
            member.write(chunk[: min(size, len(chunk))])
            size -= min(size, len(chunk))


def _bomb(path, shape=(8, 8192, 8192), *, extra=(), valid=False, level=9):
    """A zip bomb: 2 GiB of zeros in a few MB; with *valid*, a real stream beside it."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        if valid:
            with np.load(load_sample().save(path.with_suffix(".ok.npz"))) as good:
                for key in good.files:
                    with archive.open(f"{key}.npy", "w") as member:
                        np.lib.format.write_array(member, good[key])
        else:
            _zeros_member(archive, "values", shape, level)
        for name in extra:
            _zeros_member(archive, name, shape, level)
    return path


def _in_a_small_process(code: str, limit_gb: float = 1.5) -> subprocess.CompletedProcess:
    """Run *code* where the address space is capped: inflating a bomb would fail."""
    prelude = textwrap.dedent(
        f"""
        import resource, time
        soft = int({limit_gb} * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    return _bomb(tmp_path_factory.mktemp("bomb") / "bomb.npz")


def test_a_bomb_is_refused_before_it_is_inflated(bomb):
    assert bomb.stat().st_size < 8 * 2**20  # a few MB that would be 2 GiB
    proc = _in_a_small_process(
        f"""
        import mpl_residual as mr
        start = time.monotonic()
        try:
            mr.ResidualStream.load({str(bomb)!r})
        except ValueError as err:
            print(err)
        print(f"{{time.monotonic() - start:.2f}}")
        """
    )
    assert proc.returncode == 0, proc.stderr
    message, seconds = proc.stdout.strip().splitlines()
    assert "inflates" in message and "max_inflation=50" in message and "bomb.npz" in message
    assert float(seconds) < 3
    with pytest.raises(ValueError, match="more than max_bytes=1000000 allows"):
        ResidualStream.load(bomb, max_inflation=1e9, max_bytes=10**6)


def test_members_a_stream_does_not_use_are_never_inflated(tmp_path):
    shape = (8, 2048, 8192)  # 512 MiB each
    path = _bomb(tmp_path / "extra.npz", shape=shape, extra=("a", "b", "c"), valid=True, level=1)
    proc = _in_a_small_process(
        f"""
        import mpl_residual as mr
        start = time.monotonic()
        stream = mr.ResidualStream.load({str(path)!r})
        print(stream.shape, f"{{time.monotonic() - start:.2f}}")
        """,
        limit_gb=1.0,  # the three inflated would need 1.5 GiB
    )
    assert proc.returncode == 0, proc.stderr
    shape, seconds = proc.stdout.rsplit(" ", 1)
    assert shape == "(7, 16, 24)" and float(seconds) < 3


@pytest.mark.parametrize(
    ("kind", "load"),
    [("mpl-residual dimension stats", DimensionStats.load),
     ("mpl-residual decomposition", Decomposition.load)],
)  # fmt: skip
def test_statistics_and_decompositions_are_bounded_alike(tmp_path, kind, load):
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("labels.npy", _labels({"kind": kind}))
        _zeros_member(archive, "values" if "decomposition" in kind else "absmax",
                      (8, 1024, 8192), level=1)  # fmt: skip
    with pytest.raises(ValueError, match=r"bomb\.npz.* inflates .* times"):
        load(path)


def _labels(value) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array(json.dumps(value)))
    return buffer.getvalue()


def test_a_real_stream_of_zeros_still_loads(tmp_path):
    """Small arrays inflate as they like: a stream of zeros compresses 1000 times."""
    path = ResidualStream(np.zeros((13, 24, 32), np.float32)).save(tmp_path / "z.npz")
    assert ResidualStream.load(path).shape == (13, 24, 32)


# -- every error a corrupt file can raise is one ValueError naming it ---------------------------


def _flips(data: bytes, seed: int, n: int):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        flipped = bytearray(data)
        for at in rng.integers(0, len(data), rng.integers(1, 4)):
            flipped[at] ^= 1 << int(rng.integers(0, 8))
        yield bytes(flipped)


@pytest.mark.parametrize(
    "kind", ["stream.npz", "stream.npy", "statistics.npz", "decomposition.npz"]
)
def test_random_byte_flips_only_ever_give_a_value_error_naming_the_file(tmp_path, kind):
    name, suffix = kind.split(".")
    source = tmp_path / f"source.{suffix}"
    if name == "stream" and suffix == "npz":
        load_sample().save(source)
        load = ResidualStream.load
    elif name == "stream":
        np.save(source, load_sample().values)
        load = ResidualStream.load
    elif name == "statistics":
        from test_stats import _stats

        _stats().save(source)
        load = DimensionStats.load
    else:
        values = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
        names = ("embeddings", "block 0 attn", "block 0 mlp", "block 1 attn", "block 1 mlp")
        Decomposition(values, names).save(source)
        load = Decomposition.load
    data = source.read_bytes()
    target = tmp_path / f"flipped.{suffix}"
    seen = set()
    for flipped in _flips(data, seed=len(kind), n=750):
        target.write_bytes(flipped)
        try:
            load(target)
        except ValueError as err:
            assert "flipped" in str(err), err
            assert "\n" not in str(err)
            seen.add(type(err).__name__)
        # a flip that changes nothing that matters loads: fine too
    assert seen  # the fuzz did hit something


def test_a_folder_is_no_file(tmp_path):
    folder = tmp_path / "x.npz"
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="no such file"):
        ResidualStream.load(folder)  # not a file


def test_refusals_are_quick(tmp_path):
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(2000):
            archive.writestr(f"junk{i}.npy", b"x")
        archive.writestr("values.npy", b"not an array")
    start = time.monotonic()
    with pytest.raises(ValueError, match="many.npz"):
        ResidualStream.load(path)
    assert time.monotonic() - start < 2
