"""The house style shared by every model's figures (matplotlib only; never sets a backend)."""

from __future__ import annotations

from matplotlib.figure import Figure

__all__ = ["QUICK_NOTE", "stamp"]

#: What every table and figure of a quick-preset run says about itself.
QUICK_NOTE = "quick preset: small sizes, exponents biased"


def stamp(fig: Figure, note: str) -> Figure:
    """Write ``note`` (e.g. :data:`QUICK_NOTE`) in small grey type at the figure's top right.

    A no-op for an empty note; returns ``fig`` so calls chain.
    """
    if note:
        fig.text(0.995, 0.995, note, fontsize=7, color="0.45", ha="right", va="top")
    return fig
