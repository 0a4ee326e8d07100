from django.urls import path

from opsview.replay import views

urlpatterns = [
    path("", views.replays, name="replays"),
    path("request/", views.request_replay, name="replay-request"),
    path("exceptions/<int:pk>/edit/", views.edit_and_replay, name="replay-edit"),
    path("exceptions/<int:pk>/status/", views.status, name="replay-status"),
    path("groups/<int:pk>/map/", views.map_group, name="replay-map-group"),
]
