"""Formatting for the dashboards' numbers: table cells, money per currency, rates; whether a page draws a chart."""

from datetime import date, datetime
from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from opsview.common.numbers import format_money
from opsview.common.templatetags.numbers import money

register = template.Library()


@register.filter
def cell(value):
    """A table cell: numbers with thousands separators, dates as ISO dates, nothing as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# The one money format (opsview.common.numbers), under the same name for the dashboards' templates that load this.
register.filter("money", money)


@register.filter
def drawn(charts):
    """Whether a chart, or any of a list of charts, has a figure to draw: only then does a page load plotly.js."""
    charts = charts if isinstance(charts, list | tuple) else [charts]
    return any(chart is not None and not chart.empty for chart in charts)


@register.filter
def percent(rate):
    return "—" if rate is None else f"{rate * 100:.1f}%"


@register.simple_tag
def table_rows(chart):
    """The rows of a chart's table fallback, each with a link to its records.

    Built here rather than with template loops: a dashboard's tables hold a
    thousand cells or more, and the template engine took ~60 ms to render them.
    """
    html = []
    for row, link in chart.table:
        cells = [f"<td>{conditional_escape(cell(row[0]))}</td>"]
        cells += [f'<td class="num">{conditional_escape(cell(value))}</td>' for value in row[1:]]
        records = f'<a href="{conditional_escape(link)}">records →</a>' if link else ""
        html.append(f"<tr>{''.join(cells)}<td>{records}</td></tr>")
    return mark_safe("\n".join(html))  # noqa: S308 -- every value above is escaped


@register.simple_tag
def time_entry_rows(entries):
    """The rows of the time entry list, built here for the same reason as ``table_rows``: 50 rows of 9 cells."""
    project_urls = {}
    html = []
    for e in entries:
        if e.project_id not in project_urls:
            project_urls[e.project_id] = reverse("project-billing", args=[e.project_id])
        rate = format_money(e.bill_rate, e.currency) if e.billable else "not billable"
        approved = date_format(localtime(e.approved_at), "Y-m-d H:i") if e.approved_at else "—"
        cells = [
            cell(e.work_date),
            e.person.name,
            None,
            e.project.client.name,
            None,
            cell(e.hours),
            rate,
            approved,
            e.invoice_reference or "—",
        ]
        cells = [conditional_escape(c) if c is not None else "" for c in cells]
        project = f'<a href="{project_urls[e.project_id]}">{conditional_escape(e.project)}</a>'
        status = f'<span class="status">{conditional_escape(e.get_status_display())}</span>'
        html.append(
            f"<tr><td>{cells[0]}</td><td>{cells[1]}</td><td>{project}</td><td>{cells[3]}</td><td>{status}</td>"
            f'<td class="num">{cells[5]}</td><td class="num">{cells[6]}</td><td>{cells[7]}</td><td>{cells[8]}</td></tr>'
        )
    return mark_safe("\n".join(html))  # noqa: S308 -- every value above is escaped
