from django.urls import path

from opsview.audit import views

urlpatterns = [
    path("", views.entries, name="audit"),
]
