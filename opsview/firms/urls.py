"""Firms, their people and their onboarding: what a partner (or a firm's own admin) sets up from the browser."""

from django.urls import path

from opsview.firms import onboarding_views, partner_views

urlpatterns = [
    path("onboarding/", onboarding_views.onboarding_page, name="onboarding"),
    path("partner/branding/", partner_views.partner_branding, name="partner-branding"),
    path("partner/<int:pk>/logo", partner_views.partner_logo, name="partner-logo"),
    path("partner/<int:pk>/theme.css", partner_views.partner_theme, name="partner-theme"),
]
