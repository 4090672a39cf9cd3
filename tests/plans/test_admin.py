"""The settings pages: plan versions are read-only facts; the library is editable and audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from openiop.accounts.models import Facility, Program, User
from openiop.audit.models import AuditEvent
from openiop.patients.models import Patient
from openiop.plans.models import LibraryProblem, PlanVersion
from tests.admissions.factories import episode, program_with_phases
from tests.conftest import body, signed_in
from tests.plans.factories import active_plan


@pytest.fixture
def program(facility: Facility) -> Program:
    return program_with_phases(facility)


@pytest.fixture
def signed(patient: Patient, program: Program, clinician: User) -> PlanVersion:
    return active_plan(clinician, episode(patient, program, clinician))


@pytest.fixture
def superuser(facility: Facility, administrator: User) -> Client:
    administrator.is_superuser = True
    administrator.save(update_fields=["is_superuser"])
    return signed_in(administrator)


def test_the_version_pages_open_read_only(superuser: Client, signed: PlanVersion) -> None:
    listing = superuser.get("/admin/plans/planversion/")
    assert listing.status_code == 200
    assert f"/admin/plans/planversion/{signed.pk}/change/" in body(listing)
    page = superuser.get(f"/admin/plans/planversion/{signed.pk}/change/")
    assert page.status_code == 200
    html = body(page)
    assert "Active" in html
    assert 'name="_save"' not in html  # a view page, nothing to save
    assert "Dana" not in html and "Quintero" not in html  # no patient on this page


def test_a_signed_version_cannot_be_changed_added_or_deleted(
    superuser: Client, signed: PlanVersion
) -> None:
    before = PlanVersion.objects.values().get(pk=signed.pk)
    url = f"/admin/plans/planversion/{signed.pk}/change/"
    refused = superuser.post(url, {"status": "draft", "number": "7", "plan": signed.plan_id})
    assert refused.status_code == 403
    assert superuser.get("/admin/plans/planversion/add/").status_code == 403
    assert superuser.post("/admin/plans/planversion/add/", {"status": "draft"}).status_code == 403
    delete = f"/admin/plans/planversion/{signed.pk}/delete/"
    assert superuser.post(delete, {"post": "yes"}).status_code == 403
    bulk = superuser.post(
        "/admin/plans/planversion/",
        {"action": "delete_selected", "_selected_action": [signed.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302, 403)
    assert PlanVersion.objects.values().get(pk=signed.pk) == before


def _form_data(response: Any) -> dict[str, Any]:
    """The change form as the browser would post it back unchanged."""
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form[name].value()
        if value is not None:
            data[name] = value
        elif field.required:
            data[name] = ""
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management[name].value()
        for sub in formset.forms:
            for name in sub.fields:
                value = sub[name].value()
                if value is None or value is False:
                    continue
                data[sub.add_prefix(name)] = value
    return data


def test_the_library_is_edited_here_and_audited(
    superuser: Client, administrator: User, facility: Facility
) -> None:
    entry = LibraryProblem.objects.filter(organization=facility.organization).first()
    assert entry is not None
    url = f"/admin/plans/libraryproblem/{entry.pk}/change/"
    page = superuser.get(url)
    assert page.status_code == 200
    data = _form_data(page)
    data["statement"] = "Our program's wording of the problem."
    saved = superuser.post(url, data)
    assert saved.status_code == 302, saved.context["errors"] if saved.context else saved
    entry.refresh_from_db()
    assert entry.statement == "Our program's wording of the problem."
    event = AuditEvent.objects.filter(section="plan library").latest("id")
    assert event.action == "update" and event.actor == administrator
    assert event.detail == {"via": "admin"}


def test_staff_without_the_superuser_flag_see_no_plan_versions(
    admin_client_: Client, signed: PlanVersion
) -> None:
    response = admin_client_.get(f"/admin/plans/planversion/{signed.pk}/change/")
    assert response.status_code in (302, 403)
