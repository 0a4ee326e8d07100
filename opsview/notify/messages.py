"""What a message says, whoever it goes to: the alerts app builds these, the notify app renders and sends them."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    subject: str  # one line, e.g. "3 new posting failures at Tryton ERP (EUR 12,400.00)"
    lines: tuple[str, ...]  # the body: short lines (facts, a list of people to chase…)
    link: str  # path (or absolute URL) of the filtered page behind it, e.g. "/queue/?group=12"
    link_label: str = "Open in opsview"
    topic: str = ""  # what it is about, for the log, e.g. "alert:new_group:12"
