"""The partner whose brand the sign-in page shows."""

from django import template

from opsview.workspaces.branding import partner_for_host

register = template.Library()


@register.simple_tag(takes_context=True)
def sign_in_partner(context):
    """``partner_for_host`` of the request's host (None without a request)."""
    request = context.get("request")
    return partner_for_host(request.get_host()) if request is not None else None
