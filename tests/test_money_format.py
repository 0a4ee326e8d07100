"""One way to write money on every page: the currency code first, two decimals, grouped by thousands."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from opsview.common.numbers import format_money, plotly_money
from tests.conftest import signed_in
from tests.queue_support import failure, send


@pytest.mark.parametrize(
    "amount, currency, text",
    [
        (Decimal("36280"), "EUR", "EUR 36,280.00"),
        (Decimal("1125.5"), "EUR", "EUR 1,125.50"),
        (Decimal("0.005"), "USD", "USD 0.01"),
        (Decimal("0"), "GBP", "GBP 0.00"),
        (Decimal("-1200.5"), "EUR", "EUR −1,200.50"),
        (Decimal("-0.001"), "EUR", "EUR 0.00"),  # rounded to nothing, so no sign
        (Decimal("1451742"), "NOK", "NOK 1,451,742.00"),
        (Decimal("123456789012.34"), "JPY", "JPY 123,456,789,012.34"),
        (750, "CHF", "CHF 750.00"),
        (12.3, "SEK", "SEK 12.30"),
        ("99.9", "EUR", "EUR 99.90"),
        (Decimal("10"), "", "10.00"),
        (None, "EUR", "—"),
    ],
)
def test_an_amount_reads_with_its_currency_first(amount, currency, text):
    assert format_money(amount, currency) == text


def test_the_template_filter_needs_no_load_and_writes_lists_per_currency():
    page = Template("{{ a|money:'EUR' }} | {{ none|money:'EUR' }} | {{ many|money }} | {{ empty|money }}")
    rendered = page.render(
        Context(
            {
                "a": Decimal("36280"),
                "none": None,
                "many": [{"currency": "EUR", "amount": Decimal("1125")}, {"currency": "USD", "amount": Decimal("750")}],
                "empty": [],
            }
        )
    )
    assert rendered == "EUR 36,280.00 | — | EUR 1,125.00 · USD 750.00 | —"


def test_the_same_amount_reads_the_same_on_the_queue_and_the_executive_dashboard(client, api, northwind, olivia):
    send(
        api,
        failure("TE-big", "Read timed out after 30s", code="TIMEOUT", payload={"amount": "36280", "currency": "EUR"}),
    )
    signed_in(client, olivia)
    queue = client.get("/queues/").content.decode()
    board = client.get("/dashboards/executive/").content.decode()
    assert "EUR 36,280.00" in queue and "EUR 36,280.00" in board
    for page in (queue, board):
        assert "36,280.00 EUR" not in page and "36,280 EUR" not in page


def test_a_chart_hover_writes_money_as_the_pages_do():
    assert plotly_money("y", "EUR") == "EUR %{y:,.2f}"
    assert plotly_money("x") == "%{x:,.2f}"  # an amount whose currency the chart names elsewhere
