"""Scoped reads of treatment plans. Opening one goes through chart_access (404 out of
scope, audited); a plan page costs the same few queries whatever its size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from openiop.accounts.models import Facility, Organization, User
from openiop.admissions.models import EpisodeOfCare, PhaseChange
from openiop.admissions.selectors import visible_episodes
from openiop.plans import rules
from openiop.plans.models import (
    Goal,
    Intervention,
    LibraryProblem,
    Objective,
    ObjectiveLink,
    ObjectiveProgress,
    PlanReview,
    PlanVersion,
    Problem,
    RelapsePreventionPlan,
    Signature,
    TreatmentPlan,
)


def require_reader(user: User) -> None:
    if not user.can("plans.view_treatmentplan"):
        raise PermissionDenied("Your role does not open treatment plans.")


def require_writer(user: User) -> None:
    if not user.can("plans.change_treatmentplan"):
        raise PermissionDenied("Only the clinical team writes treatment plans.")


def plan_of(episode: EpisodeOfCare) -> TreatmentPlan | None:
    return TreatmentPlan.objects.filter(episode=episode).first()


def versions_of(plan: TreatmentPlan) -> QuerySet[PlanVersion]:
    """Every version, newest first, with who created it and its signatures."""
    return (
        plan.versions.select_related("created_by", "track")
        .prefetch_related(
            Prefetch("signatures", queryset=Signature.objects.select_related("signed_by"))
        )
        .order_by("-number")
    )


def _objectives_with_thread() -> QuerySet[Objective]:
    """Objectives with the golden thread: how many services reference the objective (under
    any version, by its key) and the last service date — two subqueries, one query."""
    links = ObjectiveLink.objects.filter(objective_key=OuterRef("key")).order_by()
    return (
        Objective.objects.annotate(
            service_count=Coalesce(
                Subquery(links.values("objective_key").annotate(n=Count("pk")).values("n")[:1]),
                0,
            ),
            last_service=Subquery(links.order_by("-service_date").values("service_date")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "interventions",
                queryset=Intervention.objects.select_related("responsible"),
            )
        )
        .order_by("order", "id")
    )


def version_tree(version_id: int, plan: TreatmentPlan) -> PlanVersion | None:
    """One version with its problems → goals → objectives (with the golden thread) →
    interventions and its signatures: six queries whatever the plan's size."""
    return (
        PlanVersion.objects.filter(plan=plan, pk=version_id)
        .select_related("track", "created_by", "based_on")
        .prefetch_related(
            Prefetch(
                "problems",
                queryset=Problem.objects.order_by("order", "id").prefetch_related(
                    Prefetch(
                        "goals",
                        queryset=Goal.objects.order_by("order", "id").prefetch_related(
                            Prefetch("objectives", queryset=_objectives_with_thread())
                        ),
                    )
                ),
            ),
            Prefetch("signatures", queryset=Signature.objects.select_related("signed_by")),
        )
        .first()
    )


@dataclass(frozen=True)
class PlanSummary:
    plan: TreatmentPlan | None
    active: PlanVersion | None
    open: PlanVersion | None  # a draft or a version waiting for signatures
    versions: list[PlanVersion]

    @property
    def shown(self) -> PlanVersion | None:
        return self.open or self.active


def summary(episode: EpisodeOfCare) -> PlanSummary:
    plan = (
        TreatmentPlan.objects.filter(episode=episode)
        .select_related("episode__program", "patient__facility")
        .first()
    )
    if plan is None:
        return PlanSummary(None, None, None, [])
    versions = list(versions_of(plan))
    active = next((v for v in versions if v.status == PlanVersion.Status.ACTIVE), None)
    open_version = next(
        (v for v in versions if v.status in (PlanVersion.Status.DRAFT, PlanVersion.Status.SIGNING)),
        None,
    )
    return PlanSummary(plan, active, open_version, versions)


def reviews_of(plan: TreatmentPlan) -> QuerySet[PlanReview]:
    return plan.reviews.select_related("reviewed_by", "version").prefetch_related(
        Prefetch(
            "progress",
            queryset=ObjectiveProgress.objects.select_related("objective"),
        )
    )


def phase_changes_of(episode: EpisodeOfCare) -> QuerySet[PhaseChange]:
    return episode.phase_changes.select_related("from_phase", "to_phase", "changed_by")


def relapse_prevention_of(episode: EpisodeOfCare) -> RelapsePreventionPlan | None:
    return (
        RelapsePreventionPlan.objects.filter(episode=episode)
        .select_related("updated_by")
        .prefetch_related("support_contacts")
        .first()
    )


