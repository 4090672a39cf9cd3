from django.urls import path

from openiop.timeline import api

urlpatterns = [path("timeline/", api.TimelineView.as_view(), name="timeline")]
