"""The rules a workspace starts with: what a finance team wants on day one, and little noise.

A new workspace gets them when it is created (``AlertsConfig`` connects ``ensure_default_rules`` to its
``post_save``); workspaces that existed before alerts got them from migration 0002. Admins change them
under Settings → Alerts → Rules; a workspace that has rules already is never given the defaults again.
"""

from decimal import Decimal

from opsview.alerts.models import Rule, RuleKind
from opsview.workspaces.roles import Role

ADMIN, OPERATOR, MANAGER, EXECUTIVE = Role.ADMIN.value, Role.OPERATOR.value, Role.MANAGER.value, Role.EXECUTIVE.value

# (kind, name, thresholds, roles): executives are named where they may want to opt in; they get nothing
# until they do.
DEFAULT_RULES = (
    (RuleKind.NEW_GROUP, "New exception group", {}, [ADMIN, OPERATOR, MANAGER, EXECUTIVE]),
    (
        RuleKind.GROUP_GREW,
        "Group past 50 items or 10,000",
        {"items": 50, "money": Decimal("10000")},
        [ADMIN, OPERATOR, EXECUTIVE],
    ),
    (RuleKind.PAST_SLA, "Exceptions past their SLA", {}, [ADMIN, OPERATOR, MANAGER]),
    (
        RuleKind.SYNC_SUCCESS_LOW,
        "Sync success under 90% over 24 hours",
        {"success_percent": 90, "window_hours": 24},
        [ADMIN, OPERATOR, EXECUTIVE],
    ),
    (RuleKind.SYSTEM_SILENT, "No sync run for 24 hours", {"silent_hours": 24}, [ADMIN, OPERATOR, EXECUTIVE]),
    # Only an admin can mend a connection (e.g. connect Xero again).
    (RuleKind.CONNECTION_FAILING, "A system's connection fails", {}, [ADMIN]),
    (
        RuleKind.UNAPPROVED_BEFORE_CUTOFF,
        "Unapproved time, 3 days before the billing cut-off",
        {"days_before": 3},
        [MANAGER],
    ),
)


def default_rules(workspace_id):
    """The default rules of a workspace, unsaved."""
    return [
        Rule(workspace_id=workspace_id, kind=kind, name=name, roles=list(roles), **thresholds)
        for kind, name, thresholds, roles in DEFAULT_RULES
    ]


def ensure_default_rules(workspace):
    """Give ``workspace`` the default rules unless it has rules already; returns how many were made."""
    if Rule.objects.for_workspace(workspace).exists():
        return 0
    return len(Rule.objects.bulk_create(default_rules(workspace.pk)))


def on_workspace_saved(sender, instance, created, raw=False, **kwargs):
    """``post_save`` receiver of Workspace: a new workspace starts with the default rules."""
    if created and not raw:
        ensure_default_rules(instance)
