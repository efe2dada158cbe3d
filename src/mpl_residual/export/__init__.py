"""
Export: `save_animation` (GIF, MP4, HTML), the frames it renders, the encoders that
write them, and the HTML player that notebooks, blog posts and ``.html`` files share.
"""

from .save import SUPPORTED_SUFFIXES, check_fps, save_animation

__all__ = ["SUPPORTED_SUFFIXES", "check_fps", "save_animation"]
