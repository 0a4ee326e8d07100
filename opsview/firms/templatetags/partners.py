"""The partner whose brand the sign-in page shows."""

from django import template

from opsview.workspaces.branding import partner_for_host

register = template.Library()


@register.simple_tag(takes_context=True)
def sign_in_partner(context):
    """``partner_for_host`` of the request's host (None without a request); asked once per request."""
    request = context.get("request")
    if request is None:
        return None
    if not hasattr(request, "_sign_in_partner"):
        request._sign_in_partner = partner_for_host(request.get_host())
    return request._sign_in_partner
