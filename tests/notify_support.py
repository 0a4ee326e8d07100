"""What the alert delivery tests share: tasks run at once, channels on a local receiver, a refusing mail server."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend
from django_q.conf import Conf

from opsview.notify.messages import Message
from opsview.notify.models import Channel

SLACK_PATH = "/services/T0NW/B0FIN/hook-secret-9f3k"
MESSAGE = Message(
    subject="3 new posting failures at Tryton (EUR 12,400.00)",
    lines=("Period 2026-10 is closed", "Chase: Wendy Worker, Max Manager"),
    link="/queues/?group=12",
    topic="alert:new_group:12",
)


def run_tasks_at_once(monkeypatch):
    """django-q2 runs each task here and now, as a cluster with ``sync`` does."""
    monkeypatch.setattr(Conf, "SYNC", True)


def brand(northwind, settings):
    """Northwind with its own name and accent colour, on a public address."""
    settings.OPSVIEW_BASE_URL = "https://ops.northwind.example"
    northwind.workspace.name = "Northwind Traders"
    northwind.workspace.accent_color = "#a83232"
    northwind.workspace.save()
    return northwind.workspace


def channel(workspace, server, kind, name, path=SLACK_PATH, secret=None):
    made = Channel(workspace=workspace, name=name, kind=kind)
    made.set_secrets(url=server.url + path, secret=secret)
    made.save()
    return made


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every message with 550."""

    def send_messages(self, messages):
        raise smtplib.SMTPResponseException(550, b"5.1.1 mailbox unavailable")
