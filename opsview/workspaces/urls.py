from django.urls import path

from opsview.workspaces import views

urlpatterns = [
    path("workspace/switch/", views.switch_workspace, name="switch-workspace"),
    path("settings/branding/", views.branding, name="branding"),
    path("workspace/<int:pk>/logo", views.logo, name="workspace-logo"),
    path("workspace/theme.css", views.workspace_theme, name="workspace-theme"),
]
