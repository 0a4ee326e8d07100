"""What a connector needs to be built, declared once on its class as ``SETTINGS``.

The app renders the system form from it (labels, help, which fields are secrets) and stores
non-secret values in the system's connector settings and secrets encrypted in its credentials;
``registry.build`` then passes both as the connector's keyword arguments, by ``name``.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One keyword argument of a connector, as a person filling in the system form sees it."""

    name: str  # the connector's keyword argument
    label: str
    help: str = ""
    secret: bool = False  # stored encrypted, write-only: shown masked, replaced by typing a new one
    required: bool = True
    kind: str = "text"  # text, url, integer, boolean, choice
    choices: tuple[tuple[str, str], ...] = ()
    default: object = None
    placeholder: str = ""


def settings_of(connector_class) -> tuple[Setting, ...]:
    """The declared settings of a connector class (empty for one that declares none)."""
    return tuple(getattr(connector_class, "SETTINGS", ()))
