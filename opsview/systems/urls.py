from django.urls import path

from opsview.systems import views

urlpatterns = [
    path("systems/", views.systems, name="systems"),
    path("systems/<int:pk>/", views.system_page, name="system-edit"),
    path("systems/<int:pk>/test/", views.test_connection, name="system-test"),
    path("systems/<int:pk>/tokens/", views.create_system_token, name="system-token"),
    path("systems/<int:pk>/first-data/", views.first_data, name="system-first-data"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke_token, name="revoke-token"),
]
