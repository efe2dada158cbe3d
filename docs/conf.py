"""Sphinx configuration for mpl-residual's documentation."""

import os
import sys

import matplotlib

import mpl_residual

matplotlib.use("Agg")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the examples never reach a network
sys.path.insert(0, os.path.dirname(__file__))  # gallery_reset, named in the gallery's conf

try:  # loading bars from transformers would clutter the examples' output
    import transformers

    transformers.logging.disable_progress_bar()
except ImportError:
    pass

project = "mpl-residual"
author = "mpl-residual developers"
copyright = "2026, mpl-residual developers"
release = mpl_residual.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

default_role = "py:obj"
autodoc_typehints = "none"  # numpydoc's Parameters sections say it better
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = False

sphinx_gallery_conf = {
    "examples_dirs": ["../examples", "../tutorials"],
    "gallery_dirs": ["auto_examples", "auto_tutorials"],
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"^_",  # helpers of the examples (_synthetic.py)
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": (True, "jshtml"),
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "image_srcset": ["2x"],
    # matplotlib is reset before every example; animations then get their thumbnails
    # through the ffmpeg that imageio-ffmpeg ships (no "MovieWriter ffmpeg unavailable").
    "reset_modules": ("matplotlib", "gallery_reset.bundled_ffmpeg"),
}

html_theme = "pydata_sphinx_theme"
html_title = "mpl-residual"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": True,
    "show_toc_level": 2,
}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
