"""The public help request at /get-help/: no sign-in, spam-resistant, reveals nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.intake.models import Inquiry, InquiryStageChange
from openiop.notifications.models import Notification
from tests.conftest import body

URL = "/get-help/"


def post(client: Client, data: dict[str, Any], **extra: Any) -> Any:
    return client.post(URL, data, **extra)


def test_it_shows_the_form_without_sign_in_and_without_the_staff_nav(facility: Facility) -> None:
    response = Client().get(URL)
    assert response.status_code == 200
    html = body(response)
    assert 'name="website"' in html
    assert "Leave this field empty" in html
    assert 'tabindex="-1"' in html
    assert 'class="intake-hp"' in html
    assert "mainnav" not in html
    assert "Which location?" not in html  # one facility: no choice to make
    assert "csrfmiddlewaretoken" in html


def test_it_asks_which_location_when_there_are_several(
    facility: Facility, other_facility: Facility
) -> None:
    assert "Which location?" in body(Client().get(URL))


def test_it_saves_a_valid_request_and_redirects_to_a_page_that_reveals_nothing(
    facility: Facility, help_request: dict[str, Any]
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get(URL)  # the CSRF cookie, as a browser gets it
    data = {**help_request, "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    response = post(client, data)
    assert response.status_code == 302
    assert response["Location"] == "/get-help/thanks/"
    inquiry = Inquiry.objects.get()
    assert inquiry.facility == facility
    assert inquiry.first_name == "Avery"
    assert inquiry.phone == "951-555-0142"
    assert inquiry.concern_substances and not inquiry.concern_mental_health
    assert inquiry.best_time_to_call == "evening"
    assert inquiry.consent_to_contact
    assert inquiry.stage == "new"
    assert inquiry.source == "web_form"
    assert InquiryStageChange.objects.filter(inquiry=inquiry, to_stage="new").exists()
    assert AuditEvent.objects.filter(
        object_type="intake.inquiry", object_id=str(inquiry.pk), action="create"
    ).exists()
    thanks = body(client.get(response["Location"]))
    for secret in ("Avery", "Solano", "0142", "example.org", "drinking", "Example Health"):
        assert secret not in thanks
    assert "988" in thanks and "911" in thanks


def test_it_tells_the_admissions_team_without_naming_anyone(
    facility: Facility,
    admissions: User,
    director: User,
    help_request: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    mailoutbox: list[mail.EmailMessage],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post(Client(), help_request)
    inquiry = Inquiry.objects.get()
    notice = Notification.objects.get()
    assert notice.recipient == admissions  # admissions first; directors only when none
    assert notice.message == "New help request received (web form)"
    assert notice.link == reverse("intake:detail", args=[inquiry.pk])
    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.to == ["admissions@example.org"]
    for secret in ("Avery", "Solano", "0142", "drinking"):
        assert secret not in sent.subject
        assert secret not in str(sent.body)


def test_it_tells_the_directors_when_there_is_no_admissions_staff(
    facility: Facility, director: User, help_request: dict[str, Any]
) -> None:
    post(Client(), help_request)
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [director.pk]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"first_name": ""}, "first_name"),
        ({"phone": "", "email": ""}, "phone"),
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-address"}, "email"),
        ({"who_needs_help": ""}, "who_needs_help"),
        ({"who_needs_help": "neighbour"}, "who_needs_help"),
        ({"concerns": []}, "concerns"),
        ({"concerns": ["gambling"]}, "concerns"),
        ({"best_time_to_call": "midnight"}, "best_time_to_call"),
        ({"consent_to_contact": ""}, "consent_to_contact"),
        ({"message": "x" * 2001}, "message"),
    ],
)
def test_it_saves_nothing_and_explains_when_a_field_is_missing_or_wrong(
    facility: Facility,
    admissions: User,
    help_request: dict[str, Any],
    change: dict[str, Any],
    field: str,
) -> None:
    data = {**help_request, **change}
    data = {k: v for k, v in data.items() if v != "" or k not in change}
    response = post(Client(), data)
    assert response.status_code == 200
    html = body(response)
    assert "Nothing was sent yet" in html
    assert 'class="errorlist' in html
    assert field in response.context["form"].errors
    assert not Inquiry.objects.exists()
    assert not Notification.objects.exists()


def test_it_refuses_a_location_that_is_not_one_of_ours(
    facility: Facility, other_facility: Facility, help_request: dict[str, Any]
) -> None:
    other_facility.is_active = False
    other_facility.save()
    third = Facility.objects.create(
        organization=facility.organization, name="Third", code="THD", time_zone="UTC"
    )
    response = post(Client(), {**help_request, "facility": "999999"})
    assert response.status_code == 200
    assert not Inquiry.objects.exists()
    post(Client(), {**help_request, "facility": str(third.pk)})
    assert Inquiry.objects.get().facility == third


def test_it_pretends_to_accept_what_a_bot_fills_in_the_honeypot(
    facility: Facility, admissions: User, help_request: dict[str, Any]
) -> None:
    response = post(Client(), {**help_request, "website": "http://spam.example.org"})
    assert response.status_code == 302
    assert response["Location"] == "/get-help/thanks/"
    assert not Inquiry.objects.exists()
    assert not Notification.objects.exists()


def test_it_answers_429_after_the_limit_from_one_address(
    facility: Facility, help_request: dict[str, Any], settings: Any
) -> None:
    settings.OPENIOP_HELP_REQUEST_RATE = "3/h"
    facility.phone = "951-555-0100"
    facility.save()
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(3):
        assert post(client, help_request).status_code == 302
    response = post(client, help_request)
    assert response.status_code == 429
    html = body(response)
    assert "951-555-0100" in html and "988" in html
    assert "Avery" not in html
    assert response["Retry-After"].isdigit()
    assert Inquiry.objects.count() == 3
    # Another address is not affected; reading the form never counts.
    assert Client().get(URL).status_code == 200
    assert post(Client(REMOTE_ADDR="203.0.113.8"), help_request).status_code == 302


def test_it_counts_invalid_and_honeypot_posts_too(
    facility: Facility, help_request: dict[str, Any], settings: Any
) -> None:
    settings.OPENIOP_HELP_REQUEST_RATE = "2/m"
    client = Client(REMOTE_ADDR="203.0.113.9")
    post(client, {**help_request, "first_name": ""})
    post(client, {**help_request, "website": "spam"})
    assert post(client, help_request).status_code == 429
    assert not Inquiry.objects.exists()


def test_it_uses_the_forwarded_address_only_behind_a_trusted_proxy(
    facility: Facility, help_request: dict[str, Any], settings: Any
) -> None:
    settings.OPENIOP_HELP_REQUEST_RATE = "1/h"
    settings.OPENIOP_TRUST_X_FORWARDED_FOR = True
    proxy = Client(REMOTE_ADDR="10.0.0.1")
    assert (
        post(proxy, help_request, HTTP_X_FORWARDED_FOR="198.51.100.1, 10.0.0.1").status_code == 302
    )
    assert post(proxy, help_request, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302
    assert post(proxy, help_request, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    settings.OPENIOP_TRUST_X_FORWARDED_FOR = False
    # Untrusted: the header is ignored and the proxy's own address counts.
    assert post(proxy, help_request, HTTP_X_FORWARDED_FOR="198.51.100.3").status_code == 302
    assert post(proxy, help_request, HTTP_X_FORWARDED_FOR="198.51.100.4").status_code == 429


def test_it_works_for_a_signed_in_staff_member_too(
    facility: Facility, make_user: Any, help_request: dict[str, Any]
) -> None:
    from tests.conftest import signed_in

    client = signed_in(make_user(Role.BILLING))
    assert post(client, help_request).status_code == 302
    assert Inquiry.objects.count() == 1
