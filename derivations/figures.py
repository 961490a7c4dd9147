r"""The figures' shared style, and the checks every figure passes before a page shows it.

Every topic page draws its figures with Matplotlib in an executed cell. What they share lives
here, so that one figure cannot drift from the others:

- :data:`STYLE` (rcParams): figures :data:`WIDTH` inches wide at :data:`DPI` pixels an inch,
  that is :data:`WIDTH` × :data:`DPI` = 700 CSS pixels, narrower than the text column
  (:data:`COLUMN_PX`), so the browser shows them at their own size and a 10 pt tick label is
  10 × :data:`DPI`/72 ≈ 14 CSS pixels on screen;
- :func:`use`: applies the style and, in a notebook kernel, shows every figure as :func:`png`
  makes it: a *retina* PNG, twice the pixels in each direction, displayed at the size above (the
  output's ``width`` metadata), so lines and text are sharp on high-density screens, in a
  256-colour palette that keeps a figure near 30–40 KB;
- :func:`check`: what a reader would notice first, as assertions, so a figure that breaks one
  fails the build: the figure is no wider than the column, no text is smaller than
  :data:`MIN_TEXT_PX` CSS pixels on screen, and no legend is drawn over the data.

A page uses it as

.. code-block:: python

    from derivations import figures
    figures.use()
    fig, ax = plt.subplots(figsize=(figures.WIDTH, 3.4))
    ...
    figures.check(fig)
    plt.show()

Examples
--------
A line from the lower left to the upper right is clear of a legend in the lower right corner,
not of one in the centre (``rc_context``: the doctest leaves the process's style alone):

>>> import matplotlib.pyplot as plt
>>> with mpl.rc_context(STYLE):
...     fig, ax = plt.subplots(figsize=(WIDTH, 3))
...     _ = ax.plot([0, 1], [0, 1], label="y = x")
...     _ = ax.legend(loc="lower right")
...     check(fig)
...     _ = ax.legend(loc="center")
...     check(fig)
Traceback (most recent call last):
...
AssertionError: the legend of axes 1 is drawn over the data: line 'y = x'
>>> round(smallest_text_px(fig)[0], 1)  # a 10 pt tick label at 100 dpi
13.9
>>> plt.close(fig)
"""

from __future__ import annotations

import base64
import io

import matplotlib as mpl
import numpy as np
from matplotlib.collections import PathCollection
from matplotlib.path import Path
from matplotlib.text import Text

#: Width of the text column in CSS pixels (sphinx-book-theme at a 1366 px wide window; 688 at
#: 1280, where a 700 px figure is shown at 98 %).
COLUMN_PX = 757
#: Figure width in inches, and pixels an inch (CSS pixels: the PNG has twice as many).
WIDTH, DPI = 7.0, 100
#: The smallest text a figure may show, in CSS pixels at :data:`COLUMN_PX`.
MIN_TEXT_PX = 12.0

STYLE = {
    "figure.figsize": (WIDTH, 3.4),
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
}


def use() -> None:
    """Apply :data:`STYLE`; inside an IPython kernel, also show every figure as :func:`png` makes it."""
    try:
        from IPython.core.interactiveshell import InteractiveShell
    except ImportError:  # pragma: no cover - IPython comes with the docs extras
        InteractiveShell = None
    kernel = InteractiveShell is not None and InteractiveShell.initialized()
    if kernel:
        # Importing the inline backend (pyplot does it at the first figure) installs its own figure
        # formatters and rcParams: import it now, so that ours, set below, are the ones that stay.
        import matplotlib_inline.backend_inline  # noqa: F401
    mpl.rcParams.update(STYLE)
    if kernel:
        from matplotlib.figure import Figure

        formatters = InteractiveShell.instance().display_formatter.formatters
        for formatter in formatters.values():  # no SVG, PDF or 1× PNG copy besides ours
            formatter.pop(Figure, None)
        formatters["image/png"].for_type(Figure, _png_output)


def png(fig) -> tuple[bytes, dict]:
    """``fig`` as a PNG at twice its DPI (*retina*: sharp on high-density screens), and the
    display metadata that shows it at its CSS size, ``{"width": width × DPI}``.

    The PNG is saved without ``bbox_inches="tight"`` (the figures use constrained layout, so
    nothing lies outside them and the size is exactly the figure's) and reduced to a palette of 256
    colours, which looks the same for line art and costs a third of the bytes. Only the width is
    given, so a narrow screen scales the image down with its aspect ratio kept.
    """
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=2 * fig.dpi, bbox_inches=None,
                facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor())
    buf.seek(0)
    with Image.open(buf) as img:
        palette = img.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue(), {"width": round(fig.get_figwidth() * fig.dpi)}


