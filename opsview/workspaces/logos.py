"""What a logo upload must be, for a workspace's and a partner's logo alike."""

from django import forms
from django.http import HttpResponse

LOGO_MAX_BYTES = 256 * 1024
LOGO_TYPES = {"image/png", "image/jpeg", "image/webp", "image/svg+xml", "image/gif"}
LOGO_HELP = "PNG, JPEG, WebP, GIF or SVG, at most 256 KB; about 24 px high."


def check_logo(logo):
    """``logo`` (an uploaded file or None) if it may be a logo; a ``ValidationError`` saying why not."""
    if logo is None:
        return None
    if logo.size > LOGO_MAX_BYTES:
        raise forms.ValidationError("The logo is larger than 256 KB.")
    if logo.content_type not in LOGO_TYPES:
        raise forms.ValidationError("The logo must be a PNG, JPEG, WebP, GIF or SVG image.")
    return logo


def logo_response(image, cache):
    """A stored logo (``WorkspaceLogo`` or ``PartnerLogo``) as a response, cached as ``cache`` says
    ("private" or "public")."""
    response = HttpResponse(bytes(image.content), content_type=image.content_type)
    response["Cache-Control"] = f"{cache}, max-age=3600"
    # An SVG opened on its own must not run scripts or load anything.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response
