"""Charts of the dashboards, built from KPI results: a plotly figure, a table with the same numbers, and links.

A chart never computes a figure: it lays out what ``opsview.kpis`` functions
return. Each chart of a KPI registers itself on that KPI's catalog entry
(``@draws(key)``, see ``opsview.kpis.catalog``) and is called as
``draw(kpi, scope, result)``; the dashboards ask the entry for it. The table
is the fallback for people who would rather read numbers and is what the CSV
export writes; each row links to the records behind it, as each bar or point
does through its ``customdata``.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from opsview.common.numbers import plotly_money
from opsview.dashboards import drilldown
from opsview.dashboards.chart_rules import LABEL_MARGIN, from_zero, layout, shortened, top_title
from opsview.kpis.approval import WAITING_STATES
from opsview.kpis.catalog import BY_SLUG, draws
from opsview.kpis.exceptions import exception_resolution_time

STATE_COLOURS = {"draft": "#9aa8b8", "submitted": "#2456a6", "approved_since": "#c9d8ef"}
WEEK = timedelta(days=6)


@dataclass
class Chart:
    key: str
    title: str
    help: str
    figure: dict
    columns: list
    rows: list = field(default_factory=list)
    links: list = field(default_factory=list)
    note: str = ""
    empty: bool = False  # the KPI found nothing to count: the card says so instead of drawing zeros

    @property
    def table(self):
        return list(zip(self.rows, self.links or [None] * len(self.rows), strict=True))


def percent(rate):
    return None if rate is None else round(rate * 100, 2)


def nice_date(value):
    return f"{value.day} {value:%b %Y}"


def currencies_of(items, key="value"):
    return sorted({m["currency"] for item in items for m in item[key]})


def amount_in(money, currency):
    return next((m["amount"] for m in money if m["currency"] == currency), None)


@draws("aging")
def aging_chart(kpi, scope, aging):
    buckets = aging["buckets"]
    traces = []
    for state, label in WAITING_STATES.items():
        if not any(state in b["by_state"] for b in buckets):
            continue
        traces.append(
            {
                "type": "bar",
                "name": label,
                "x": [b["label"] for b in buckets],
                "y": [float(b["by_state"].get(state, {}).get("hours", 0)) for b in buckets],
                "customdata": [
                    drilldown.time_entries(scope, status="unapproved", age=b["bucket"], state=state) for b in buckets
                ],
                "marker": {"color": STATE_COLOURS[state]},
                "hovertemplate": "%{x}: %{y:.2f} h " + label.lower() + "<extra></extra>",
            }
        )
    currencies = currencies_of(buckets)
    return Chart(
        key=kpi.chart,
        title=kpi.title,
        help=kpi.definition,
        figure={"data": traces, "layout": layout(barmode="stack", yaxis={"title": {"text": "hours"}})},
        columns=["Age", "Entries", "Hours", *[f"Value {c}" for c in currencies]],
        rows=[[b["label"], b["entries"], b["hours"], *[amount_in(b["value"], c) for c in currencies]] for b in buckets],
        links=[drilldown.time_entries(scope, status="unapproved", age=b["bucket"]) for b in buckets],
        note=f"As of {nice_date(aging['as_of'])}.",
        empty=not aging["total"]["entries"],
    )


@draws("wip-trend")
def wip_trend_chart(kpi, scope, trend):
    points = trend["points"]
    currencies = currencies_of(points) or [scope.workspace.currency]
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": currency,
            "x": [p["day"].isoformat() for p in points],
            "y": [float(amount_in(p["value"], currency) or 0) for p in points],
            "customdata": [
                drilldown.time_entries(scope.with_period(scope.start, p["day"]), status="unbilled") for p in points
            ],
            "hovertemplate": "%{x}: " + plotly_money("y", currency) + "<extra></extra>",
        }
        for currency in currencies
    ]
    computed = trend["computed_at"]
    return Chart(
        key=kpi.chart,
        title=kpi.title,
        help=kpi.definition,
        figure={"data": traces, "layout": layout(yaxis={"title": {"text": "unbilled value"}})},
        columns=["Day", "Hours", *[f"Value {c}" for c in currencies]],
        rows=[[p["day"], p["hours"], *[amount_in(p["value"], c) for c in currencies]] for p in points],
        links=[drilldown.time_entries(scope.with_period(scope.start, p["day"]), status="unbilled") for p in points],
        note=f"Daily roll-up as of {nice_date(computed)}, {computed:%H:%M} UTC." if computed else "No roll-up yet.",
        empty=not points,
    )


@draws("billing-lag")
def billing_lag_chart(kpi, scope, lag):
    buckets = lag["buckets"]
    links = [drilldown.time_entries(scope, status="billed", lag=b["bucket"]) for b in buckets]
    median = "—" if lag["median_days"] is None else f"{lag['median_days']:g}"
    p90 = "—" if lag["p90_days"] is None else f"{lag['p90_days']:g}"
    return Chart(
        key=kpi.chart,
        title=kpi.title,
        help=kpi.definition,
        figure={
            "data": [
                {
                    "type": "bar",
                    "name": "time entries",
                    "x": [b["label"] for b in buckets],
                    "y": [b["entries"] for b in buckets],
                    "customdata": links,
                    "hovertemplate": "%{x}: %{y} entries<extra></extra>",
                }
            ],
            "layout": layout(yaxis={"title": {"text": "time entries"}}, xaxis={"title": {"text": "days to invoice"}}),
        },
        columns=["Days from work to invoice", "Entries", "Hours"],
        rows=[[b["label"], b["entries"], b["hours"]] for b in buckets],
        links=links,
        note=f"Median {median} days, 90th percentile {p90} days, over {lag['entries']} invoiced entries.",
        empty=not lag["entries"],
    )


@draws("sync")
def sync_chart(kpi, scope, sync):
    traces, rows, links = [], [], []
    for system in sync["systems"]:
        days = system["days"]
        day_links = [drilldown.sync_events(scope, system["system_id"], d["day"]) for d in days]
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": system["system"],
                "x": [d["day"].isoformat() for d in days],
                "y": [percent(d["rate"]) for d in days],
                "customdata": day_links,
                "hovertemplate": system["system"] + " %{x}: %{y:.1f}%<extra></extra>",
            }
        )
        rows += [[d["day"], system["system"], d["succeeded"], d["failed"], percent(d["rate"])] for d in days]
        links += day_links
    return Chart(
        key=kpi.chart,
        title=kpi.title,
        help=kpi.definition,
        figure={"data": traces, "layout": layout(yaxis={"title": {"text": "% succeeded"}, "range": [0, 101]})},
        columns=["Day", "System", "Succeeded", "Failed", "Success rate %"],
        rows=rows,
        links=links,
        empty=not rows,
    )


@draws("straight-through")
def straight_through_chart(kpi, scope, result):
    """The share of records that went straight through, per day of the period; days with none are gaps."""
    days = result["days"]
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": "Straight through",
        "x": [d["day"].isoformat() for d in days],
        "y": [percent(d["share"]) for d in days],
        "connectgaps": False,
        "customdata": [drilldown.first_arrivals(scope, day=d["day"]) for d in days],
        "hovertemplate": "%{x}: %{y:.1f}% straight through<extra></extra>",
    }
    counted = [d for d in days if d["records"]]
    rows = [[d["day"], d["records"], d["straight"], percent(d["share"])] for d in counted]
    return Chart(
        key=kpi.chart,
        title=kpi.title,
        help=kpi.definition,
        figure={"data": [trace], "layout": layout(yaxis={"title": {"text": "% straight through"}, "range": [0, 101]})},
        columns=["Day", "Records that reached the ERP", "Straight through", "Straight-through %"],
        rows=rows,
        links=[drilldown.first_arrivals(scope, day=d["day"]) for d in counted],
        empty=not rows,
    )


@draws("exceptions")
def exceptions_chart(kpi, scope, volume):
    """Exception volume per day, with the resolution time of the period in the note."""
    resolution = exception_resolution_time(scope)
    days = volume["days"]
    narrowed = {"project": scope.project, "client": scope.client}
    opened = drilldown.queue(status="open", **narrowed)
    resolved = drilldown.queue(status="resolved", **narrowed)
    x = [d["day"].isoformat() for d in days]
    traces = [
        {"type": "bar", "name": "new", "x": x, "y": [d["new"] for d in days], "customdata": [opened] * len(days)},
        {
            "type": "bar",
            "name": "resolved",
            "x": x,
            "y": [d["resolved"] for d in days],
            "customdata": [resolved] * len(days),
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "open",
            "x": x,
            "y": [d["open"] for d in days],
            "customdata": [opened] * len(days),
        },
    ]
    median, p90 = resolution["median_hours"], resolution["p90_hours"]
    return Chart(
        key=kpi.chart,
        title="Exception inflow and resolution",
        help=f"{kpi.definition} {BY_SLUG['exception-resolution-time'].definition}",
        figure={"data": traces, "layout": layout(barmode="group", yaxis={"title": {"text": "exceptions"}})},
        columns=["Day", "New", "Resolved", "Open"],
        rows=[[d["day"], d["new"], d["resolved"], d["open"]] for d in days],
        links=[opened] * len(days),
        empty=not (volume["new"] or volume["resolved"] or volume["open_at_end"]),
        note=(
            f"Resolved in the period: {resolution['resolved']}; median {'—' if median is None else median} h, "
            f"90th percentile {'—' if p90 is None else p90} h from first seen to resolved."
        ),
    )


@draws("worst-clients")
def worst_clients_chart(kpi, scope, rows):
    return worst_chart(kpi, scope, rows, "client")


@draws("worst-projects")
def worst_projects_chart(kpi, scope, rows):
    return worst_chart(kpi, scope, rows, "project")


def worst_chart(kpi, scope, rows, by):
    """The clients or projects (``by``) holding the most unbilled value, per currency.

    Each bar's label is the name cut at its end to fit the margin; the hover and the table give it whole.
    """
    links = [drilldown.time_entries(scope, status="unbilled", **{by: r["id"]}) for r in rows]
    traces, labels = [], {}
    for currency in sorted({r["currency"] for r in rows}):
        mine = [(r, link) for r, link in zip(rows, links, strict=True) if r["currency"] == currency]
        mine.reverse()  # plotly draws the first category at the bottom
        # The category is the whole name (two names alike in their first letters stay two bars); the tick shows it cut.
        whole = [f"{r['name']} ({currency})" for r, _ in mine]
        labels |= {name: f"{shortened(r['name'])} ({currency})" for name, (r, _) in zip(whole, mine, strict=True)}
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": currency,
                "y": whole,
                "x": [float(r["value"]) for r, _ in mine],
                "customdata": [link for _, link in mine],
                # Not %{y}: plotly would show the tick's text, the cut name.
                "hovertext": [r["name"] for r, _ in mine],
                "hovertemplate": "%{hovertext}: " + plotly_money("x", currency) + "<extra></extra>",
            }
        )
    height = 120 + 26 * max(1, len(rows))
    yaxis = {"tickmode": "array", "tickvals": list(labels), "ticktext": list(labels.values()), "automargin": True}
    return Chart(
        key=kpi.chart,
        title=top_title(kpi.title, rows, by),
        help=kpi.definition,
        figure={
            "data": traces,
            "layout": layout(
                value_axis="x", height=height, margin={"l": LABEL_MARGIN, "r": 16, "t": 16, "b": 40}, yaxis=yaxis
            ),
        },
        columns=["Rank", by.capitalize(), "Currency", "Hours", "Unbilled value"],
        rows=[[r["rank"], r["name"], r["currency"], r["hours"], r["value"]] for r in rows],
        links=links,
        empty=not rows,
    )


def timeline_chart(scope, project, timeline):
    weeks = timeline["weeks"]
    links = [drilldown.time_entries(scope.with_period(w["week"], w["week"] + WEEK)) for w in weeks]
    x = [w["week"].isoformat() for w in weeks]
    traces = [
        {
            "type": "bar",
            "name": name,
            "x": x,
            "y": [float(w[key]) for w in weeks],
            "customdata": links,
            "marker": {"color": colour},
            "hovertemplate": "week of %{x}: %{y:.2f} h " + name + "<extra></extra>",
        }
        for key, name, colour in (
            ("approved", "approved", "#1f7a3d"),
            ("waiting", "waiting for approval", "#2456a6"),
            ("rejected", "rejected", "#b3261e"),
        )
    ]
    for label, date_of, symbol in (("issued", lambda i: i.issue_date, "diamond"), ("paid", paid_day(scope), "circle")):
        shown = [i for i in timeline["invoices"] if date_of(i) is not None]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"invoice {label}",
                "yaxis": "y2",
                "x": [date_of(i).isoformat() for i in shown],
                "y": [float(i.amount) for i in shown],
                "text": [f"{i.number} {i.currency} {i.amount:,.2f}" for i in shown],
                "marker": {"symbol": symbol, "size": 11},
                "hovertemplate": "%{text} " + label + "<extra></extra>",
            }
        )
    return Chart(
        key="timeline",
        title=f"Billing timeline of {project}",
        help=(
            "Hours worked each week (Monday to Sunday) by their current state, and the project's invoices on the "
            "day they were issued and the day they were paid (amount on the right axis)."
        ),
        figure={
            "data": traces,
            "layout": layout(
                barmode="stack",
                margin={"l": 56, "r": 72, "t": 16, "b": 48},
                yaxis={"title": {"text": "hours"}},
                yaxis2={"title": {"text": "invoice amount"}, "overlaying": "y", "side": "right", "showgrid": False},
            ),
        },
        columns=["Week of", "Approved h", "Waiting h", "Rejected h"],
        rows=[[w["week"], w["approved"], w["waiting"], w["rejected"]] for w in weeks],
        links=links,
        empty=not weeks and not timeline["invoices"],
    )


def paid_day(scope):
    def day(invoice):
        return None if invoice.paid_at is None else invoice.paid_at.astimezone(scope.tz).date()

    return day


def sparkline(points, colour):
    """A tiny line of unbilled hours per day, without axes; no clicks."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": [p["day"].isoformat() for p in points],
                "y": [float(p["hours"]) for p in points],
                "line": {"color": colour, "width": 2},
                "hovertemplate": "%{x}: %{y:.1f} h<extra></extra>",
            }
        ],
        "layout": {
            "height": 48,
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "showlegend": False,
            "xaxis": {"visible": False},
            "yaxis": from_zero({"visible": False}),
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }
