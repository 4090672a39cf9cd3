"""Factories for help requests and screenings: synthetic people only (SPEC §13)."""

from __future__ import annotations

import factory
from django.utils import timezone

from openiop.intake.models import ContactAttempt, Inquiry, InquiryStageChange, Screening
from tests.factories import FacilityFactory


class InquiryFactory(factory.django.DjangoModelFactory[Inquiry]):
    class Meta:
        model = Inquiry

    facility = factory.SubFactory(FacilityFactory)
    first_name = factory.Sequence(lambda n: f"Casey{n}")
    last_name = "Example"
    phone = factory.Sequence(lambda n: f"951-555-01{n % 100:02d}")
    email = factory.Sequence(lambda n: f"casey{n}@example.org")
    concern_substances = True
    consent_to_contact = True
    created_at = factory.LazyFunction(timezone.now)
    stage_changed_at = factory.LazyAttribute(lambda o: o.created_at)


class InquiryStageChangeFactory(factory.django.DjangoModelFactory[InquiryStageChange]):
    class Meta:
        model = InquiryStageChange

    inquiry = factory.SubFactory(InquiryFactory)
    to_stage = "new"


class ContactAttemptFactory(factory.django.DjangoModelFactory[ContactAttempt]):
    class Meta:
        model = ContactAttempt

    inquiry = factory.SubFactory(InquiryFactory)
    method = ContactAttempt.Method.PHONE
    outcome = ContactAttempt.Outcome.NO_ANSWER


class ScreeningFactory(factory.django.DjangoModelFactory[Screening]):
    class Meta:
        model = Screening

    inquiry = factory.SubFactory(InquiryFactory)
    cssrs_answers = factory.LazyFunction(lambda: {str(i): False for i in range(1, 7)})
    cssrs_band = "none"
    living_situation = Screening.LivingSituation.FAMILY
    has_support_system = True
    motivation = Screening.Motivation.WANTS_SOBRIETY
    track = Screening.Track.EVENING
    needs_24h_supervision = False
    unstable = False
    recommended_outcome = Screening.Outcome.IOP
    outcome = Screening.Outcome.IOP
