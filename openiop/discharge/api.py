"""REST API of discharge and continuing care (being written: issue 7)."""

from __future__ import annotations

from rest_framework import viewsets


class DischargeViewSet(viewsets.GenericViewSet):
    pass


class ReferralViewSet(viewsets.GenericViewSet):
    pass


class FollowUpViewSet(viewsets.GenericViewSet):
    pass
