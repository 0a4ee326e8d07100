"""Firms, their people and their onboarding: what a partner (or a firm's own admin) sets up from the browser."""

from django.urls import path  # noqa: F401

urlpatterns = []
