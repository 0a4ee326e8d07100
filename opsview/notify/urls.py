from django.urls import path

from opsview.notify import views

urlpatterns = [
    path("channels/", views.channels, name="alert-channels"),
    path("channels/<int:pk>/", views.channels, name="alert-channel-edit"),
    path("channels/<int:pk>/deactivate/", views.deactivate, name="alert-channel-deactivate"),
    path("channels/<int:pk>/test/", views.send_test, name="alert-channel-test"),
    path("deliveries/", views.deliveries, name="alert-deliveries"),
    path("deliveries/<int:pk>/retry/", views.retry, name="alert-delivery-retry"),
]
