"""Make docs/_static/quickstart.png: the README's quick start, in the blog_dark style."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

root = Path(__file__).parents[1]
quick_start = re.findall(r"```python\n(.*?)```", (root / "README.md").read_text(), re.S)[0]
with plt.style.context("mpl_residual.blog_dark"):
    namespace: dict = {}
    exec(quick_start.replace('fig.savefig("residual.png")', ""), namespace)  # noqa: S102
    namespace["fig"].savefig(root / "docs/_static/quickstart.png", dpi=120)
