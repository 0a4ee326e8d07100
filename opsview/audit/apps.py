from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "opsview.audit"
    label = "audit"
    verbose_name = "Audit trail"
