"""A group's cause as a title a person reads, from its normalized message (``classify.normalize_message``)."""

import re

_PLACEHOLDER_QUOTED = re.compile(r"""(['"‘“«])<(?:id|n)>(['"’”»])""")
_UNKNOWN_VALUE = re.compile(r" — unknown value (['\"‘“«])(.*?)(['\"’”»])$")


def readable_cause(message, value=""):
    """A group's normalized message as a title a person reads: the placeholders of ``normalize_message`` in words.

    A missing mapping names its one unknown value ("Unknown project code 'ACME-01'"); elsewhere the ids and
    numbers that differ from one record to the next read as "…" ("Posting period … is closed").
    """
    text = message or ""
    unknown = _UNKNOWN_VALUE.search(text)
    if unknown or value:
        known = unknown.group(2) if unknown else value
        text = _UNKNOWN_VALUE.sub("", text)
        if _PLACEHOLDER_QUOTED.search(text):
            text = _PLACEHOLDER_QUOTED.sub(lambda m: f"{m.group(1)}{known}{m.group(2)}", text, count=1)
        elif unknown and known not in text:
            text = f"{text}: {unknown.group(1)}{known}{unknown.group(3)}"
    text = _PLACEHOLDER_QUOTED.sub("…", text)
    return text.replace("<email>", "an e-mail address").replace("<id>", "…").replace("<n>", "…")
