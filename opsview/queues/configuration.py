"""What admins set for the queues (thresholds, SLAs, fix guides, masked fields) and what each user
keeps for themselves (saved views). Every change is audited."""

from opsview.audit.trail import record
from opsview.queues.models import Kind, KindSetting, QueueSettings, SavedView
from opsview.queues.policies import DEFAULT_MASKED_FIELDS, DEFAULTS, masked_fields_for
from opsview.workspaces.permissions import ADMINISTER, VIEW, require


def save_kind_setting(actor, workspace, kind, threshold_days, sla_hours, fix_guide):
    require(actor, workspace, ADMINISTER)
    Kind(kind)  # an unknown kind is a programming error, not a user's
    setting = KindSetting.objects.for_workspace(workspace).filter(kind=kind).first()
    default = DEFAULTS[kind]
    if setting is None:
        setting = KindSetting(workspace=workspace, kind=kind, threshold_days=default.threshold_days,
                              sla_hours=default.sla_hours, fix_guide="")  # fmt: skip
    before = {"threshold_days": setting.threshold_days, "sla_hours": setting.sla_hours,
              "fix_guide": setting.fix_guide or default.fix_guide}  # fmt: skip
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
    view, _ = SavedView.objects.update_or_create(workspace=workspace, user=actor, name=name,
                                                 defaults={"query": query})  # fmt: skip
    record(workspace, actor, "saved_view.save", view, after={"name": name, "query": query})
    return view


def delete_view(actor, view):
    require(actor, view.workspace, VIEW)
    if view.user_id != actor.pk:
        raise PermissionError("Only its owner deletes a saved view.")
    record(view.workspace, actor, "saved_view.delete", view, before={"name": view.name, "query": view.query})
    view.delete()
