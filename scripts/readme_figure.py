"""
Make the README's pictures:

- docs/_static/residual.gif: what the README's first command writes
  (``mpl-residual render -o residual.gif``);
- docs/_static/quickstart.png: the README's quick start, in the blog_dark style.

Run from the repository root: ``python scripts/readme_figure.py``.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

root = Path(__file__).parents[1]
static = root / "docs" / "_static"

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(
        [sys.executable, "-m", "mpl_residual", "render", "-o", "residual.gif"],
        cwd=tmp,
        check=True,
    )
    shutil.copy(Path(tmp) / "residual.gif", static / "residual.gif")

quick_start = re.findall(r"```python\n(.*?)```", (root / "README.md").read_text(), re.S)[0]
with plt.style.context("mpl_residual.blog_dark"):
    namespace: dict = {}
    exec(quick_start.replace('fig.savefig("residual.png")', ""), namespace)  # noqa: S102
    namespace["fig"].savefig(static / "quickstart.png", dpi=120)

# The gallery's first images, for the README: from a docs build (`make -C docs html`).
built = root / "docs" / "_build" / "html" / "_images"
if built.is_dir():
    gallery = static / "gallery"
    gallery.mkdir(exist_ok=True)
    for name in (
        "02_blog_figure_001",
        "04_paper_sheet_001",
        "05_robust_scaling_001",
        "06_compare_prompts_001",
    ):
        shutil.copy(built / f"sphx_glr_plot_{name}.png", gallery / f"{name}.png")
else:
    print("docs not built: run `make -C docs html` first to refresh the gallery images")
