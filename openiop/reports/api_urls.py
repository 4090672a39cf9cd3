from django.urls import path

from openiop.reports import api

urlpatterns = [
    path("reports/", api.ReportListView.as_view(), name="reports"),
    path("reports/<slug:key>/", api.ReportDataView.as_view(), name="report-data"),
]
