"""``{% replay_panel item %}``: an exception's replays and replay forms, for the queues' detail page."""

from django import template
from django.core.exceptions import PermissionDenied

from opsview.common.masking import readable_json
from opsview.queues.policies import masked_fields_for
from opsview.queues.services import ActionRefused
from opsview.replay import payloads, services
from opsview.replay.models import ACTIVE, ReplayAttempt, SourceResend

register = template.Library()
ATTEMPT_LIMIT = 100


@register.inclusion_tag("replay/_panel.html", takes_context=True)
def replay_panel(context, item):
    request = context["request"]
    masked = masked_fields_for(request.workspace)
    replays = list(item.replays.select_related("target_system", "requested_by")[:20])
    latest = replays[0] if replays else None
    draft = request.session.pop("replay_draft", None)
    attempts = list(
        ReplayAttempt.objects.filter(replay__exception=item)
        .select_related("replay__requested_by")
        .order_by("-started_at", "-id")[:ATTEMPT_LIMIT]
    )
    for attempt in attempts:
        attempt.shown_response = readable_json(attempt.response, masked)
    editor = _editor(context, item, masked) if context.get("can_act") and item.is_pending else {}
    return {
        "item": item,
        "replays": replays,
        "attempts": attempts,
        "waiting_for_source": _waiting_for_source(item),
        "replay_active": any(r.status in ACTIVE for r in replays),
        "latest_replay": latest,
        "latest_original": readable_json(latest.original_payload, masked) if latest else "",
        "latest_edited": readable_json(latest.edited_payload, masked) if latest else "",
        "replay_draft": draft["text"] if draft and draft.get("item") == item.pk else "",
        **editor,
        "can_act": context.get("can_act"),
        "is_workspace_admin": context.get("is_workspace_admin"),  # only an admin may open the system's page
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }


def _editor(context, item, masked):
    """The payload the connector would send to the target (mappings applied, sensitive fields masked)."""
    request = context["request"]
    try:
        plan = services.plan_replay(request.user, request.workspace, type(item).objects.filter(pk=item.pk))
    except (ActionRefused, PermissionDenied):  # the page still shows; the replay form says why when used
        plan = None
    if plan is None or not plan.rows:
        problem = plan.not_connected[0][1] if plan and plan.not_connected else ""
        return {"editor_payload": "", "not_connected": problem}
    row = plan.rows[0]
    return {
        "editor_payload": readable_json(row.payload, masked),
        "editor_checked": payloads.schema_for(item.system.vendor, item.record_type) is not None,
        "editor_mappings": row.mappings,
        "not_connected": "",
    }


def _waiting_for_source(item):
    if not item.is_pending:
        return None
    waiting = SourceResend.objects.filter(exception=item).select_related("requested_by").first()
    if waiting is None or (item.last_recurred_at and waiting.requested_at < item.last_recurred_at):
        return None  # chosen before the record failed again: a new decision is needed
    return waiting
