"""The cast every test draws on.

Northwind is the firm under test: Ada is its admin, Olivia an operator, Max a
project manager (of one project), Erin an executive. Oscar is an outsider: admin
of Contoso, a second firm, and member of nothing in Northwind.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from opsview.queues.stakes import rebuild_stakes, stakes_out_of_date, totals_out_of_date
from opsview.records.models import Client, Person, Project, TimeEntry
from opsview.records.sides import sides_out_of_date
from opsview.systems.models import ApiToken, System
from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.models import Membership, Workspace
from opsview.workspaces.roles import Role

# The local HTTP server and the real Tryton server, for connector and pull tests alike; how the suite runs.
pytest_plugins = ["tests.connectors.fixtures", "tests.browser", "tests.demo_erp_support", "tests.run_support"]


def _uses_database(item):
    fixtures = getattr(item, "fixturenames", ())
    return "db" in fixtures or "transactional_db" in fixtures or item.get_closest_marker("django_db") is not None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After every test that used the database, what opsview keeps to spare a page its costliest look-ups still
    agrees with the live rule: whatever path the test wrote entries, postings or exceptions by kept them up."""
    result = yield
    if _uses_database(item):
        stale = list(sides_out_of_date(TimeEntry.objects.all()).values_list("external_id", "sides_held", "live")[:5])
        assert not stale, f"time entries whose stored sides are out of date (id, stored, live): {stale}"
        unkept = stakes_out_of_date()[:5]
        assert not unkept, f"records whose kept money at stake is out of date (firm, record, kept, live): {unkept}"
        totals = totals_out_of_date()[:5]
        assert not totals, f"firms whose kept money at stake is out of date (firm, currency, kept, counted): {totals}"
    return result


PASSWORD = "correct horse battery staple"


@dataclass
class Firm:
    workspace: Workspace
    harvest: System
    erp: System
    token: ApiToken
    raw_token: str
    client: Client
    managed_project: Project
    other_project: Project
    manager_person: Person
    worker: Person


@dataclass(frozen=True)
class FirmValues:
    """What one firm's records hold; two firms' values differ in every one, so a value on a page says whose it is."""

    client_id: str = "C-1"
    manager: str = "Max Manager"
    manager_id: str = "P-M"
    worker: str = "Wendy Worker"
    worker_id: str = "P-W"
    project_ids: tuple = ("PR-1", "PR-2")
    project_codes: tuple = ("NW1", "NW2")
    hours: str = "7.5"
    rate: str = "150"
    event_id: str = "ev-1"
    token_name: str = "nightly sync"


# Contoso's: none equal to, or a part of, Northwind's.
CONTOSO_VALUES = FirmValues(
    client_id="CX-940",
    manager="Carla Lindqvist",
    manager_id="EMP-318",
    worker="Tobias Okafor",
    worker_id="EMP-562",
    project_ids=("JOB-8801", "JOB-8802"),
    project_codes=("CT-A", "CT-B"),
    hours="6.25",
    rate="173.40",
    event_id="cx-evt-3390",
    token_name="hourly ledger import",
)


def make_firm(name, slug, values=FirmValues()):
    workspace = Workspace.objects.create(name=name, slug=slug)
    harvest = System.objects.create(workspace=workspace, slug="harvest", name="Harvest", kind="time_tracking")
    erp = System.objects.create(workspace=workspace, slug="tryton", name="Tryton", kind="erp")
    token, raw = ApiToken.issue(harvest, values.token_name)
    client = Client.objects.create(
        workspace=workspace, system=harvest, external_id=values.client_id, name=f"{name} Client"
    )
    manager_person = Person.objects.create(
        workspace=workspace, system=harvest, external_id=values.manager_id, name=values.manager
    )
    worker = Person.objects.create(
        workspace=workspace, system=harvest, external_id=values.worker_id, name=values.worker
    )
    managed = Project.objects.create(
        workspace=workspace,
        system=harvest,
        external_id=values.project_ids[0],
        code=values.project_codes[0],
        name=f"{name} Rollout",
        client=client,
        manager=manager_person,
    )
    other = Project.objects.create(
        workspace=workspace,
        system=harvest,
        external_id=values.project_ids[1],
        code=values.project_codes[1],
        name=f"{name} Audit",
        client=client,
    )
    for project in (managed, other):
        TimeEntry.objects.create(
            workspace=workspace,
            system=harvest,
            external_id=f"TE-{project.external_id}",
            person=worker,
            project=project,
            work_date=date(2026, 11, 2),
            hours=Decimal(values.hours),
            bill_rate=Decimal(values.rate),
            currency="EUR",
            status="submitted",
        )
    run = SyncRun.objects.create(
        workspace=workspace, reported_by=harvest, flow="time_to_erp", source_system=harvest, target_system=erp
    )
    SyncEvent.objects.create(
        workspace=workspace,
        event_id=values.event_id,
        run=run,
        record_type="time_entry",
        external_id=f"TE-{values.project_ids[0]}",
        source_system=harvest,
        target_system=erp,
        outcome="failed",
        error_code="PERIOD_CLOSED",
        error_message=f"{name}: posting period 2026-10 is closed",
        occurred_at=datetime(2026, 11, 3, tzinfo=UTC),
    )
    return Firm(workspace, harvest, erp, token, raw, client, managed, other, manager_person, worker)


def keep_stakes(firm):
    """Keep ``firm``'s money at stake per record after a test changed its exceptions behind the queue's writers
    (``queues.stakes``), as those writers do."""
    rebuild_stakes(firm.workspace.pk)


def make_user(username, workspace, role):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
    Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def northwind(db):
    return make_firm("Northwind", "northwind")


@pytest.fixture
def contoso(db):
    return make_firm("Contoso", "contoso", CONTOSO_VALUES)


@pytest.fixture
def ada(northwind):
    return make_user("ada", northwind.workspace, Role.ADMIN)


@pytest.fixture
def olivia(northwind):
    return make_user("olivia", northwind.workspace, Role.OPERATOR)


@pytest.fixture
def max_manager(northwind):
    user = make_user("max", northwind.workspace, Role.MANAGER)
    northwind.manager_person.user = user
    northwind.manager_person.save()
    return user


@pytest.fixture
def erin(northwind):
    return make_user("erin", northwind.workspace, Role.EXECUTIVE)


@pytest.fixture
def oscar(contoso):
    return make_user("oscar", contoso.workspace, Role.ADMIN)


@pytest.fixture
def api(northwind):
    """An API client holding Northwind's Harvest token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {northwind.raw_token}")
    return client


def signed_in(client, user):
    client.force_login(user)
    return client
