"""The one way opsview writes an amount of money: the currency code first, then the amount with two decimals.

A workspace has a reporting currency but no locale, so every page, e-mail and alert writes money the same way:
"EUR 36,280.00", "EUR −1,200.50", "USD 0.00". Amounts in different currencies are never added; a list of them
reads "EUR 1,125.00 · USD 750.00".
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# A typographic minus: it lines up with the digits, where a hyphen sits low and short.
MINUS = "\u2212"
NOTHING = "—"


def format_amount(amount, places=2):
    """An amount without its currency, grouped by thousands: "36,280.00"; a dash for None."""
    if amount is None or amount == "":
        return NOTHING
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    # Half a cent rounds up, as on an invoice, not to the even cent as Python's format does.
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{abs(value):,.{places}f}"
    # Rounding to zero leaves no sign: "-0.001" reads "0.00", not "−0.00".
    negative = value < 0 and text.strip("0.,") != ""
    return f"{MINUS if negative else ''}{text}"


def format_money(amount, currency=""):
    """An amount with its currency code before it: "EUR 36,280.00"; a dash for None."""
    if amount is None or amount == "":
        return NOTHING
    return f"{currency or ''} {format_amount(amount)}".strip()


def plotly_money(field, currency=""):
    """The same money format in a plotly hover template: ``plotly_money("y", "EUR")`` is "EUR %{y:,.2f}"."""
    return f"{currency or ''} %{{{field}:,.2f}}".strip()


def format_money_list(amounts, separator=" · "):
    """``[{"currency", "amount"}]`` as "EUR 1,125.00 · USD 750.00", largest first as given; a dash when empty."""
    if not amounts:
        return NOTHING
    return separator.join(format_money(m["amount"], m["currency"]) for m in amounts)
