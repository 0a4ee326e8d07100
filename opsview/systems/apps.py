from django.apps import AppConfig


class SystemsConfig(AppConfig):
    name = "opsview.systems"
    label = "systems"
    verbose_name = "Systems"
