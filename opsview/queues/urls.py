from django.urls import path

from opsview.queues import detail_views, views

urlpatterns = [
    path("", views.queue, name="queue"),
    path("export.csv", views.export_csv, name="queue-export"),
    path("actions/", views.act, name="queue-act"),
    path("views/", views.save_view, name="queue-save-view"),
    path("views/<int:pk>/delete/", views.delete_view, name="queue-delete-view"),
    path("settings/", detail_views.queue_settings, name="queue-settings"),
    path("<int:pk>/", detail_views.detail, name="queue-item"),
    path("groups/<int:pk>/", detail_views.group, name="queue-group"),
    path("groups/<int:pk>/guide/", detail_views.group_guide, name="queue-group-guide"),
    path("groups/<int:pk>/map/", views.map_value, name="queue-group-map"),
]
