"""Text from a model (tokens, layer and model names) shown literally by matplotlib."""

from __future__ import annotations

__all__: list[str] = []


def literal(text: str) -> str:
    r"""
    *text* with every ``$`` escaped, so that matplotlib never reads it as mathtext.

    Matplotlib typesets text between two unescaped dollar signs (``"$x^2$"``) and fails
    to draw text with an empty pair (``"$$"``); an escaped ``\$`` is drawn as ``$``.
    Labels made from a model's tokens must show the token as it is.

    >>> literal("cost: $5 or $$")
    'cost: \\$5 or \\$\\$'
    """
    return text.replace("$", r"\$")


def percent(p: float) -> str:
    """
    A probability as a short percentage; the small ones that would read 0% do not.

    >>> percent(0.3149), percent(0.004), percent(0.00002)
    ('31%', '0.4%', '<0.1%')
    """
    if p >= 0.01:
        return f"{p:.0%}"
    return f"{p:.1%}" if p >= 0.001 else "<0.1%"
