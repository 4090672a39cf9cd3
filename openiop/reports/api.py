"""Report data over the REST API (being written: issue 7)."""

from __future__ import annotations

from rest_framework import generics


class ReportListView(generics.GenericAPIView):
    pass


class ReportDataView(generics.GenericAPIView):
    pass
