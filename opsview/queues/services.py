"""What people do with exceptions (claim, assign, comment, resolve, snooze, ignore, reopen), what admins set
for the queues (thresholds, SLAs, fix guides, masked fields) and what each user keeps (saved views).

Each action on exceptions takes the actor, the workspace and the items (a queryset: one
item, a selection or a whole group), checks the actor's role, narrows the
items to what the actor may see, changes them with one UPDATE and writes one
audit entry per item in bulk. So a thousand items cost the same handful of
queries as one. Views, the API and tasks all call these. Every change is audited.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from opsview.audit.trail import record, record_many
from opsview.queues.models import (
    PENDING,
    USER_RESOLUTIONS,
    Comment,
    ExceptionItem,
    Kind,
    KindSetting,
    QueueSettings,
    SavedView,
    Status,
)
from opsview.queues.policies import DEFAULT_MASKED_FIELDS, DEFAULTS, masked_fields_for
from opsview.queues.stakes import refresh_stakes
from opsview.workspaces.permissions import ACT, ADMINISTER, COMMENT, VIEW, can, require


class ActionRefused(ValueError):
    """The action cannot be done as asked; the message tells the person why."""


def _username(user):
    return user.get_username() if user is not None else None


def _visible(actor, workspace, items):
    """``items`` narrowed to the actor's view of the workspace, as one subquery."""
    return ExceptionItem.objects.visible_to(actor, workspace).filter(pk__in=items.values("pk"))


def _change(actor, workspace, items, action, eligible, changes, after, note="", before_fields=("status",)):
    """Apply ``changes`` to the eligible visible items and audit each with its before and after."""
    rows = list(
        _visible(actor, workspace, items)
        .filter(status__in=eligible)
        .select_related("assignee")
        .only(
            "id",
            "source_system_id",
            "record_type",
            "external_id",
            "status",
            "resolution",
            "snoozed_until",
            "assignee__username",
        )
    )
    if not rows:
        return 0
    with transaction.atomic():
        ExceptionItem.objects.filter(pk__in=[r.pk for r in rows]).update(**changes)
        record_many(workspace, actor, action, [(r, _before(r, before_fields), after) for r in rows], note=note)
        if "status" in changes:
            refresh_stakes(workspace.pk, {row.record_ref for row in rows})
    return len(rows)


def _before(item, fields):
    snapshot = {}
    for name in fields:
        if name == "assignee":
            snapshot["assignee"] = item.assignee.username if item.assignee_id else None
        elif name == "snoozed_until":
            snapshot["snoozed_until"] = item.snoozed_until.isoformat() if item.snoozed_until else None
        else:
            snapshot[name] = getattr(item, name)
    return snapshot


def claim(actor, workspace, items):
    require(actor, workspace, ACT)
    return _change(
        actor,
        workspace,
        items,
        "exception.claim",
        PENDING,
        {"assignee": actor},
        {"assignee": _username(actor)},
        before_fields=("assignee",),
    )


def assign(actor, workspace, items, assignee):
    """Assign to a teammate who may act on exceptions; ``assignee=None`` unassigns."""
    require(actor, workspace, ACT)
    if assignee is not None and not can(assignee, workspace, ACT):
        raise ActionRefused(f"{assignee.get_username()} cannot work exceptions in this workspace.")
    return _change(
        actor,
        workspace,
        items,
        "exception.assign",
        PENDING,
        {"assignee": assignee},
        {"assignee": _username(assignee)},
        before_fields=("assignee",),
    )


def resolve(actor, workspace, items, resolution, note=""):
    require(actor, workspace, ACT)
    if resolution not in dict(USER_RESOLUTIONS):
        raise ActionRefused("Choose a resolution: " + ", ".join(label for _, label in USER_RESOLUTIONS) + ".")
    changes = {
        "status": Status.RESOLVED,
        "resolution": resolution,
        "resolution_note": note.strip(),
        "resolved_at": timezone.now(),
        "resolved_by": actor,
        "snoozed_until": None,
    }
    after = {"status": Status.RESOLVED, "resolution": resolution}
    eligible = (*PENDING, Status.IGNORED)
    return _change(
        actor,
        workspace,
        items,
        "exception.resolve",
        eligible,
        changes,
        after,
        note.strip(),
        before_fields=("status", "resolution"),
    )


def snooze(actor, workspace, items, until, note=""):
    require(actor, workspace, ACT)
    if until is None or until <= timezone.now():
        raise ActionRefused("Snooze until a date in the future.")
    changes = {"status": Status.SNOOZED, "snoozed_until": until}
    after = {"status": Status.SNOOZED, "snoozed_until": until.isoformat()}
    return _change(
        actor,
        workspace,
        items,
        "exception.snooze",
        PENDING,
        changes,
        after,
        note.strip(),
        before_fields=("status", "snoozed_until"),
    )


def ignore(actor, workspace, items, reason):
    require(actor, workspace, ACT)
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused("Say why these are ignored; the reason stays on record.")
    changes = {"status": Status.IGNORED, "resolution_note": reason, "snoozed_until": None}
    return _change(actor, workspace, items, "exception.ignore", PENDING, changes, {"status": Status.IGNORED}, reason)


def reopen(actor, workspace, items, note=""):
    require(actor, workspace, ACT)
    changes = {
        "status": Status.OPEN,
        "resolution": "",
        "resolution_note": "",
        "resolved_at": None,
        "resolved_by": None,
        "snoozed_until": None,
    }
    eligible = (Status.RESOLVED, Status.IGNORED, Status.SNOOZED)
    return _change(
        actor,
        workspace,
        items,
        "exception.reopen",
        eligible,
        changes,
        {"status": Status.OPEN},
        note.strip(),
        before_fields=("status", "resolution"),
    )


