from django.urls import path

from opsview.alerts import views

urlpatterns = [
    path("alerts/", views.fired, name="alerts"),
    path("alerts/mine/", views.my_alerts, name="my-alerts"),
    path("settings/alerts/rules/", views.rules, name="alert-rules"),
    path("settings/alerts/rules/new/", views.rule_form, name="alert-rule-add"),
    path("settings/alerts/rules/<int:pk>/", views.rule_form, name="alert-rule-edit"),
    path("settings/alerts/rules/<int:pk>/active/", views.rule_active, name="alert-rule-active"),
]
