"""Formatting for the dashboards' numbers: table cells, money per currency, rates."""

from datetime import date, datetime
from decimal import Decimal

from django import template

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
