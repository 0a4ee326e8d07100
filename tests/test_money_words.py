"""How the queue says money at stake across currencies, including records that carry no amount."""

from opsview.queues.money import stake_per_currency, stake_sentence


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


def test_nothing_open_is_said_to_hold_nothing_not_a_zero_without_a_currency():
    assert stake_sentence({"by_currency": [], "records": 0, "exceptions": 0}) == (
        "Nothing at stake: none of these is open or snoozed"
    )
