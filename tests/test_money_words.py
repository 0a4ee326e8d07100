"""How the queue says money at stake across currencies, including records that carry no amount."""

from opsview.queues.money import stake_per_currency


def test_records_without_an_amount_are_said_to_have_none_not_a_bare_zero():
    stake = {
        "by_currency": [
            {"currency": "EUR", "amount": 1500, "records": 2, "exceptions": 3},
            {"currency": "", "amount": 0, "records": 1, "exceptions": 1},
        ],
        "records": 3,
        "exceptions": 4,
    }
    assert [s["text"] for s in stake_per_currency(stake)] == [
        "EUR 1,500.00 at stake in 2 records, 3 exceptions",
        "No amount known for 1 record, 1 exception",
    ]
