from django.apps import AppConfig


class FirmsConfig(AppConfig):
    name = "opsview.firms"
    label = "firms"
    verbose_name = "Firms and onboarding"
