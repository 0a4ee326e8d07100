"""The rules every chart follows so that it does not mislead, in one place.

A value axis starts at zero, so a bar's or a line's height is in proportion to
its number (``layout``; a chart may start one elsewhere only by saying why on
the chart); a top-ten list says when fewer exist (``top_title``); a name too
long for its margin is cut at its end, since its beginning is what people know
(``shortened``), and the chart gives it whole on hover.
"""

import re

from opsview.kpis.wip import WORST_LIMIT

PALETTE = ["#2456a6", "#c0392b", "#1f7a3d", "#a15c00", "#7b3fa0", "#138496", "#5b6b7c"]


def from_zero(axis):
    """A value axis that starts at zero, so a bar's or a line's height is in proportion to its number."""
    return axis | {"rangemode": "tozero"}


def layout(value_axis="y", not_from_zero="", **extra):
    """A figure's layout: the house look, and every value axis (``value_axis``: "y", or "x" for horizontal bars,
    with each of its overlays, "yaxis2"...) from zero. A chart may start an axis elsewhere only by saying why
    in ``not_from_zero``: the figure shows that sentence above the plot.
    """
    base = {
        "height": 300,
        "margin": {"l": 56, "r": 16, "t": 16, "b": 48},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12, "color": "#1d2733"},
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.25},
        "colorway": PALETTE,
    }
    figure = base | extra
    axes = {name for name in figure if re.fullmatch(f"{value_axis}axis[0-9]*", name)} | {f"{value_axis}axis"}
    if not_from_zero:
        figure["annotations"] = [*figure.get("annotations", []), axis_note(not_from_zero)]
        figure["margin"] = figure["margin"] | {"t": max(figure["margin"]["t"], 36)}
        return figure
    for name in sorted(axes):
        axis = figure.get(name, {})
        if axis.get("range") and axis["range"][0] != 0:
            raise ValueError(f"{name} starts at {axis['range'][0]}: say why in not_from_zero.")
        figure[name] = from_zero(axis)
    return figure


def axis_note(text):
    """The visible note of an axis that does not start at zero, in the top left corner of the plot."""
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": 1,
        "xanchor": "left",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 11, "color": "#a15c00"},
    }


LABEL_LENGTH = 24  # characters of a name that fit the LABEL_MARGIN beside a horizontal bar, with its currency
# Pixels beside a horizontal bar for its name: a cut name with its currency takes up to about 215 in Chromium's
# default sans-serif. The axis still widens the margin for a longer one (automargin), but only by drawing the
# chart a second time, and the page waits for both drawings: room enough at once is drawn once.
LABEL_MARGIN = 224


def shortened(name, length=LABEL_LENGTH):
    """``name`` cut at its end with an ellipsis when longer than ``length``: its beginning is what people know."""
    return name if len(name) <= length else name[: length - 1].rstrip() + "…"


def top_title(title, rows, by, limit=WORST_LIMIT):
    """A top-ten chart's title, saying so when fewer than ``limit`` exist in a currency (ranks are per currency)."""
    counts = {}
    for row in rows:
        counts[row["currency"]] = counts.get(row["currency"], 0) + 1
    if not counts or all(n >= limit for n in counts.values()):
        return title
    things = {"client": ("client", "clients"), "project": ("project", "projects")}[by]
    if len(counts) == 1:
        (n,) = counts.values()
        return f"{n} {things[n != 1]} with unbilled value (fewer than {limit})"
    each = ", ".join(f"{n} in {currency}" for currency, n in sorted(counts.items()))
    return f"{title}: {each} (fewer than {limit} per currency)"
