from django.urls import path

from opsview.systems import views

urlpatterns = [
    path("systems/", views.systems, name="systems"),
    path("systems/<int:pk>/", views.systems, name="system-edit"),
    path("systems/<int:pk>/test/", views.test_connection, name="system-test"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke_token, name="revoke-token"),
]
