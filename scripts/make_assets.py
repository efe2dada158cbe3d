"""
Make every image and animation that the README and the docs show, from the code as it
is now:

- ``docs/_static/residual.gif``: what the README's first command writes
  (``mpl-residual render -o residual.gif``), the README's and the docs' headline;
- ``docs/_static/quickstart.png``: the README's quick start, in the ``blog_dark`` style;
- ``docs/_static/gallery/*.png``: the first figure of four gallery examples, for the
  README's table (the docs' own gallery is drawn by its build, from the same files).

Run from anywhere::

    python scripts/make_assets.py            # write them all
    python scripts/make_assets.py --check    # write nothing; say which are stale

``tests/test_assets.py`` runs the check: an asset is stale when its size or frame count
differs from what the code draws now, or when fewer than 99% of the pixels of any frame
are the same.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "docs" / "_static"
#: The least share of a frame's pixels that must be the same for an asset to be current.
SAME = 0.99
#: The gallery examples whose first figure the README shows.
GALLERY = ("02_blog_figure", "04_paper_sheet", "05_robust_scaling", "06_compare_prompts")


def _headline(out: Path) -> None:
    """The README's first command, run as written (in-process, so no PATH is needed)."""
    from mpl_residual.cli import main

    if main(["render", "-o", str(out)]) != 0:
        raise RuntimeError("`mpl-residual render -o residual.gif` failed")


def _quick_start(out: Path) -> None:
    """The README's first Python block, in the blog_dark style."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.findall(r"```python\n(.*?)```", readme, re.S)[0]
    block = block.replace('fig.savefig("residual.png")', "")
    import mpl_residual as mr

    with matplotlib.rc_context(), mr.style_context("blog_dark"):
        namespace: dict = {}
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
        namespace["fig"].savefig(out, dpi=120)
    plt.close("all")


def _example(name: str) -> Callable[[Path], None]:
    """The first figure that ``examples/plot_<name>.py`` makes, as its gallery shows it."""

    def make(out: Path) -> None:
        script = ROOT / "examples" / f"plot_{name}.py"
        plt.close("all")
        with matplotlib.rc_context():
            matplotlib.rcdefaults()  # as sphinx-gallery resets matplotlib
            matplotlib.use("Agg")
            namespace = {"__name__": "__main__", "__file__": str(script)}
            cwd = os.getcwd()
            os.chdir(script.parent)
            # its animations are played by the docs build, not here
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Animation was deleted")
                try:
                    code = compile(script.read_text(encoding="utf-8"), str(script), "exec")
                    exec(code, namespace)  # noqa: S102
                    first = plt.figure(plt.get_fignums()[0])
                    first.savefig(out, facecolor=first.get_facecolor(), edgecolor="none")
                finally:
                    os.chdir(cwd)
                    plt.close("all")
                    namespace.clear()
                    gc.collect()

    return make


#: Each asset, by its path under the repository root, and what makes it.
ASSETS: dict[str, Callable[[Path], None]] = {
    "docs/_static/residual.gif": _headline,
    "docs/_static/quickstart.png": _quick_start,
    **{f"docs/_static/gallery/{name}_001.png": _example(name) for name in GALLERY},
}


def frames(path: Path) -> list[np.ndarray]:
    """Every frame of an image file (one for a PNG), as RGB arrays."""
    from PIL import Image, ImageSequence

    with Image.open(path) as image:
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(image)]


def differences(old: Path, new: Path) -> list[str]:
    """How *old* differs from *new*, beyond `SAME`: [] when it is current."""
    before, after = frames(old), frames(new)
    if len(before) != len(after):
        return [f"{len(before)} frames, now {len(after)}"]
    found = []
    for k, (a, b) in enumerate(zip(before, after, strict=True)):
        if a.shape != b.shape:
            was, now = (f"{x.shape[1]} x {x.shape[0]} px" for x in (a, b))
            found.append(f"frame {k}: {was}, now {now}")
            continue
        same = float(np.all(a == b, axis=-1).mean())
        if same < SAME:
            found.append(f"frame {k}: {same:.1%} of its pixels the same")
    return found


def make(name: str, out: Path) -> Path:
    """Draw the asset *name* (a key of `ASSETS`) into *out*."""
    out.parent.mkdir(parents=True, exist_ok=True)
    ASSETS[name](out)
    return out


def stale(names: list[str]) -> dict[str, list[str]]:
    """The assets among *names* that differ from what the code draws now, and how."""
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            fresh = make(name, Path(tmp) / Path(name).name)
            current = ROOT / name
            said = differences(current, fresh) if current.exists() else ["missing"]
            if said:
                found[name] = said
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("names", nargs="*", help="assets to make (default: all)")
    parser.add_argument("--check", action="store_true", help="write nothing; list stale assets")
    args = parser.parse_args(argv)
    names = args.names or list(ASSETS)
    unknown = [name for name in names if name not in ASSETS]
    if unknown:
        parser.error(f"unknown assets {unknown}; expected some of {list(ASSETS)}")
    if args.check:
        found = stale(names)
        for name, said in found.items():
            print(f"{name}: stale ({'; '.join(said)})")
        return 1 if found else 0
    for name in names:
        target = ROOT / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:  # whole, or not at all
            os.replace(make(name, Path(tmp) / target.name), target)
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
