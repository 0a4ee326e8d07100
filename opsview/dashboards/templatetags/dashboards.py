"""Formatting for the dashboards' numbers: table cells, money per currency, rates."""

from datetime import date, datetime
from decimal import Decimal

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

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


@register.filter
def money(amounts):
    """``[{currency, amount}]`` as "EUR 1,125.00 · USD 750.00"; a dash when empty. Never one total."""
    if not amounts:
        return "—"
    return " · ".join(f"{m['currency']} {m['amount']:,.2f}" for m in amounts)


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
