"""The app's URLs plus a stand-in for the queue page, named as the queues app names it."""

from django.http import HttpResponse
from django.urls import path

from opsview.urls import urlpatterns as app_urlpatterns

urlpatterns = [*app_urlpatterns, path("queues/", lambda request: HttpResponse("queue"), name="queue")]
