from django.urls import path

from opsview.dashboards import lists, views

urlpatterns = [
    path("dashboards/executive/", views.executive, name="executive-dashboard"),
    path("dashboards/executive/<slug:key>.csv", views.chart_csv, name="chart-csv"),
    path("dashboards/projects/", views.projects, name="my-projects"),
    path("dashboards/projects/<int:pk>/", views.project, name="project-billing"),
    path("dashboards/portfolio/", views.partner_portfolio, name="portfolio"),
    path("records/time-entries/", lists.time_entries, name="time-entries"),
    path("records/sync-events/", lists.sync_events, name="sync-events"),
]
