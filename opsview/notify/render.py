"""A message in each channel's own format, every one carrying the workspace's name and the link behind it.

The chat payloads are written here rather than through a notification library: apprise (tried first) sends
Slack only to the fixed ``https://hooks.slack.com/services`` host and Teams workflows only over ``https://``,
so neither can be pointed at a local receiver in tests, and its ``notify()`` answers True or False, where the
delivery log needs each attempt's HTTP status and error. The three payloads are small, documented JSON.
"""

import json

from django.template.loader import render_to_string
from django.utils import timezone

from opsview.workspaces.branding import sender_name
from opsview.workspaces.theme import safe_colour


def branding(workspace):
    """The workspace's name and accent colour, as messages show them; for a firm a partner runs, the partner's
    name too, for the sender and the footer ("sent by <Partner> for <Firm>")."""
    partner = workspace.partner
    return {
        "name": workspace.name,
        "accent": safe_colour(workspace.accent_color),
        "partner": partner.name if partner is not None else "",
        "sender": sender_name(workspace),
    }


def footer(workspace):
    """The line under every message: whose it is."""
    brand = branding(workspace)
    return f"sent by {brand['partner']} for {brand['name']}" if brand["partner"] else f"opsview · {brand['name']}"


def _context(workspace, delivery):
    return {
        "brand": branding(workspace),
        "subject": delivery.subject,
        "lines": list(delivery.lines),
        "link": delivery.link,
        "link_label": delivery.link_label,
    }


def plain_text(workspace, subject, lines, link, link_label):
    """The message as plain text: the e-mail's text part, and the body the delivery log shows."""
    context = {
        "brand": branding(workspace),
        "subject": subject,
        "lines": list(lines),
        "link": link,
        "link_label": link_label,
    }
    return render_to_string("notify/email.txt", context).strip() + "\n"


def email_html(workspace, delivery):
    """The e-mail's HTML alternative, in the workspace's accent colour."""
    return render_to_string("notify/email.html", _context(workspace, delivery))


def _slack_escape(text):
    # Slack's mrkdwn reads &, < and > as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(workspace, delivery):
    """A Slack incoming webhook's body: ``text`` (notifications, clients without blocks) and Block Kit blocks."""
    name, subject = _slack_escape(workspace.name), _slack_escape(delivery.subject)
    lines = "\n".join(f"• {_slack_escape(line)}" for line in delivery.lines)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{subject}*" + (f"\n{lines}" if lines else "")}}]
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": delivery.link_label[:75]},
                    "url": delivery.link,
                }
            ],
        }
    )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(footer(workspace))}]})
    link = f"<{_slack_escape(delivery.link)}|{_slack_escape(delivery.link_label)}>"
    return {"text": f"{name}: {subject} {link}", "blocks": blocks}


def teams_payload(workspace, delivery):
    """A Teams workflow ("When a Teams webhook request is received") body: one Adaptive Card with the link."""
    body = [
        {"type": "TextBlock", "text": workspace.name, "size": "Small", "isSubtle": True, "wrap": True},
        {"type": "TextBlock", "text": delivery.subject, "weight": "Bolder", "size": "Medium", "wrap": True},
    ]
    body += [{"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"} for line in delivery.lines]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [{"type": "Action.OpenUrl", "title": delivery.link_label, "url": delivery.link}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def webhook_payload(workspace, delivery, sent_at=None):
    """The signed webhook's JSON body."""
    sent_at = sent_at or timezone.now()
    return {
        "type": "opsview.alert",
        "id": str(delivery.uid),
        "workspace": {"slug": workspace.slug, "name": workspace.name},
        "topic": delivery.topic,
        "subject": delivery.subject,
        "lines": list(delivery.lines),
        "link": delivery.link,
        "sent_at": sent_at.isoformat(),
    }


def encoded(payload):
    """The exact bytes sent (and signed)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
