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
  :data:`MIN_TEXT_PX` CSS pixels on screen, and no legend is drawn over the data;
- :func:`network`: a layered network drawn from a model's own sizes and weight matrices, one
  circle per unit and one line per weight (the seed's Figures 1–3: the sigmoid neuron, the window
  scorer, the 4-2-1 network).

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
    """The IPython ``image/png`` formatter for a Matplotlib figure: :func:`png`, base64-encoded
    (the one :func:`check` made, when nothing of the figure has changed since)."""
    if not fig.axes and not fig.lines:  # an empty figure shows nothing, as IPython's own formatter
        return None
    data, metadata = _checked_png(fig) or png(fig)
    return base64.b64encode(data).decode("ascii"), metadata


def _checked_png(fig):
    """The PNG :func:`check` drew of ``fig``, if no artist of it has changed since (a change
    marks the figure stale), else None."""
    made = getattr(fig, "_derivations_png", None)
    return made if made is not None and not fig.stale else None


def scale(fig) -> float:
    """The factor by which the browser shrinks ``fig`` to fit the column (1 if it fits)."""
    return min(1.0, COLUMN_PX / (fig.get_figwidth() * fig.dpi))


def smallest_text_px(fig) -> tuple[float, str]:
    """The smallest font size of any visible, non-empty text of ``fig`` in CSS pixels on screen,
    and that text (sub- and superscripts inside math count at the size of their text; every tick
    label of an axis has one size, drawn or not)."""
    fig.draw_without_rendering()
    return _smallest_text_drawn(fig)