def comparison_items(version: PlanVersion) -> list[rules.Item]:
    """A version as comparable lines (from a version_tree, no further queries)."""
    items = [
        rules.Item("intensity", "plan", "Planned intensity", _intensity_text(version)),
        rules.Item(
            "meetings", "plan", "Mutual-help meetings", f"{version.meetings_per_week} a week"
        ),
        rules.Item("strengths", "plan", "Strengths", version.strengths),
        rules.Item("discharge", "plan", "Completing the program", version.discharge_criteria),
    ]
    for p in version.problems.all():
        dims = ", ".join(f"D{d}" for d in p.dimension_numbers)
        codes = ", ".join(p.diagnosis_codes)
        extra = " · ".join(x for x in (dims, codes) if x)
        items.append(
            rules.Item(
                str(p.key),
                "problem",
                f"Problem {p.order}",
                p.statement + (f" ({extra})" if extra else ""),
            )
        )
        for g in p.goals.all():
            words = f"“{g.own_words}”" + (f" — {g.clinical}" if g.clinical else "")
            items.append(rules.Item(str(g.key), "goal", "Goal", words, 1, str(p.key)))
            for o in g.objectives.all():
                text = f"{o.text} (by {o.target_date:%m/%d/%Y}; {o.get_status_display().lower()})"
                items.append(rules.Item(str(o.key), "objective", "Objective", text, 2, str(g.key)))
                for i in o.interventions.all():
                    who = f"; {i.responsible.display_name}" if i.responsible else ""
                    desc = f": {i.description}" if i.description else ""
                    text = f"{i.get_modality_display()}{desc} ({i.frequency}{who})"
                    items.append(
                        rules.Item(str(i.key), "intervention", "Intervention", text, 3, str(o.key))
                    )
    return items


def _intensity_text(version: PlanVersion) -> str:
    hours = rules.hours_text(version.hours_per_day)
    track = f", {version.track.name} track" if version.track else ""
    weekly = rules.hours_text(version.hours_per_day * version.days_per_week)
    return f"{hours} h a day, {version.days_per_week} days a week ({weekly} h){track}"


# --- lists -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueRow:
    episode: EpisodeOfCare
    state: str  # "no plan", "unsigned", "overdue", "due", "level changed"
    due_on: dt.date | None


def reviews_due(user: User, facility: Facility, today: dt.date, *, limit: int = 50) -> list[DueRow]:
    """Open episodes whose plan needs work: none written yet, not yet active, a review
    overdue or due within 7 days, or a level of care that no longer matches the plan.
    A clinician sees their caseload; the clinical leads see the facility, by clinician.
    One query."""
    if not user.can("plans.view_treatmentplan"):
        return []
    soon = today + dt.timedelta(days=7)
    active = PlanVersion.objects.filter(plan__episode=OuterRef("pk"), status="active")
    episodes = (
        visible_episodes(user)
        .filter(facility=facility, discharge_date__isnull=True)
        .select_related("patient", "primary_clinician")
        .annotate(
            has_plan=Exists(TreatmentPlan.objects.filter(episode=OuterRef("pk"))),
            has_active=Exists(active),
            active_level=Subquery(active.values("level_of_care")[:1]),
            due_on=F("treatment_plan__review_due_on"),
        )
        .filter(Q(has_active=False) | Q(due_on__lte=soon) | ~Q(active_level=F("level_of_care")))
        .order_by(
            "primary_clinician__last_name",
            F("due_on").asc(nulls_first=True),
            "admission_date",
            "pk",
        )
    )
    rows: list[DueRow] = []
    for e in episodes[:limit]:
        data: Any = e
        if not data.has_plan:
            state = "no plan"
        elif not data.has_active:
            state = "unsigned"
        elif data.active_level != e.level_of_care:
            state = "level changed"
        else:
            state = rules.review_state(data.due_on, today)
        rows.append(DueRow(e, state, data.due_on))
    return rows


def library_for(
    organization: Organization | int, *, active_only: bool = True
) -> QuerySet[LibraryProblem]:
    org_id = organization if isinstance(organization, int) else organization.pk
    qs = LibraryProblem.objects.filter(organization_id=org_id)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.prefetch_related("goals", "objectives", "interventions").order_by(
        "category", "order", "title"
    )


def latest_link_dates(objective_keys: list[Any]) -> dict[Any, Any]:
    """Last service date per objective key (for pages that show objectives elsewhere)."""
    rows = (
        ObjectiveLink.objects.filter(objective_key__in=objective_keys)
        .values("objective_key")
        .annotate(last=Max("service_date"), n=Count("pk"))
    )
    return {r["objective_key"]: (r["n"], r["last"]) for r in rows}
