"""
Animating through the layers
============================

:func:`mpl_residual.animate` makes the artist once and calls ``set_layer`` on every
frame, so all frames share one colour scale. Save it with
:func:`mpl_residual.save_animation` as ``.gif``, ``.mp4`` or a self-contained ``.html``
page.
"""

import mpl_residual as mr

stream = mr.load_sample()
with mr.style_context("blog_dark"):
    anim = mr.animate(stream, interval=400, colorbar=True)

# %%
# To write it to disk::
#
#     mr.save_animation(anim, "residual.gif")   # or .mp4, .html
#
# ``save_animation`` also takes a stream directly, with ``animate``'s options::
#
#     mr.save_animation(stream, "residual.html", layers=slice(None, None, 2))
