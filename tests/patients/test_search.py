"""Finding a patient: part of a name, date of birth, MRN or phone; always within scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client

from openiop.accounts.models import Facility, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditEvent
from openiop.patients import services
from openiop.patients.models import Patient
from openiop.patients.selectors import search_patients
from tests.conftest import api_signed_in, body, signed_in
from tests.factories import CareTeamMemberFactory, EmergencyContactFactory, PatientFactory


@pytest.fixture
def people(facility: Facility) -> dict[str, Patient]:
    return {
        "jose": PatientFactory.create(
            facility=facility,
            first_name="José",
            last_name="García Márquez",
            preferred_name="Pepe",
            date_of_birth=dt.date(1984, 11, 2),
            mrn="HTF-100042",
            phone="951-555-0142",
        ),
        "josephine": PatientFactory.create(
            facility=facility,
            first_name="Josephine",
            last_name="Baker",
            date_of_birth=dt.date(1990, 4, 12),
            mrn="HTF-100043",
            phone="909-555-0177",
        ),
        "gary": PatientFactory.create(
            facility=facility,
            first_name="Gary",
            last_name="Oldman",
            date_of_birth=dt.date(1990, 4, 12),
            mrn="HTF-200001",
            phone="714-555-0199",
        ),
    }


def names(director: User, query: str, facility: Facility | None = None) -> set[str]:
    result = search_patients(director, query=query, facility=facility)
    return {p.first_name for p in result.patients}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("jos", {"José", "Josephine"}),
        ("JOSE", {"José", "Josephine"}),  # the start of the word
        ("JOSÉ GAR", {"José"}),
        ("jose garcia", {"José"}),
        ("garc", {"José"}),
        ("marquez", {"José"}),
        ("garciamarquez", {"José"}),
        ("pep", {"José"}),  # preferred name
        ("bak", {"Josephine"}),
        ("jos bak", {"Josephine"}),  # two words, both must match
        ("bak jos", {"Josephine"}),
        ("jose oldman", set()),
        ("arcia", set()),  # the start of a word, not the middle
        ("11/02/1984", {"José"}),
        ("1984-11-02", {"José"}),
        ("04/12/1990", {"Josephine", "Gary"}),
        ("HTF-100042", {"José"}),
        ("htf-1000", {"José", "Josephine"}),
        ("100043", {"Josephine"}),
        ("2000", {"Gary"}),
        ("951-555-0142", {"José"}),
        ("(909) 555-0177", {"Josephine"}),
        ("9095550177", {"Josephine"}),
        ("0199", {"Gary"}),
        ("zzz", set()),
        ("!!!", set()),
    ],
)
def test_it_finds_patients_by_part_of_a_name_dob_mrn_or_phone(
    director: User, people: dict[str, Patient], query: str, expected: set[str]
) -> None:
    assert names(director, query) == expected


def test_it_lists_the_newest_registrations_when_nothing_is_typed(
    director: User, people: dict[str, Patient]
) -> None:
    result = search_patients(director, query="  ")
    assert result.kind == "recent"
    assert [p.pk for p in result.patients] == sorted((p.pk for p in people.values()), reverse=True)


def test_it_says_what_kind_of_search_it_ran(director: User, people: dict[str, Patient]) -> None:
    assert search_patients(director, query="gary").kind == "name"
    assert search_patients(director, query="04/12/1990").kind == "date of birth"


def test_it_stops_at_the_limit_and_says_there_is_more(
    director: User, people: dict[str, Patient]
) -> None:
    result = search_patients(director, query="", limit=2)
    assert len(result.patients) == 2
    assert result.more is True
    assert search_patients(director, query="", limit=3).more is False


def test_it_never_finds_patients_out_of_scope(
    clinician: User,
    patient: Patient,
    unassigned_patient: Patient,
    outside_patient: Patient,
    other_facility: Facility,
) -> None:
    same_name = PatientFactory.create(
        facility=other_facility, first_name="Dana", last_name="Quintero"
    )
    assert {p.pk for p in search_patients(clinician, query="dana").patients} == {patient.pk}
    assert search_patients(clinician, query="kai").patients == []
    assert search_patients(clinician, query="rowan").patients == []
    assert search_patients(clinician, query=outside_patient.mrn).patients == []
    assert same_name not in search_patients(clinician, query="").patients


def test_it_limits_the_search_to_the_chosen_facility(
    make_user: Callable[..., User], facility: Facility, other_facility: Facility
) -> None:
    here = PatientFactory.create(facility=facility, first_name="Ada")
    there = PatientFactory.create(facility=other_facility, first_name="Ada")
    both = make_user(Role.CLINICAL_DIRECTOR, facilities=[facility, other_facility])
    assert {p.pk for p in search_patients(both, query="ada").patients} == {here.pk, there.pk}
    only_here = search_patients(both, query="ada", facility=facility).patients
    assert [p.pk for p in only_here] == [here.pk]


def test_it_finds_a_renamed_patient_by_the_new_name_only(
    director: User, people: dict[str, Patient]
) -> None:
    services.update_patient(
        actor=director,
        patient=people["gary"],
        data={"last_name": "Newhouse", "phone": "951 555 0101"},
    )
    assert names(director, "newh") == {"Gary"}
    assert names(director, "oldman") == set()
    assert names(director, "0101") == {"Gary"}
    assert names(director, "0199") == set()


# --- the search page --------------------------------------------------------------------------


def test_it_searches_with_a_post_and_shows_recent_registrations_on_get(
    director_client: Client, people: dict[str, Patient]
) -> None:
    recent = director_client.get("/patients/")
    assert recent.status_code == 200
    assert "Recently registered" in body(recent)
    assert "Oldman, Gary" in body(recent)

    found = director_client.post("/patients/", {"q": "bak"})
    assert found.status_code == 200
    text = body(found)
    assert "1 found" in text
    assert "Baker, Josephine" in text
    assert "Oldman" not in text


def test_it_ignores_a_query_in_the_address(
    director_client: Client, people: dict[str, Patient]
) -> None:
    response = director_client.get("/patients/?q=bak")
    assert "Recently registered" in body(response)
    assert "Oldman, Gary" in body(response)


def test_it_answers_htmx_with_just_the_results(
    director_client: Client, people: dict[str, Patient]
) -> None:
    response = director_client.post("/patients/", {"q": "gary"}, HTTP_HX_REQUEST="true")
    text = body(response)
    assert response.status_code == 200
    assert text.lstrip().startswith("<section")
    assert "<html" not in text
    assert 'id="results-title"' in text
    assert "Oldman, Gary" in text


def test_it_tells_the_user_what_to_try_when_nobody_matches(
    director_client: Client, people: dict[str, Patient]
) -> None:
    text = body(director_client.post("/patients/", {"q": "zzyzx"}))
    assert "Nobody matches “zzyzx”" in text
    assert "search by date of birth (MM/DD/YYYY)" in text


def test_it_records_a_search_without_the_words_searched(
    director: User, director_client: Client, people: dict[str, Patient]
) -> None:
    query = "Josephine 04/12/1990"
    director_client.post("/patients/", {"q": "Josephine"}, HTTP_USER_AGENT="pytest")
    director_client.post("/patients/", {"q": "04/12/1990"})
    events = list(AuditEvent.objects.filter(action=AuditEvent.Action.SEARCH))
    assert [(e.actor_id, e.section) for e in events] == [(director.pk, "patient search")] * 2
    assert sorted(e.detail["kind"] for e in events) == ["date of birth", "name"]
    for event in events:
        stored = " ".join(
            str(getattr(event, f.attname)) for f in AuditEvent._meta.concrete_fields
        ).lower()
        for word in (*query.lower().split(), "1990-04-12", "josephine"):
            assert word not in stored


def test_it_records_an_api_search_without_the_words_searched(
    director: User, people: dict[str, Patient]
) -> None:
    response = api_signed_in(director).post(
        "/api/v1/patients/search/", {"query": "Josephine"}, format="json"
    )
    assert [p["first_name"] for p in response.json()["results"]] == ["Josephine"]
    event = AuditEvent.objects.get(action=AuditEvent.Action.SEARCH)
    assert event.channel == "api"
    assert event.detail == {"kind": "name", "results": 1}
    assert "josephine" not in str(event.__dict__).lower()


def test_it_refuses_an_api_search_in_a_facility_the_user_does_not_work_at(
    director: User, other_facility: Facility
) -> None:
    response = api_signed_in(director).post(
        "/api/v1/patients/search/", {"query": "a", "facility": other_facility.pk}, format="json"
    )
    assert response.status_code == 400
    assert "facility" in response.json()


# --- a page costs the same number of queries with 3 patients or 30 --------------------------


def populate(facility: Facility, clinician: User, count: int) -> list[Patient]:
    made = [
        PatientFactory.create(facility=facility, first_name=f"Sam{n}", last_name="Rivera")
        for n in range(count)
    ]
    for patient in made:
        CareTeamMemberFactory.create(patient=patient, user=clinician)
        EmergencyContactFactory.create(patient=patient)
    return made


# session, user, facilities, break-the-glass grants, the patients, the audit, unread messages
SEARCH_QUERIES = 7
# … plus the chart's own: the patient, the audit, open alerts, the open episode, the consent
# status, contacts, care team
CHART_QUERIES = 12


@pytest.mark.parametrize("count", [3, 30])
def test_it_searches_in_a_constant_number_of_queries(
    count: int,
    facility: Facility,
    clinician: User,
    django_assert_max_num_queries: Callable[[int], object],
) -> None:
    populate(facility, clinician, count)
    client = signed_in(clinician)
    client.get("/")  # the session is warm, as it is for someone working
    with django_assert_max_num_queries(SEARCH_QUERIES):  # type: ignore[attr-defined]
        response = client.post("/patients/", {"q": "rivera"})
    assert body(response).count("Rivera, Sam") == count
    with django_assert_max_num_queries(SEARCH_QUERIES):  # type: ignore[attr-defined]
        response = client.get("/patients/")
    assert body(response).count("Rivera, Sam") == count


@pytest.mark.parametrize("count", [3, 30])
def test_it_opens_a_chart_in_a_constant_number_of_queries(
    count: int,
    facility: Facility,
    clinician: User,
    make_user: Callable[..., User],
    django_assert_max_num_queries: Callable[[int], object],
) -> None:
    patients = populate(facility, clinician, count)
    target = patients[-1]
    for n in range(count):
        EmergencyContactFactory.create(patient=target, name=f"Extra {n}")
        CareTeamMemberFactory.create(
            patient=target, user=make_user(Role.CLINICIAN), role="therapist"
        )
    director = signed_in(make_user(Role.CLINICAL_DIRECTOR))
    director.get("/")
    with django_assert_max_num_queries(CHART_QUERIES):  # type: ignore[attr-defined]
        response = director.get(f"/patients/{target.pk}/")
    assert response.status_code == 200
    assert body(response).count("Extra ") == count


@pytest.mark.parametrize("count", [3, 30])
def test_the_api_searches_in_a_constant_number_of_queries(
    count: int,
    facility: Facility,
    clinician: User,
    django_assert_max_num_queries: Callable[[int], object],
) -> None:
    populate(facility, clinician, count)
    client = api_signed_in(clinician)
    client.get("/api/v1/patients/")  # the session is warm
    # the search's queries, and one for the emergency contacts of all the patients found
    with django_assert_max_num_queries(SEARCH_QUERIES + 1):  # type: ignore[attr-defined]
        response = client.post("/api/v1/patients/search/", {"query": "rivera"}, format="json")
    assert response.status_code == 200
    assert len(response.json()["results"]) == count
