from django.apps import AppConfig


class ReconcileConfig(AppConfig):
    name = "opsview.reconcile"
    label = "reconcile"
    verbose_name = "Reconciliation"
