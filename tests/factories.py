"""factory_boy factories: synthetic people only (SPEC §13)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import cast

import factory
from django.utils import timezone

from openiop.accounts.models import Facility, Organization, Program, User
from openiop.accounts.roles import Role
from openiop.patients import rules
from openiop.patients.models import (
    BreakGlassGrant,
    CareTeamMember,
    Patient,
    PatientSearchToken,
    SupportContact,
)
from openiop.patients.services import tokens_for

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = "Test Recovery Collective"


class FacilityFactory(factory.django.DjangoModelFactory[Facility]):
    class Meta:
        model = Facility

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Facility {n}")
    code = factory.Sequence(lambda n: f"F{n:03d}")
    time_zone = "America/Los_Angeles"


class ProgramFactory(factory.django.DjangoModelFactory[Program]):
    class Meta:
        model = Program

    facility = factory.SubFactory(FacilityFactory)
    name = factory.Sequence(lambda n: f"Adult IOP {n}")
    level_of_care = "2.1"
    population = "adult"
    min_hours_per_day = Decimal("3.0")
    min_days_per_week = 3
    min_hours_per_week = Decimal("9")
    max_hours_per_week = Decimal("19")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.org")
    username = factory.LazyAttribute(lambda o: o.email)
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Staff{n}")
    role = Role.CLINICIAN
    organization = factory.SubFactory(OrganizationFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def facilities(self, create: bool, extracted: list[Facility] | None, **kwargs: object) -> None:
        user = cast(User, self)  # post-generation hooks receive the object built
        if create and extracted:
            user.facilities.set(extracted)
        if create:
            user.save()


class PatientFactory(factory.django.DjangoModelFactory[Patient]):
    """A patient with search tokens, as services.create_patient would leave it."""

    class Meta:
        model = Patient
        skip_postgeneration_save = True

    facility = factory.SubFactory(FacilityFactory)
    mrn = factory.Sequence(lambda n: f"T-{100000 + n}")
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = "Example"
    date_of_birth = dt.date(1990, 4, 12)
    sex_at_birth = "female"
    gender_identity = "woman"
    pronouns = "she/her"
    phone = factory.Sequence(lambda n: f"951-555-01{n % 100:02d}")
    phone_digits = factory.LazyAttribute(lambda o: rules.normalize_phone(o.phone)[1])
    status = Patient.Status.ACTIVE

    @factory.post_generation
    def tokens(self, create: bool, extracted: object, **kwargs: object) -> None:
        patient = cast(Patient, self)
        if create:
            PatientSearchToken.objects.bulk_create(
                PatientSearchToken(patient=patient, token=t) for t in tokens_for(patient)
            )


class CareTeamMemberFactory(factory.django.DjangoModelFactory[CareTeamMember]):
    class Meta:
        model = CareTeamMember

    patient = factory.SubFactory(PatientFactory)
    user = factory.SubFactory(UserFactory)
    role = CareTeamMember.Role.PRIMARY_CLINICIAN


class SupportContactFactory(factory.django.DjangoModelFactory[SupportContact]):
    """A support contact as the registration form leaves it: an emergency contact."""

    class Meta:
        model = SupportContact

    patient = factory.SubFactory(PatientFactory)
    name = factory.Sequence(lambda n: f"Contact {n} Example")
    relationship_kind = SupportContact.Kind.SIBLING
    relationship = "sister"
    phone = "951-555-0199"
    is_emergency_contact = True
    order = 0


# The name the registration tests know it by.
EmergencyContactFactory = SupportContactFactory


class BreakGlassGrantFactory(factory.django.DjangoModelFactory[BreakGlassGrant]):
    class Meta:
        model = BreakGlassGrant

    user = factory.SubFactory(UserFactory)
    patient = factory.SubFactory(PatientFactory)
    reason = "Crisis call while the primary counselor is away."
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.created_at + dt.timedelta(hours=1))
