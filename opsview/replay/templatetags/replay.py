"""``{% replay_panel item %}``: an exception's replays and replay forms, for the queues' detail page."""

from django import template

from opsview.queues.masking import readable_json
from opsview.queues.policies import masked_fields_for
from opsview.replay.models import ACTIVE

register = template.Library()


@register.inclusion_tag("replay/_panel.html", takes_context=True)
def replay_panel(context, item):
    request = context["request"]
    masked = masked_fields_for(request.workspace)
    replays = list(item.replays.select_related("target_system", "requested_by")[:20])
    latest = replays[0] if replays else None
    draft = request.session.pop("replay_draft", None)
    return {
        "item": item,
        "replays": replays,
        "replay_active": any(r.status in ACTIVE for r in replays),
        "latest_replay": latest,
        "latest_original": readable_json(latest.original_payload, masked) if latest else "",
        "latest_edited": readable_json(latest.edited_payload, masked) if latest else "",
        "replay_draft": draft["text"] if draft and draft.get("item") == item.pk else "",
        "payload": context.get("payload", ""),
        "can_act": context.get("can_act"),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
