"""The onboarding checklist: what a new firm still needs before opsview shows its integrations' health.

Every step ticks itself from what the firm has (a system that connects, a token, a first sync...); the
only step a person ticks is the review of the queue settings, which has nothing else to show for it.
``onboarding_for`` reads the checklists of many firms in a constant number of queries (the portfolio);
``onboarding`` is the same for one firm.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.urls import reverse

from opsview.systems.connection import connection_problem
from opsview.systems.models import ApiToken, ConnectionStatus, System
from opsview.systems.services import first_data_received_in
from opsview.workspaces.models import Invitation, Membership, Workspace


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    why: str
    link: str


@dataclass(frozen=True)
class Onboarding:
    """A firm's checklist: its steps in the order they are best done."""

    workspace_id: int
    steps: tuple

    @property
    def done(self):
        return sum(1 for step in self.steps if step.done)

    @property
    def total(self):
        return len(self.steps)

    @property
    def complete(self):
        return self.done == self.total

    @property
    def progress(self):
        """ "5/7"."""
        return f"{self.done}/{self.total}"

    @property
    def next_step(self):
        return next((step for step in self.steps if not step.done), None)


def _exists(model, **filters):
    return Exists(model.objects.filter(workspace_id=OuterRef("pk"), **filters))


def _facts(ids):
    rows = (
        Workspace.objects.filter(pk__in=ids)
        .annotate(
            has_token=_exists(ApiToken, revoked_at__isnull=True),
            has_invitation=_exists(Invitation),
            has_own_member=_exists(Membership, granted_by_partner__isnull=True),
        )
        .values(
            "pk",
            "accent_color",
            "logo_updated_at",
            "queue_settings_reviewed_at",
            "has_token",
            "has_invitation",
            "has_own_member",
        )
    )
    return {row["pk"]: row for row in rows}


def _checklist(workspace_id, facts, connected, tested, received):
    systems = reverse("systems")
    steps = (
        Step(
            "systems",
            "Connect your systems",
            connected,
            "Time tracking, billing and the ERP, each with settings and credentials its connector can use.",
            systems,
        ),
        Step(
            "connection",
            "Test a connection",
            tested,
            "A test that reached the system proves the address and credentials before a job depends on them.",
            systems,
        ),
        Step(
            "token",
            "Create an integration token",
            facts["has_token"],
            "Integration jobs report their runs and records with a token of the system they run for.",
            reverse("tokens"),
        ),
        Step(
            "first-sync",
            "Receive the first sync",
            received,
            "Until a job reports a run or records arrive, every dashboard and queue here stays empty.",
            reverse("sync-runs"),
        ),
        Step(
            "review",
            "Review thresholds and SLAs",
            facts["queue_settings_reviewed_at"] is not None,
            "When time counts as late and how fast exceptions must be handled are the firm's own promises.",
            reverse("queue-settings"),
        ),
        Step(
            "branding",
            "Set the firm's branding",
            bool(facts["accent_color"]) or facts["logo_updated_at"] is not None,
            "The firm's colour or logo in every page tells its people they are in the right place.",
            reverse("branding"),
        ),
        Step(
            "members",
            "Invite the firm's people",
            facts["has_invitation"] or facts["has_own_member"],
            "Operators triage the queues and managers chase their projects only once they can sign in.",
            reverse("members"),
        ),
    )
    return Onboarding(workspace_id, steps)


def onboarding_for(workspaces):
    """``{workspace_id: Onboarding}`` for ``workspaces`` (or their ids), in three queries however many."""
    ids = [getattr(w, "pk", w) for w in workspaces]
    if not ids:
        return {}
    facts = _facts(ids)
    received = first_data_received_in(ids)
    connected, tested = set(), set()
    for system in System.objects.filter(workspace_id__in=ids).connected().select_related("workspace"):
        if connection_problem(system) is None:
            connected.add(system.workspace_id)
            if system.connection_status == ConnectionStatus.OK:
                tested.add(system.workspace_id)
    return {
        workspace_id: _checklist(
            workspace_id,
            facts[workspace_id],
            workspace_id in connected,
            workspace_id in tested,
            workspace_id in received,
        )
        for workspace_id in ids
        if workspace_id in facts
    }


def onboarding(workspace):
    """``workspace``'s checklist: ``onboarding_for`` of that one firm."""
    return onboarding_for([workspace])[workspace.pk]