def _png_output(fig):
    """The IPython ``image/png`` formatter for a Matplotlib figure: :func:`png`, base64-encoded."""
    if not fig.axes and not fig.lines:  # an empty figure shows nothing, as IPython's own formatter
        return None
    data, metadata = png(fig)
    return base64.b64encode(data).decode("ascii"), metadata


def scale(fig) -> float:
    """The factor by which the browser shrinks ``fig`` to fit the column (1 if it fits)."""
    return min(1.0, COLUMN_PX / (fig.get_figwidth() * fig.dpi))


def smallest_text_px(fig) -> tuple[float, str]:
    """The smallest font size of any visible, non-empty text of ``fig`` in CSS pixels on screen,
    and that text (sub- and superscripts inside math count at the size of their text; every tick
    label of an axis has one size, drawn or not)."""
    fig.draw_without_rendering()
    sizes = [(t.get_fontsize() * fig.dpi / 72 * scale(fig), t.get_text())
             for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) if sizes else (float("inf"), "")


def _runs(xy: np.ndarray):
    """The finite runs of a polyline (a NaN or an infinity, e.g. log(0), breaks it)."""
    ok = np.all(np.isfinite(xy), axis=1)
    start = None
    for k, good in enumerate(np.append(ok, False)):
        if good and start is None:
            start = k
        elif not good and start is not None:
            yield xy[start:k]
            start = None


def _name(artist) -> str:
    label = artist.get_label()
    kind = type(artist).__name__.lower().replace("line2d", "line")
    return f"{kind} {label!r}" if label and not label.startswith("_") else kind


def legend_overlaps(ax, renderer=None) -> list[str]:
    """What of ``ax``'s lines, markers, collections and patches its legend is drawn over."""
    legend = ax.get_legend()
    if legend is None or not legend.get_visible():
        return []
    fig = ax.figure
    if renderer is None:
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer).padded(-2)  # touching the box's edge is not "over"
    hits = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        if line.get_linestyle() not in ("None", "", " "):
            if any(len(r) > 1 and Path(r).intersects_bbox(box, filled=False) or
                   len(r) == 1 and box.contains(*r[0]) for r in _runs(xy)):
                hits.append(_name(line))
                continue
        if line.get_marker() not in (None, "None", "", " "):
            pad = line.get_markersize() * fig.dpi / 72 / 2
            if any(box.padded(pad).contains(*p) for p in xy if np.all(np.isfinite(p))):
                hits.append(_name(line))
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):  # scatter: its points
            pts = coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), dtype=float))
            if any(box.contains(*p) for p in pts if np.all(np.isfinite(p))):
                hits.append(_name(coll))
            continue
        filled = len(coll.get_facecolor()) > 0 and float(np.max(np.asarray(coll.get_facecolor())[:, 3])) > 0
        transform = coll.get_transform()
        for path in coll.get_paths():
            if any(len(r) > 1 and Path(r).intersects_bbox(box, filled=filled)
                   for r in _runs(transform.transform(path.vertices))):
                hits.append(_name(coll))
                break
    for patch in ax.patches:
        if not patch.get_visible():
            continue
        path = patch.get_transform().transform_path(patch.get_path())
        if path.intersects_bbox(box, filled=bool(patch.get_fill())):
            hits.append(_name(patch))
    return hits


def check(fig) -> None:
    """Check what a reader needs of ``fig``, raising :class:`AssertionError` (also under
    ``python -O``) if it fails: it fits the text column (:data:`COLUMN_PX`), its
    smallest text is at least :data:`MIN_TEXT_PX` CSS pixels on screen, and no legend is drawn over
    the data of its axes."""
    width = fig.get_figwidth() * fig.dpi
    if width > COLUMN_PX:
        raise AssertionError(f"the figure is {width:.0f} px wide; the column {COLUMN_PX} px")
    px, text = smallest_text_px(fig)
    if px < MIN_TEXT_PX:
        raise AssertionError(f"text {text!r} is {px:.1f} px on screen; at least {MIN_TEXT_PX} px")
    renderer = fig.canvas.get_renderer()
    for k, ax in enumerate(fig.axes, start=1):
        hits = legend_overlaps(ax, renderer)
        if hits:
            raise AssertionError(f"the legend of axes {k} is drawn over the data: {', '.join(dict.fromkeys(hits))}")
