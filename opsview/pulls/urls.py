from django.urls import path

from opsview.pulls import views

urlpatterns = [
    path("<int:pk>/pull/", views.pull_now, name="system-pull"),
]
