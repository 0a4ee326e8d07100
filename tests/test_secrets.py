"""Secrets never appear in logs, pages, exports, audit entries or the database's text.

A connector access token and a webhook secret (System.credentials), the workspace's API token, a payload
field named like a secret and a user's password are planted; the app is driven through its pages, CSV
exports, KPI API, audit page, a failing connection test, pull and replay (whose targets echo what they
were sent, as careless servers do) and a 500 page with DEBUG off, with every logger at DEBUG and stdout and
stderr captured. Then every log line, every response body and every text column of every table is searched.

Kept as they are, and so not searched: the encrypted credentials column, password and token hashes, and
the columns that hold the record as its source sent it (the sync event's and replay's payloads and what a
replay sent): opsview must keep the record to replay it, and masks its sensitive fields wherever it shows it.
"""

import json
import logging

import pytest
from django.apps import apps
from django.db import models
from django.test import Client, override_settings
from django.utils.module_loading import import_string
from django_q.models import OrmQ

from opsview.queues.models import ExceptionItem
from opsview.systems.models import System
from opsview.systems.services import save_system
from tests.conftest import PASSWORD
from tests.connectors.localserver import Reply
from tests.queue_support import failure, send
from tests.replay_support import queued_tasks

ACCESS_TOKEN = "hvtok-PLANTED-7f3a9c11e2"
WEBHOOK_SECRET = "whsec-PLANTED-5d2b8e"
PAYLOAD_IBAN = "DE89PLANTED370400440532013000"
WRONG_PASSWORD = "wrong-PLANTED-pass-4471"

NOT_SEARCHED = {
    ("systems", "system", "credentials_encrypted"),
    ("auth", "user", "password"),
    ("systems", "apitoken", "token_hash"),
    ("telemetry", "syncevent", "payload"),
    ("replay", "replay", "original_payload"),
    ("replay", "replay", "edited_payload"),
    ("replay", "replay", "payload"),
    ("replay", "replayattempt", "request"),
}


class EchoingVendor:
    """Harvest and a webhook target that refuse everything and repeat what they were sent in their answer."""

    def __call__(self, seen):
        if seen.path.startswith("/v2/"):
            said = seen.headers.get("Authorization", "")
            return Reply(401, {"error": "invalid_token", "error_description": f"The access token '{said}' is invalid"})
        return Reply(422, {"error": f"rejected record: {seen.body.decode(errors='replace')}"})


@pytest.fixture
def planted(northwind, ada, olivia, server):
    server.handler = EchoingVendor()
    harvest = northwind.harvest
    harvest.vendor = "harvest"
    harvest.connector_settings = {"account_id": "424242", "base_url": f"{server.url}/v2"}
    save_system(ada, harvest, {"access_token": ACCESS_TOKEN})
    hook = System(
        workspace=northwind.workspace,
        slug="middleware",
        name="Client middleware",
        kind="billing",
        vendor="webhook",
        connector_settings={"url": f"{server.url}/records"},
    )
    save_system(ada, hook, {"secret": WEBHOOK_SECRET})
    return northwind, hook


class Recorder:
    """A test client whose every answer's body is kept."""

    def __init__(self, client, bodies):
        self.client, self.bodies = client, bodies

    def __getattr__(self, method):
        def call(*args, **kwargs):
            response = getattr(self.client, method)(*args, **kwargs)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            self.bodies.append((f"{method.upper()} {args[0]} -> {response.status_code}", body.decode(errors="replace")))
            return response

        return call


def run_queued():
    """Run every queued task here, as a worker would."""
    for task in queued_tasks():
        import_string(task["func"])(*task["args"])
    OrmQ.objects.all().delete()


def every_logger_at_debug(caplog):
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)


def text_columns():
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            key = (model._meta.app_label, model._meta.model_name, field.name)
            if isinstance(field, (models.CharField, models.TextField, models.JSONField)) and key not in NOT_SEARCHED:
                yield model, field


def stored_text():
    for model, field in text_columns():
        for pk, value in model._base_manager.values_list("pk", field.name):
            if value not in (None, ""):
                text = value if isinstance(value, str) else json.dumps(value)
                yield f"{model._meta.label}.{field.name} #{pk}", text


def where(secret, places):
    return [name for name, text in places if secret in text]


def test_no_secret_is_printed_shown_exported_audited_or_stored(planted, ada, olivia, api, caplog, capfd, settings):
    firm, hook = planted
    every_logger_at_debug(caplog)
    bodies = []
    secrets = {
        "access token": ACCESS_TOKEN,
        "webhook secret": WEBHOOK_SECRET,
        "API token": firm.raw_token,
        "payload IBAN": PAYLOAD_IBAN,
        "password": PASSWORD,
        "wrong password": WRONG_PASSWORD,
    }

    # An integration job reports a failure whose record carries a bank account number, with its API token.
    send(api, failure("TE-77", target_system="middleware", payload={"hours": 7.5, "iban": PAYLOAD_IBAN}))
    item = ExceptionItem.objects.get(external_id="TE-77")

    anonymous = Recorder(Client(), bodies)
    anonymous.post("/login/", {"username": "ada", "password": WRONG_PASSWORD})
    admin = Recorder(Client(), bodies)
    admin.post("/login/", {"username": "ada", "password": PASSWORD}, follow=True)
    admin.post(f"/settings/systems/{firm.harvest.pk}/test/", follow=True)  # refused: the vendor echoes the token
    admin.post(f"/settings/systems/{hook.pk}/test/", follow=True)
    admin.post(f"/settings/systems/{firm.harvest.pk}/pull/", follow=True)
    run_queued()  # the pull, refused: the vendor echoes the token again
    operator = Recorder(Client(), bodies)
    operator.post("/login/", {"username": "olivia", "password": PASSWORD})
    operator.post("/replays/request/", {"one": item.pk}, follow=True)
    run_queued()  # the target refuses, repeating the record it was sent
    for url in (
        "/",
        "/queues/",
        f"/queues/{item.pk}/",
        f"/queues/groups/{item.group_id}/",
        "/queues/export.csv",
        "/replays/",
        "/runs/",
        "/records/sync-events/",
        "/dashboards/executive/",
        "/dashboards/executive/sync.csv",
        "/api/v1/kpis/",
        "/api/v1/sync-runs/",
    ):
        operator.get(url)
    for url in (
        "/settings/systems/",
        f"/settings/systems/{firm.harvest.pk}/",
        f"/settings/systems/{hook.pk}/",
        "/settings/tokens/",
        "/audit/",
        "/audit/?format=csv",
        "/runs/",
    ):
        admin.get(url)
    Recorder(api, bodies).get("/api/v1/sync-runs/")
    with override_settings(DEBUG=False, ROOT_URLCONF="tests.secrets_urlconf"):
        failing = Recorder(Client(raise_request_exception=False), bodies)
        failing.post("/login/", {"username": "olivia", "password": PASSWORD})
        assert failing.post("/boom/", {"password": PASSWORD}).status_code == 500

    out, err = capfd.readouterr()
    logs = [(f"log {r.name} {r.levelname}", caplog.handler.format(r)) for r in caplog.records]
    printed = [("stdout", out), ("stderr", err)]
    stored = list(stored_text())
    assert len(logs) > 10 and len(bodies) > 25 and len(stored) > 50  # the sweep saw the app at work

    found = {name: where(secret, logs + printed + bodies + stored) for name, secret in secrets.items()}
    assert found == {name: [] for name in secrets}
    # The app did show the failures, in its own words: the search found no secret because there was none.
    assert any("Harvest" in text and "401" in text for _, text in stored)
