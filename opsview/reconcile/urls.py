from django.urls import path

from opsview.reconcile import views

urlpatterns = [
    path("", views.page, name="reconciliation"),
    path("export.csv", views.export_csv, name="reconciliation-export"),
    path("run/", views.run_now, name="reconciliation-run"),
]
