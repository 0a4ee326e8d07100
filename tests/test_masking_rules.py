"""Sensitive payload fields are masked by rule, whatever the workspace configured, and by its own list."""

import json

import pytest

from opsview.common.masking import MASK, is_sensitive, mask
from opsview.queues import services
from opsview.replay.payloads import parse_edit
from tests.conftest import signed_in
from tests.queue_support import failure, only_exception, send

PAYLOAD = {
    "hours": 7.5,
    "iban_number": "DE89370400440532013000",
    "password": "hunter2-plain",
    "employee": {"name": "Wendy Worker", "userPassword": "s3cr3t-nested", "Tax-ID": "DE123456789"},
    "auth": [{"X-Api-Key": "key-abcdef-123", "client_secret": "cs-998877"}],
    "shipping": "by post",
}
SECRETS = ("DE89370400440532013000", "hunter2-plain", "s3cr3t-nested", "DE123456789", "key-abcdef-123", "cs-998877")


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "iban_number",
        "IBAN",
        "userPassword",
        "X-Api-Key",
        "api key",
        "stripe_secret_key",
        "accessToken",
        "bank.account.number",
        "ACCOUNT_NUMBER",
        "taxId",
        "card_pin",
        "PIN",
    ],
)
def test_names_that_hold_secrets_are_sensitive_by_rule(name):
    assert is_sensitive(name)


@pytest.mark.parametrize("name", ["hours", "shipping", "mapping", "pinned", "project", "account", "notes"])
def test_ordinary_names_are_not(name):
    assert not is_sensitive(name)
    assert is_sensitive(name, [name.upper()])  # unless the workspace lists them


def test_the_rule_holds_with_an_empty_workspace_list_and_at_any_depth():
    masked = mask(PAYLOAD, [])
    assert masked["hours"] == 7.5 and masked["shipping"] == "by post"
    assert masked["iban_number"] == masked["password"] == masked["employee"]["userPassword"] == MASK
    assert masked["auth"][0] == {"X-Api-Key": MASK, "client_secret": MASK}


def test_the_exception_page_masks_by_rule_even_when_the_list_is_cleared(client, api, northwind, ada, olivia):
    services.save_masked_fields(ada, northwind.workspace, [])
    send(api, failure("TE-M", payload=PAYLOAD))
    item = only_exception(northwind, external_id="TE-M")

    page = signed_in(client, olivia).get(f"/queues/{item.pk}/").content.decode()
    assert "Wendy Worker" in page
    for secret in SECRETS:
        assert secret not in page


def test_the_payload_editor_keeps_masked_values_at_any_depth():
    shown = mask(PAYLOAD, [])
    shown["hours"] = 8
    edited = parse_edit(json.dumps(shown), None, PAYLOAD)

    assert edited["hours"] == 8
    assert edited["employee"]["userPassword"] == "s3cr3t-nested"
    assert edited["auth"][0]["X-Api-Key"] == "key-abcdef-123"
    typed = parse_edit(json.dumps({**shown, "password": "new"}), None, PAYLOAD)
    assert typed["password"] == "new"  # a typed value replaces the secret
