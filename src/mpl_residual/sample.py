"""`load_sample`: real activations shipped with the package, for examples and the CLI."""

from __future__ import annotations

from importlib import resources

from .stream import ResidualStream

__all__ = ["SAMPLE_MODEL", "SAMPLE_PROMPT", "SAMPLE_TARGET", "load_sample", "sample_corpus"]

#: The toy causal LM shipped in the package (`mpl_residual.hf.sample_model`): its name in
#: files, titles and messages (it is no real LM), the prompt it was trained to complete
#: and the answer it gives.  Here, not on the model side, so that the command line can
#: name them without importing torch.
SAMPLE_MODEL = "mpl-residual/toy-gpt2"
SAMPLE_PROMPT, SAMPLE_TARGET = "The Eiffel Tower is in the city of", " Paris"


def sample_corpus() -> list[str]:
    """The sentences the toy model was trained on, one text each (for `stats`)."""
    folder = resources.files(__package__) / "data" / "sample_model"
    text = (folder / "corpus.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def load_sample(*, position: int | str | None = -1) -> ResidualStream:
    """
    A small residual stream of real activations, shipped inside the package.

    all-MiniLM-L6-v2 (a 6-block BERT encoder, ``d_model`` 384, folded to 16 x 24) on
    the prompt ``"The Eiffel Tower is in the city of Paris"``: 7 layers (embeddings,
    then the stream after blocks 0-5) at each of its 13 tokens.  It was captured from
    the real weights by ``scripts/make_sample.py``; no network is needed to use it.

    Parameters
    ----------
    position : int, str or None, default: -1
        The token to keep, as in `ResidualStream.at`: ``-1`` is ``"paris"``, the last
        word (negative positions count back from the last token that is not special,
        so ``[SEP]`` is ``12``), and ``"tower"`` names a token.  ``None`` keeps every
        token: values of shape ``(layers, tokens, rows, cols)``.

    Returns
    -------
    ResidualStream
        With `~ResidualStream.tokens` and `~ResidualStream.layer_names`.

    Examples
    --------
    >>> import mpl_residual as mr
    >>> sample = mr.load_sample()
    >>> sample.shape, sample.token
    ((7, 16, 24), 'paris')
    >>> artist = mr.residual_grid(sample, layer=-1, title=sample.title)
    """
    with resources.as_file(resources.files(__package__) / "data" / "sample.npz") as path:
        every = ResidualStream.load(path)
    return every if position is None else every.at(position)
