"""The app's URLs and one that fails after reading a posted password, for the 500 page with DEBUG off."""

from django.urls import path

from opsview.urls import urlpatterns as app_urlpatterns


def fails_after_reading_the_form(request):
    request.POST.get("password")
    raise RuntimeError("the view failed")


urlpatterns = [*app_urlpatterns, path("boom/", fails_after_reading_the_form)]
