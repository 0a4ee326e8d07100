"""The payload schemas the connectors carry agree with the vendors' published contracts.

The app cannot read the contracts at run time, so Xero and Harvest embed the part they need;
these tests fail when a field they name is missing from the contract, or typed, limited or
required differently.
"""

import pytest

from connectors.base import Connector
from connectors.harvest import HarvestConnector
from connectors.webhook import WebhookConnector
from connectors.xero import XeroConnector
from tests.connectors.contracts import _nullable, contract


def resolve(spec, node):
    """A contract node with its ``$ref`` followed (OpenAPI puts siblings beside a $ref: they are kept)."""
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def disagreements(spec, ours, theirs, where="payload"):
    """What in our schema ``ours`` is not what the contract's ``theirs`` says, field by field."""
    theirs = resolve(spec, _nullable(theirs))
    found = []
    for name in ("type", "enum", "maxLength", "format"):
        if name in ours and ours[name] != theirs.get(name):
            found.append(f"{where}: {name} {ours[name]!r} != contract's {theirs.get(name)!r}")
    if sorted(ours.get("required", [])) != sorted(theirs.get("required", [])):
        found.append(f"{where}: required {ours.get('required')} != contract's {theirs.get('required')}")
    for field, schema in ours.get("properties", {}).items():
        if field not in theirs.get("properties", {}):
            found.append(f"{where}.{field}: not in the contract")
        else:
            found += disagreements(spec, schema, theirs["properties"][field], f"{where}.{field}")
    if "items" in ours:
        found += disagreements(spec, ours["items"], theirs.get("items", {}), f"{where}[]")
    return found


def request_schema(spec, path, method):
    return spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def test_xeros_invoice_schema_is_the_contracts_invoice():
    spec = contract("xero/xero_accounting.yaml").spec
    invoices = resolve(spec, request_schema(spec, "/Invoices", "put"))
    invoice = invoices["properties"]["Invoices"]["items"]
    assert disagreements(spec, XeroConnector.payload_schema("invoice"), invoice) == []


def test_xeros_time_entry_schema_is_the_contracts_time_entry():
    spec = contract("xero/xero-projects.yaml").spec
    theirs = request_schema(spec, "/Projects/{projectId}/Time", "post")
    assert disagreements(spec, XeroConnector.payload_schema("time_entry"), theirs) == []


def test_harvests_time_entry_schema_is_the_contracts_time_entry():
    spec = contract("harvest/harvest-openapi.yaml").spec
    theirs = request_schema(spec, "/time_entries", "post")
    assert disagreements(spec, HarvestConnector.payload_schema("time_entry"), theirs) == []


def test_the_check_itself_catches_a_retyped_or_unknown_field():
    spec = contract("harvest/harvest-openapi.yaml").spec
    theirs = request_schema(spec, "/time_entries", "post")
    ours = HarvestConnector.payload_schema("time_entry")
    wrong = {**ours, "properties": {**ours["properties"], "hours": {"type": "string"}, "colour": {"type": "string"}}}
    assert len(disagreements(spec, wrong, theirs)) == 2


@pytest.mark.parametrize("connector", [Connector, WebhookConnector])
def test_targets_that_publish_no_fields_have_no_schema(connector):
    assert connector.payload_schema("invoice") is None
