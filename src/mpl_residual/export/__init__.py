"""
Export: animations drawn into files.  The figure laid out and drawn once (`_scene`),
the frames rendered once each from it (`_frames`), the
encoders that write GIF and MP4 (`_encoders`), the HTML player that notebooks, blog
posts and ``.html`` files share (`player`), and `write_animation`, which picks one by
the file's suffix and writes it whole or not at all.

Nothing here knows how a stream is drawn or animated: an animation that says what it
animates (`_scene.LayerFrames`, which a `LayerAnimation` is) is drawn once and then
only what changes, any other matplotlib animation frame by frame.  The public
`mpl_residual.save_animation` animates a stream first where it is given one.
"""

from .writer import SUPPORTED_SUFFIXES, Request, check_fps, check_request, write_animation

__all__ = ["SUPPORTED_SUFFIXES", "Request", "check_fps", "check_request", "write_animation"]