def comment(actor, workspace, items, body):
    """Comment on each item. Managers may, on the exceptions of their own projects."""
    require(actor, workspace, COMMENT)
    body = (body or "").strip()
    if not body:
        raise ActionRefused("A comment needs some text.")
    rows = list(_visible(actor, workspace, items).only("id", "record_type", "external_id"))
    if not rows:
        return 0
    with transaction.atomic():
        Comment.objects.bulk_create(
            [Comment(workspace=workspace, exception=r, author=actor, body=body) for r in rows], batch_size=500
        )
        record_many(workspace, actor, "exception.comment", [(r, None, {"comment": body}) for r in rows])
    return len(rows)


def permissions_of(user, workspace):
    """What ``user`` may do with the workspace's exceptions: the pages offer only the forms they may use."""
    return {"can_act": can(user, workspace, ACT), "can_comment": can(user, workspace, COMMENT)}


def teammates(workspace):
    """The people exceptions can be assigned to: the workspace's admins and operators."""
    return teammates_in([workspace])


def teammates_in(workspaces):
    """The people exceptions of any of ``workspaces`` can be assigned to (one query, however many firms);
    whether they work in each firm of a selection is the assignment's own check."""
    from opsview.workspaces.models import Membership
    from opsview.workspaces.permissions import ALLOWED

    roles = ALLOWED[ACT]
    ids = Membership.objects.filter(workspace__in=list(workspaces), role__in=roles).values("user_id")
    return get_user_model().objects.filter(id__in=ids).order_by("username")


def save_kind_setting(actor, workspace, kind, threshold_days, sla_hours, fix_guide):
    require(actor, workspace, ADMINISTER)
    Kind(kind)  # an unknown kind is a programming error, not a user's
    setting = KindSetting.objects.for_workspace(workspace).filter(kind=kind).first()
    default = DEFAULTS[kind]
    if setting is None:
        setting = KindSetting(
            workspace=workspace,
            kind=kind,
            threshold_days=default.threshold_days,
            sla_hours=default.sla_hours,
            fix_guide="",
        )
    before = {
        "threshold_days": setting.threshold_days,
        "sla_hours": setting.sla_hours,
        "fix_guide": setting.fix_guide or default.fix_guide,
    }
    fix_guide = (fix_guide or "").strip()
    after = {"threshold_days": threshold_days, "sla_hours": sla_hours, "fix_guide": fix_guide or default.fix_guide}
    if before == after:
        return setting
    setting.threshold_days, setting.sla_hours = threshold_days, sla_hours
    setting.fix_guide = "" if fix_guide == default.fix_guide else fix_guide
    setting.save()
    record(workspace, actor, "queue_setting.change", setting, before=before, after=after)
    return setting


def save_group_guide(actor, group, fix_guide):
    require(actor, group.workspace, ADMINISTER)
    fix_guide = (fix_guide or "").strip()
    if fix_guide == group.fix_guide:
        return group
    before = {"fix_guide": group.fix_guide}
    group.fix_guide = fix_guide
    group.save(update_fields=["fix_guide"])
    record(group.workspace, actor, "group.fix_guide", group, before=before, after={"fix_guide": fix_guide})
    return group


def mark_queue_settings_reviewed(actor, workspace, note=""):
    """An admin confirms the thresholds and SLAs fit the firm (the onboarding checklist's review step)."""
    require(actor, workspace, ADMINISTER)
    before = {
        "reviewed_at": workspace.queue_settings_reviewed_at.isoformat()
        if workspace.queue_settings_reviewed_at
        else None
    }
    workspace.queue_settings_reviewed_at = timezone.now()
    workspace.save(update_fields=["queue_settings_reviewed_at"])
    after = {"reviewed_at": workspace.queue_settings_reviewed_at.isoformat()}
    record(workspace, actor, "queue_setting.reviewed", workspace, before=before, after=after, note=note)
    return workspace.queue_settings_reviewed_at


def save_masked_fields(actor, workspace, names):
    require(actor, workspace, ADMINISTER)
    names = sorted({n.strip() for n in names if n.strip()}, key=str.lower)
    before = masked_fields_for(workspace)
    settings, _ = QueueSettings.objects.get_or_create(
        workspace=workspace, defaults={"masked_fields": "\n".join(DEFAULT_MASKED_FIELDS)}
    )
    settings.masked_fields = "\n".join(names)
    settings.save(update_fields=["masked_fields"])
    record(workspace, actor, "queue_setting.masked_fields", settings, {"fields": before}, {"fields": names})
    return names


def save_view(actor, workspace, name, query):
    require(actor, workspace, VIEW)
    name = (name or "").strip()
    query = (query or "").lstrip("?")
    if not name:
        raise ValueError("Name the view.")
    if len(name) > 80:
        raise ValueError(f"A view's name has at most 80 characters; this one has {len(name)}.")
    if len(query) > 1000:
        raise ValueError("This view's filters are too long to save (over 1,000 characters); shorten the search.")
    view, _ = SavedView.objects.update_or_create(workspace=workspace, user=actor, name=name, defaults={"query": query})
    record(workspace, actor, "saved_view.save", view, after={"name": name, "query": query})
    return view


def delete_view(actor, view):
    require(actor, view.workspace, VIEW)
    if view.user_id != actor.pk:
        raise PermissionError("Only its owner deletes a saved view.")
    record(view.workspace, actor, "saved_view.delete", view, before={"name": view.name, "query": view.query})
    view.delete()
