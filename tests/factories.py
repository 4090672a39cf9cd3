"""factory_boy factories: synthetic people only (SPEC §13)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from openiop.accounts.models import Facility, Organization, Program, User
from openiop.accounts.roles import Role
from openiop.patients import rules
from openiop.patients.models import CareTeamMember, Patient, PatientSearchToken
from openiop.patients.services import tokens_for

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = "Test Recovery Collective"


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Facility

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Facility {n}")
    code = factory.Sequence(lambda n: f"F{n:03d}")
    time_zone = "America/Los_Angeles"


class ProgramFactory(factory.django.DjangoModelFactory):
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


class UserFactory(factory.django.DjangoModelFactory):
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
        if create and extracted:
            self.facilities.set(extracted)
        if create:
            self.save()


class PatientFactory(factory.django.DjangoModelFactory):
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
        if create:
            PatientSearchToken.objects.bulk_create(
                PatientSearchToken(patient=self, token=t) for t in tokens_for(self)
            )


class CareTeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTeamMember

    patient = factory.SubFactory(PatientFactory)
    user = factory.SubFactory(UserFactory)
    role = CareTeamMember.Role.PRIMARY_CLINICIAN
