"""``{{ amount|money:currency }}``: every template writes money through ``opsview.common.numbers``.

Loaded as a template builtin (settings.TEMPLATES), so no template needs ``{% load %}`` for it.
"""

from django import template

from opsview.common.numbers import format_money, format_money_list

register = template.Library()


@register.filter
def money(value, currency=""):
    """An amount and its currency ("EUR 36,280.00"), or a list of ``{currency, amount}`` ("EUR 1.00 · USD 2.00")."""
    if isinstance(value, list | tuple):
        return format_money_list(value)
    return format_money(value, currency)
