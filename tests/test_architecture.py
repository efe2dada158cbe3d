"""The parts of ../shared/DESIGN.md and the arrows they keep, checked on the imports."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "mpl_residual"

#: Each module's part, lowest first; a module imports its own part or lower ones.
PARTS = {
    "Fold": {"grid", "_arrays", "_text"},
    "Scale": {"scaling"},
    "Data": {
        "stream",
        "stats",
        "sample",
        "_atomic",
        "_npzfile",
        "_positions",
        "normalize",
        "outliers",
    },
    "Artist": {
        "artist",
        "heatmap",
        "axes",
        "styles",
        "_layout",
        "_colorbar",
        "_layers",
        "_raster",
    },
    "Views": {
        "sheet",
        "slider",
        "notebook",
        "animation",
        "profile",
        "markers",
        "compare",
        "tokens",
    },
    "Export": {"export"},
    "Face": {"cli", "__main__", "__init__"},
}
ORDER = list(PARTS)
#: Beside the layers: the model side imports Fold and Data only (and its own helpers).
MODEL = {"hf", "tl", "_tokens"}
#: The one arrow upwards, lazily inside a method: an animation shows itself as the
#: player (`LayerAnimation.to_html`, `_repr_html_`, `to_jshtml`).
ALLOWED = {("animation", "export")}


def _part(module: str) -> str:
    for part, modules in PARTS.items():
        if module in modules:
            return part
    return "Model" if module in MODEL else "?"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        yield parts[0], path


def _imports(path: Path, top: str):
    """Our modules that *path* imports (relative imports), by their top-level name."""
    tree = ast.parse(path.read_text())
    inside_export = top == "export"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if inside_export and node.level == 1:
                continue  # within the export subpackage
            name = (node.module or "").split(".")[0]
            if name:
                yield name
            else:  # from . import hf
                yield from (alias.name for alias in node.names)


@pytest.mark.parametrize(("module", "path"), list(_modules()), ids=lambda v: str(v))
def test_every_arrow_points_down(module, path):
    part = _part(module)
    assert part != "?", f"{module} belongs to no part: add it to PARTS"
    for imported in _imports(path, module):
        if (module, imported) in ALLOWED or imported == module:
            continue
        target = _part(imported)
        assert target != "Face" or part == "Face", f"{module} imports the command line"
        if part == "Model":
            helper = target == "Model" and imported.startswith("_")
            assert target in ("Fold", "Data") or helper, (
                f"the model side {module} imports {imported}"
            )
            continue
        if part == "Face":
            continue  # the command line may use anything
        assert target != "Model", f"{module} ({part}) imports the model side"
        assert ORDER.index(target) <= ORDER.index(part), (
            f"{module} ({part}) imports {imported} ({target}), a part above it"
        )
