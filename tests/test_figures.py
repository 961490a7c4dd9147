"""The figures' shared style and checks (derivations.figures), and the pages' figure cells."""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402

from conftest import ROOT  # noqa: E402
from derivations import figures  # noqa: E402


@pytest.fixture
def styled():
    """The site's style for one test, the process's own restored afterwards."""
    with mpl.rc_context(figures.STYLE):
        yield
    plt.close("all")


def _line_fig(loc):
    fig, ax = plt.subplots(figsize=(figures.WIDTH, 3))
    ax.plot([0, 1], [0, 1], label="y = x")
    ax.legend(loc=loc)
    return fig, ax


def test_the_style_gives_a_column_wide_figure_with_legible_text(styled):
    fig, _ = _line_fig("lower right")
    assert fig.get_figwidth() * fig.dpi == 700 <= figures.COLUMN_PX
    px, _ = figures.smallest_text_px(fig)
    assert px == pytest.approx(10 * 100 / 72)  # tick labels, 10 pt at 100 dpi
    figures.check(fig)


@pytest.mark.parametrize("loc", ["upper left", "lower right"])
def test_a_legend_beside_a_diagonal_passes(styled, loc):
    fig, _ = _line_fig(loc)
    assert figures.legend_overlaps(fig.axes[0]) == []


def test_a_legend_on_a_line_fails(styled):
    fig, _ = _line_fig("center")
    with pytest.raises(AssertionError, match="drawn over the data: line 'y = x'"):
        figures.check(fig)


def test_a_legend_over_a_filled_band_bars_and_points_is_found(styled):
    fig, axes = plt.subplots(1, 3, figsize=(figures.WIDTH, 3))
    x = np.linspace(0, 1, 50)
    axes[0].fill_between(x, 0, 1, label="band")        # fills the whole axes
    axes[1].bar([0, 1, 2], [1, 1, 1], width=1.0, label="bars")
    axes[2].scatter(*np.meshgrid(np.linspace(0, 1, 30), np.linspace(0, 1, 30)), label="points")
    for ax in axes:
        ax.legend(loc="center")
    hits = [figures.legend_overlaps(ax) for ax in axes]
    assert hits[0] and "band" in hits[0][0]
    assert hits[1] and "rectangle" in hits[1][0]
    assert hits[2] and "points" in hits[2][0]


def test_a_log_axis_with_zeros_and_nans_is_handled(styled):
    fig, ax = plt.subplots(figsize=(figures.WIDTH, 3))
    y = np.geomspace(1, 1e-12, 100)
    y[40], y[60] = 0.0, np.nan                           # log(0) and a gap break the line
    ax.semilogy(np.arange(100), y, label="decay")
    ax.legend(loc="upper right")                         # the line falls away from that corner
    figures.check(fig)
    ax.legend(loc="lower left")                          # the line starts in the upper left: clear too
    figures.check(fig)
    ax.legend(loc="center")
    with pytest.raises(AssertionError, match="decay"):
        figures.check(fig)