def _smallest_text_drawn(fig) -> tuple[float, str]:
    """:func:`smallest_text_px` of a figure just drawn (its tick labels exist)."""
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
    the data of its axes.

    The figure is drawn once, as the PNG the page shows (:func:`png`), and checked as drawn; the
    kernel's formatter then shows that PNG instead of drawing the figure again, unless something
    of the figure changed after the check."""
    width = fig.get_figwidth() * fig.dpi
    if width > COLUMN_PX:
        raise AssertionError(f"the figure is {width:.0f} px wide; the column {COLUMN_PX} px")
    fig._derivations_png = None
    made = png(fig)  # the draw lays out the figure and makes its tick labels
    px, text = _smallest_text_drawn(fig)
    if px < MIN_TEXT_PX:
        raise AssertionError(f"text {text!r} is {px:.1f} px on screen; at least {MIN_TEXT_PX} px")
    renderer = fig.canvas.get_renderer()
    for k, ax in enumerate(fig.axes, start=1):
        hits = legend_overlaps(ax, renderer)
        if hits:
            raise AssertionError(f"the legend of axes {k} is drawn over the data: {', '.join(dict.fromkeys(hits))}")
    # saving restored the figure's own dpi and colours, which marks it stale; it is as drawn
    fig.stale = False
    fig._derivations_png = made


def network(ax, widths, weights, *, labels=None, hot=(), layer_names=None, ys=None, node_size=3300,
            weight_width=3.0, fontsize=12, arrows=True, edge_labels=None, edge_label_at=0.5):
    r"""Draw a layered feed-forward network on ``ax``, from the model's own sizes and weights.

    ``widths`` are the layer sizes, input first; ``weights[l - 1]`` is the matrix from layer ``l``
    to layer ``l + 1`` (shape ``widths[l] × widths[l - 1]``, rows the receiving units), so every
    drawn connection is an entry of a matrix the model computes with. Units are numbered from 0
    within a layer and layers from 1, as on the pages (:math:`a^{(1)}` is the input layer):

    - a connection's width is ``0.8 + weight_width·|W|`` (``weight_width``: one number, or one
      per matrix), dark grey for a positive weight and light grey for a negative one;
    - ``hot`` holds ``(layer, r, c)`` entries drawn in red, with an arrow pointing back from unit
      ``r`` of layer ``layer + 1`` to unit ``c`` of ``layer`` (the way the error travels);
    - ``labels`` maps ``(layer, q)`` to the text in that unit's circle, ``edge_labels`` maps
      ``(layer, r, c)`` to a text on its connection (at the fraction ``edge_label_at`` of the way
      from the sender), ``layer_names`` puts a name above each
      layer;
    - ``ys`` gives each layer's vertical positions (default: one unit apart, centred on 0);
      ``node_size`` (a marker area in points², one for all units or one per layer) their circles.

    Returns the position of every unit, ``{(layer, q): (x, y)}``; the caller sets the limits,
    adds what is particular to its figure and checks it (:func:`check`).

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> pos = network(ax, [2, 1], [np.array([[0.5, -1.0]])], hot={(1, 0, 1)})
    >>> pos[(1, 0)], pos[(1, 1)], pos[(2, 0)]
    ((0.0, 0.5), (0.0, -0.5), (1.0, 0.0))
    >>> len(ax.lines), len(ax.texts)  # two connections; the red one's arrow is an annotation
    (2, 1)
    >>> network(ax, [2, 1], [np.zeros((2, 1))])
    Traceback (most recent call last):
    ...
    ValueError: weights[0] has shape (2, 1); layers 1 → 2 (2 → 1 units) need (1, 2)
    >>> plt.close(fig)
    """
    widths = [int(w) for w in widths]
    weights = [np.asarray(W, dtype=float) for W in weights]
    if len(weights) != len(widths) - 1:
        raise ValueError(f"{len(widths)} layers need {len(widths) - 1} weight matrices, got {len(weights)}")
    for layer, W in enumerate(weights, start=1):
        want = (widths[layer], widths[layer - 1])
        if W.shape != want:
            raise ValueError(f"weights[{layer - 1}] has shape {W.shape}; layers {layer} → {layer + 1} "
                             f"({want[1]} → {want[0]} units) need {want}")
    if ys is None:
        ys = [[(w - 1) / 2 - q for q in range(w)] for w in widths]
    pos = {(layer, q): (float(layer - 1), float(ys[layer - 1][q]))
           for layer, w in enumerate(widths, start=1) for q in range(w)}
    hot, labels, edge_labels = set(hot), labels or {}, edge_labels or {}
    thickness = list(weight_width) if np.ndim(weight_width) else [weight_width] * len(weights)
    for layer, W in enumerate(weights, start=1):
        for r in range(W.shape[0]):
            for c in range(W.shape[1]):
                (x0, y0), (x1, y1) = pos[(layer, c)], pos[(layer + 1, r)]
                red = (layer, r, c) in hot
                ax.plot([x0, x1], [y0, y1], color="C3" if red else ("0.35" if W[r, c] > 0 else "0.7"),
                        lw=0.8 + thickness[layer - 1] * abs(W[r, c]), zorder=1, solid_capstyle="butt")
                if red and arrows:  # the error travels from the receiving unit back to the sender
                    ax.annotate("", xy=(x0 + 0.3 * (x1 - x0), y0 + 0.3 * (y1 - y0)),
                                xytext=(x0 + 0.7 * (x1 - x0), y0 + 0.7 * (y1 - y0)),
                                arrowprops=dict(arrowstyle="-|>", color="C3", lw=1.5, mutation_scale=16), zorder=3)
                if (layer, r, c) in edge_labels:
                    at = edge_label_at
                    ax.text(x0 + at * (x1 - x0), y0 + at * (y1 - y0), edge_labels[(layer, r, c)], ha="center",
                            va="center", fontsize=fontsize, zorder=4,
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))
    sizes = list(node_size) if np.ndim(node_size) else [node_size] * len(widths)
    for key, (px, py) in pos.items():
        area = sizes[key[0] - 1]
        ax.scatter([px], [py], s=area, color="white", edgecolor="C0", lw=2 if area >= 400 else 1.2, zorder=2)
        if key in labels:
            ax.text(px, py, labels[key], ha="center", va="center", fontsize=fontsize, linespacing=1.25, zorder=4)
    if layer_names:
        top = max(py for _, py in pos.values())
        for layer, name in enumerate(layer_names, start=1):
            ax.text(float(layer - 1), top + 0.65, name, ha="center", va="bottom", color="0.35")
    return pos
