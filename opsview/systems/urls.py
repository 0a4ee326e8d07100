from django.urls import path

from opsview.systems import oauth_views, views

urlpatterns = [
    path("systems/", views.systems, name="systems"),
    path("systems/<int:pk>/", views.system_page, name="system-edit"),
    path("systems/<int:pk>/test/", views.test_connection, name="system-test"),
    path("systems/<int:pk>/tokens/", views.create_system_token, name="system-token"),
    path("systems/<int:pk>/first-data/", views.first_data, name="system-first-data"),
    path("systems/<int:pk>/xero/connect/", oauth_views.connect, name="xero-connect"),
    path("systems/<int:pk>/xero/organisation/", oauth_views.choose_tenant, name="xero-tenant"),
    path("xero/callback/", oauth_views.callback, name="xero-callback"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke_token, name="revoke-token"),
]