def test_small_text_and_a_wide_figure_fail(styled):
    fig, ax = plt.subplots(figsize=(figures.WIDTH, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_title("tiny", fontsize=7)                     # 7 pt at 100 dpi: 9.7 px
    with pytest.raises(AssertionError, match="'tiny' is 9.7 px"):
        figures.check(fig)
    wide, _ = plt.subplots(figsize=(10, 3))
    with pytest.raises(AssertionError, match="1000 px wide"):
        figures.check(wide)


def test_the_png_is_twice_the_css_size_in_a_palette(styled):
    fig, _ = _line_fig("lower right")
    data, metadata = figures.png(fig)
    assert metadata == {"width": 700}                    # no height: a narrow screen keeps the aspect
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG" and img.size == (1400, 600) and img.mode == "P"
        assert len(img.getcolors(256)) <= 256
    assert len(data) < 40_000


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def test_the_checked_png_is_the_one_shown_until_the_figure_changes(styled):
    fig, ax = _line_fig("lower right")
    figures.check(fig)
    shown, metadata = figures._png_output(fig)
    checked = figures._checked_png(fig)
    assert checked is not None and shown == base64.b64encode(checked[0]).decode("ascii")
    # the PNG drawn for the check is the one a fresh drawing makes
    assert np.array_equal(_pixels(checked[0]), _pixels(figures.png(fig)[0])) and metadata == {"width": 700}
    ax.set_title("added after the check")               # a change: the figure is drawn again
    assert figures._checked_png(fig) is None
    again, _ = figures._png_output(fig)
    assert not np.array_equal(_pixels(base64.b64decode(again)), _pixels(checked[0]))


def test_a_failed_check_leaves_no_png_to_show(styled):
    fig, ax = _line_fig("lower right")
    figures.check(fig)
    ax.legend(loc="center")                              # now over the line
    with pytest.raises(AssertionError):
        figures.check(fig)
    assert figures._checked_png(fig) is None


def test_use_outside_a_kernel_sets_the_style_only():
    with mpl.rc_context():
        figures.use()
        assert mpl.rcParams["figure.dpi"] == figures.DPI and mpl.rcParams["xtick.labelsize"] == 10
    plt.close("all")


# ---- the pages' figure cells ------------------------------------------------------------------

CELL = re.compile(r"```\{code-cell\} python\n(?:---\n(?P<meta>.*?)\n---\n)?(?P<body>.*?)\n```\n", re.S)
PAGES = sorted(p for p in (ROOT / "docs").glob("*.md") if "plt.show()" in p.read_text(encoding="utf-8"))


def _figure_cells(page):
    for m in CELL.finditer(page.read_text(encoding="utf-8")):
        if "plt.show()" in m.group("body"):
            yield yaml.safe_load(m.group("meta") or "") or {}, m.group("body")


def test_the_topic_pages_have_figures():
    assert len(PAGES) >= 10 and sum(len(list(_figure_cells(p))) for p in PAGES) >= 11


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_figure_is_captioned_named_described_and_checked(page):
    text = page.read_text(encoding="utf-8")
    assert "figures.use()" in text, "the page does not use the site's figure style"
    names = set()
    for meta, body in _figure_cells(page):
        fig = meta.get("mystnb", {}).get("figure", {})
        alt = meta.get("mystnb", {}).get("image", {}).get("alt", "")
        assert fig.get("caption") and fig.get("name"), f"{page.stem}: a figure without caption or name"
        assert fig["name"].startswith(page.stem.replace("_", "-")), fig["name"]
        names.add(fig["name"])
        # alt text is a description, a sentence or more, not a file name
        assert len(alt) >= 60 and alt.endswith(".") and not re.search(r"\.(png|svg)\b", alt), alt
        assert "figures.WIDTH" in body, f"{fig['name']}: the figure's width is not the style's"
        assert body.index("figures.check(fig)") < body.rindex("plt.show()"), f"{fig['name']} is not checked"
    assert names and len(names) == len(list(_figure_cells(page)))


# ---- networks drawn from a model's sizes ------------------------------------------------------------


def test_a_network_has_a_circle_per_unit_and_a_line_per_weight(styled):
    rng = np.random.default_rng(0)
    W1, W2 = rng.normal(size=(3, 5)), rng.normal(size=(1, 3))
    fig, ax = plt.subplots(figsize=(figures.WIDTH, 3))
    pos = figures.network(ax, [5, 3, 1], [W1, W2], labels={(3, 0): "s"}, layer_names=("in", "hidden", "out"))
    assert len(pos) == 9 and len(ax.collections) == 9 and len(ax.lines) == W1.size + W2.size
    widths = sorted(line.get_linewidth() for line in ax.lines)
    assert widths[0] == pytest.approx(0.8 + 3 * np.min(np.abs(np.r_[W1.ravel(), W2.ravel()])))
    assert [t.get_text() for t in ax.texts] == ["s", "in", "hidden", "out"]


def test_the_default_layout_is_the_4_2_1_figures(styled):
    """Units one apart, centred on 0, layers at x = 0, 1, 2: the positions the 4-2-1 page draws with."""
    fig, ax = plt.subplots(figsize=(figures.WIDTH, 3))
    pos = figures.network(ax, [4, 2, 1], [np.ones((2, 4)), np.ones((1, 2))])
    assert [pos[(1, q)] for q in range(4)] == [(0.0, 1.5 - q) for q in range(4)]
    assert [pos[(2, q)] for q in range(2)] == [(1.0, 0.5 - q) for q in range(2)] and pos[(3, 0)] == (2.0, 0.0)


def test_a_hot_connection_is_red_with_an_arrow_back_to_its_sender(styled):
    fig, ax = plt.subplots(figsize=(figures.WIDTH, 3))
    figures.network(ax, [2, 1], [np.array([[0.5, -0.5]])], hot={(1, 0, 1)})
    colours = [line.get_color() for line in ax.lines]
    assert colours == ["0.35", "C3"]
    (arrow,) = [t for t in ax.texts if t.arrow_patch is not None]
    assert arrow.xy[0] < arrow.xyann[0]  # it points from the receiving unit (x = 1) back to the sender (x = 0)


def test_a_weight_matrix_of_the_wrong_shape_is_refused(styled):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"weights\[0\] has shape \(2, 3\); layers 1 → 2 \(3 → 4 units\) need \(4, 3\)"):
        figures.network(ax, [3, 4], [np.zeros((2, 3))])
    with pytest.raises(ValueError, match="3 layers need 2 weight matrices, got 1"):
        figures.network(ax, [3, 4, 1], [np.zeros((4, 3))])
