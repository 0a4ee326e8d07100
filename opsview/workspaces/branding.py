"""Whose brand a page shows: a partner's on its sign-in page and beside the firms it runs (white-label)."""

from django.db.models import Case, Value, When

from opsview.workspaces.models import Partner


def clean_host(host):
    """``host`` as partners store it: lower case, without a port or a trailing dot."""
    host = (host or "").strip().lower()
    if host.startswith("["):  # an IPv6 literal keeps its colons
        return host.split("]")[0] + "]"
    return host.split(":")[0].rstrip(".")


def partner_for_host(host):
    """The partner whose sign-in page this is: the one whose ``host`` is ``host``, else the only partner when
    exactly one exists, else None (opsview's own brand)."""
    host = clean_host(host)
    # One query: the partner of the host first, then any two; two without a match mean no single partner.
    matches = Case(When(host__iexact=host, then=Value(1)), default=Value(0)) if host else Value(0)
    found = list(Partner.objects.annotate(matches=matches).order_by("-matches", "pk")[:2])
    if found and (found[0].matches or len(found) == 1):
        return found[0]
    return None


def sender_name(workspace):
    """Who an alert about ``workspace`` comes from: "<Partner> for <Firm>" for a partner's firm, else the firm."""
    partner = workspace.partner
    return f"{partner.name} for {workspace.name}" if partner is not None else workspace.name
