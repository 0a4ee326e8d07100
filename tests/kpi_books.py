"""A small firm's books, built by hand for KPI tests whose answers are worked out by hand.

Fabrikam has a time tracker (Harvest), a billing system (Xero) and an ERP
(Tryton); Acme pays in EUR, Globex in USD. Pia and Quinn work, Ida is idle,
Gus has left. Mara manages project A1.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

from opsview.kpis.scope import Scope
from opsview.records.models import Client, Invoice, Person, Project, TimeEntry
from opsview.systems.models import System
from opsview.telemetry.models import SyncEvent, SyncRun
from opsview.workspaces.models import Workspace

_ids = count(1)


def at(text):
    """An aware UTC datetime from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def day(text):
    return date.fromisoformat(text)


class Books:
    def __init__(self, time_zone="UTC", slug="fabrikam"):
        self.workspace = Workspace.objects.create(name="Fabrikam", slug=slug, time_zone=time_zone)
        ws = self.workspace
        self.harvest = System.objects.create(workspace=ws, slug="harvest", name="Harvest", kind="time_tracking")
        self.xero = System.objects.create(workspace=ws, slug="xero", name="Xero", kind="billing")
        self.tryton = System.objects.create(workspace=ws, slug="tryton", name="Tryton", kind="erp")
        self.acme = self._client("Acme", "EUR")
        self.globex = self._client("Globex", "USD")
        self.initech = self._client("Initech", "EUR")
        self.mara = self._person("Mara Manager", 40)
        self.pia = self._person("Pia", 40)
        self.quinn = self._person("Quinn", 32)
        self.ida = self._person("Ida Idle", 40)
        self.gus = self._person("Gus Gone", 40, is_active=False)
        self.a1 = self._project("A1", "Acme rollout", self.acme, self.mara)
        self.b1 = self._project("B1", "Initech audit", self.initech, None)
        self.g1 = self._project("G1", "Globex support", self.globex, None)
        self.runs = {}

    def scope(self, start, end, now, user=None, **filters):
        return Scope(workspace=self.workspace, start=day(start), end=day(end), now=at(now), user=user, **filters)

    def _client(self, name, currency):
        return Client.objects.create(
            workspace=self.workspace, system=self.harvest, external_id=f"C-{next(_ids)}", name=name, currency=currency
        )

    def _person(self, name, capacity, is_active=True):
        return Person.objects.create(
            workspace=self.workspace,
            system=self.harvest,
            external_id=f"P-{next(_ids)}",
            name=name,
            weekly_capacity_hours=Decimal(capacity),
            is_active=is_active,
        )

    def _project(self, code, name, client, manager):
        return Project.objects.create(
            workspace=self.workspace,
            system=self.harvest,
            external_id=f"PR-{next(_ids)}",
            code=code,
            name=name,
            client=client,
            manager=manager,
        )

    def entry(
        self,
        work_date,
        hours,
        status="approved",
        project=None,
        person=None,
        rate="100",
        approved_at=None,
        invoice="",
        billable=True,
    ):
        project = project or self.a1
        currency = project.client.currency
        return TimeEntry.objects.create(
            workspace=self.workspace,
            system=self.harvest,
            external_id=f"TE-{next(_ids)}",
            person=person or self.pia,
            project=project,
            work_date=day(work_date),
            hours=Decimal(str(hours)),
            billable=billable,
            bill_rate=Decimal(rate),
            currency=currency,
            status=status,
            approved_at=at(approved_at) if approved_at else None,
            invoice_reference=invoice,
        )

    def invoice(self, number, amount, status="issued", issued=None, paid_at=None, project=None, currency=None):
        project = project or self.a1
        return Invoice.objects.create(
            workspace=self.workspace,
            system=self.xero,
            external_id=f"INV-{next(_ids)}",
            number=number,
            client=project.client,
            project=project,
            amount=Decimal(str(amount)),
            currency=currency or project.client.currency,
            status=status,
            issue_date=day(issued) if issued else None,
            paid_at=at(paid_at) if paid_at else None,
        )

    def run(self, flow, source, target):
        key = (flow, source.pk, target.pk)
        if key not in self.runs:
            self.runs[key] = SyncRun.objects.create(
                workspace=self.workspace, reported_by=source, flow=flow, source_system=source, target_system=target
            )
        return self.runs[key]

    def event(
        self, outcome, occurred_at, target=None, source=None, flow="te2erp", record_type="time_entry", external_id=None
    ):
        source, target = source or self.harvest, target or self.tryton
        return SyncEvent.objects.create(
            workspace=self.workspace,
            event_id=f"ev-{next(_ids)}",
            run=self.run(flow, source, target) if flow else None,
            record_type=record_type,
            external_id=external_id or f"X-{next(_ids)}",
            source_system=source,
            target_system=target,
            outcome=outcome,
            occurred_at=at(occurred_at),
        )

    def events(self, n, outcome, occurred_at, **kwargs):
        return [self.event(outcome, occurred_at, **kwargs) for _ in range(n)]
