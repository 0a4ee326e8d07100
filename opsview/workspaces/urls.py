from django.urls import path

from opsview.workspaces import views

urlpatterns = [
    path("workspace/switch/", views.switch_workspace, name="switch-workspace"),
    path("workspace/<int:pk>/logo", views.logo, name="workspace-logo"),
    path("workspace/theme.css", views.workspace_theme, name="workspace-theme"),
]
