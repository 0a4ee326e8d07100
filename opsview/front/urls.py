from django.urls import path

from opsview.front import views

urlpatterns = [
    path("", views.home, name="home"),
    path("runs/", views.sync_runs, name="sync-runs"),
    path("runs/<int:pk>/", views.sync_run, name="sync-run"),
    path("settings/branding/", views.branding, name="branding"),
]
