"""
Quick start
===========

One call draws one layer of a residual stream. The stream here is real: the activations
of all-MiniLM-L6-v2 at the token ``"paris"`` of *"The Eiffel Tower is in the city of
Paris"*, shipped with the package as :func:`mpl_residual.load_sample`.
"""

import matplotlib.pyplot as plt

import mpl_residual as mr

stream = mr.load_sample()
print(stream.shape, stream.layer_names)

# %%
# The ``"residual"`` projection gives an Axes with a ``residual_grid`` method. The
# colour limits are symmetric about zero and shared by every layer; a callable title
# follows the layer shown.

fig, ax = plt.subplots(layout="constrained", subplot_kw={"projection": "residual"})
artist = ax.residual_grid(stream, layer=-1, colorbar=True, title=stream.title)

# %%
# The artist holds every layer: ``set_layer`` shows another one on the same scale.

artist.set_layer(0)
fig  # noqa: B018 - shows the figure again in the gallery
