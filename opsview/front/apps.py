from django.apps import AppConfig


class FrontConfig(AppConfig):
    name = "opsview.front"
    label = "front"
