from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "opsview.demo"
    label = "demo"
