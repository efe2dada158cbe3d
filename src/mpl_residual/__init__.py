"""
mpl-residual: a transformer's residual stream as matplotlib heatmaps.

The residual stream (the hidden-state vector after every layer) is folded into a
``rows x cols`` grid (`to_grid`) and drawn as a heatmap (`residual_grid`, which returns a
`ResidualStreamArtist` that can switch layers in place).  Importing the package registers
the ``"residual"`` projection (`ResidualAxes`) and makes the style presets available as
``plt.style.use("mpl_residual.blog_dark")``.

Hugging Face models are handled by :mod:`mpl_residual.hf` and TransformerLens caches by
:mod:`mpl_residual.tl`; both live in the subpackage :mod:`mpl_residual.model`, the only
part of the package that imports torch (or, through the models passed in,
transformers), so that ``import mpl_residual`` stays as light as matplotlib.
"""

# isort: off
from . import _backend  # noqa: F401  (first: matplotlib imported whatever MPLBACKEND says)

# isort: on
from matplotlib.projections import register_projection  # noqa: E402

from .animation import LayerAnimation, animate
from .artist import ResidualStreamArtist
from .axes import ResidualAxes
from .compare import compare
from .component_stats import ComponentStats
from .contributions import contributions
from .decomposition import Attribution, Decomposition
from .grid import grid_shape, to_grid
from .head_grid import head_grid
from .heatmap import residual_grid
from .markers import DimMarkers, mark_dims
from .normalize import normalize
from .notebook import interact
from .outliers import outlier_dims
from .profile import LayerProfile, layer_profile
from .sample import load_sample
from .save import save_animation
from .scaling import robust_limits
from .sheet import layer_sheet
from .slider import layer_slider
from .stats import DimensionStats
from .stream import ResidualStream
from .styles import STYLES, style_context
from .tokens import token_sheet

__all__ = [
    "Attribution",
    "ComponentStats",
    "Decomposition",
    "DimMarkers",
    "DimensionStats",
    "LayerAnimation",
    "LayerProfile",
    "ResidualAxes",
    "ResidualStream",
    "ResidualStreamArtist",
    "STYLES",
    "animate",
    "compare",
    "contributions",
    "head_grid",
    "grid_shape",
    "interact",
    "layer_profile",
    "layer_sheet",
    "layer_slider",
    "load_sample",
    "mark_dims",
    "normalize",
    "outlier_dims",
    "residual_grid",
    "robust_limits",
    "save_animation",
    "style_context",
    "to_grid",
    "token_sheet",
]

__version__ = "0.1.0.dev0"

register_projection(ResidualAxes)
