"""Firms, their people and their onboarding: what a partner (or a firm's own admin) sets up from the browser."""

from django.urls import path

from opsview.firms import onboarding_views

urlpatterns = [
    path("onboarding/", onboarding_views.onboarding_page, name="onboarding"),
]
