"""Harvest's API for pull tests: a local server answering from Harvest's contract examples."""

import copy

from opsview.systems.services import save_system
from tests.connectors.contracts import contract
from tests.connectors.localserver import Reply
from tests.connectors.test_harvest_contract import ACCOUNT, AUTH_HEADERS, TOKEN, paged

RESOURCES = ("clients", "users", "projects", "time_entries", "invoices")


class HarvestApi:
    """Each resource lists what ``data`` holds (the contract's examples at first), ``per_page`` at a time.

    Requests the contract does not allow are collected in ``problems``; a token other than
    ``TOKEN`` gets Harvest's 401.
    """

    def __init__(self, server):
        self.spec, self.problems = contract("harvest/harvest-openapi.yaml"), []
        self.data = {name: copy.deepcopy(self.spec.example(f"/{name}")[name]) for name in RESOURCES}
        server.handler = self

    def __call__(self, seen):
        resource = seen.path.removeprefix("/v2/")
        self.problems += self.spec.request_problems(f"/{resource}", "get", seen, AUTH_HEADERS)
        if seen.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"error": "invalid_token", "error_description": "The access token is invalid"})
        page, size = int(seen.query["page"][0]), int(seen.query["per_page"][0])
        rows = self.data[resource]
        pages = max(1, -(-len(rows) // size))
        return Reply(200, paged(self.spec, resource, rows[(page - 1) * size : page * size], page, pages))


def connect_harvest(actor, system, server, **settings):
    """Set ``system`` up, as an admin would, to read Harvest from the local server, two records a page."""
    system.vendor = "harvest"
    system.connector_settings = {"account_id": ACCOUNT, "base_url": f"{server.url}/v2", "per_page": 2, **settings}
    return save_system(actor, system, {"access_token": TOKEN})
