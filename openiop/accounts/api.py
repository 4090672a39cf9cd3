from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from openiop.accounts import selectors
from openiop.accounts.models import Credential, Facility, Phase, Program, Track, User


class FacilitySerializer(serializers.ModelSerializer):
    organization: serializers.StringRelatedField = serializers.StringRelatedField()

    class Meta:
        model = Facility
        fields = [
            "id",
            "organization",
            "name",
            "code",
            "time_zone",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "phone",
        ]


class TrackSerializer(serializers.ModelSerializer):
    hours_per_day = serializers.DecimalField(max_digits=4, decimal_places=2, read_only=True)
    weekdays = serializers.ListField(child=serializers.IntegerField(), source="weekday_numbers")

    class Meta:
        model = Track
        fields = ["id", "name", "kind", "start_time", "end_time", "weekdays", "hours_per_day"]


class PhaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Phase
        fields = ["id", "order", "code", "name", "typical_start_week", "typical_end_week"]


class ProgramSerializer(serializers.ModelSerializer):
    tracks = TrackSerializer(many=True, read_only=True)
    phases = PhaseSerializer(many=True, read_only=True)

    class Meta:
        model = Program
        fields = [
            "id",
            "facility",
            "name",
            "level_of_care",
            "population",
            "min_hours_per_day",
            "min_days_per_week",
            "min_hours_per_week",
            "max_hours_per_week",
            "plan_review_days",
            "required_meetings_per_week",
            "tracks",
            "phases",
        ]


class CredentialSerializer(serializers.ModelSerializer):
    class Meta:
        model = Credential
        fields = ["kind", "number", "state", "expires_on"]


class StaffSerializer(serializers.ModelSerializer):
    facilities = serializers.PrimaryKeyRelatedField(many=True, read_only=True)  # type: ignore[var-annotated]
    credentials = CredentialSerializer(many=True, read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "name",
            "email",
            "title",
            "role",
            "facilities",
            "supervisor",
            "needs_cosign",
            "credentials",
        ]


class FacilityViewSet(viewsets.ReadOnlyModelViewSet):
    """The facilities you work at."""

    serializer_class = FacilitySerializer

    def get_queryset(self) -> QuerySet[Facility]:
        return selectors.facilities_for(self.request.user).order_by("name")  # type: ignore[arg-type]


class ProgramViewSet(viewsets.ReadOnlyModelViewSet):
    """Programs of your facilities, with their dose rules, tracks and phases."""

    serializer_class = ProgramSerializer

    def get_queryset(self) -> QuerySet[Program]:
        return selectors.programs_for(self.request.user)  # type: ignore[arg-type]


class StaffViewSet(viewsets.ReadOnlyModelViewSet):
    """Colleagues at your facilities, with roles and credentials."""

    serializer_class = StaffSerializer

    def get_queryset(self) -> QuerySet[User]:
        return selectors.staff_for(self.request.user)  # type: ignore[arg-type]
