"""The relapse-prevention pocket card: one letter page with two 4 × 6 in panels, cut out
and folded in the middle.

It goes in a pocket, so it carries the first name only (no MRN, no diagnosis, no program
name). It is always ONE page: long text is shortened with a pointer to the full plan, and
if a card still runs over, it is rendered again with tighter limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

from openiop.patients.models import Patient, SupportContact
from openiop.plans import rules
from openiop.plans.models import RelapsePreventionPlan

SEE_FULL_PLAN = "… see your full plan"
FILENAME = "relapse-prevention-card.pdf"

# Characters (and lines) each part keeps at full size; tighter attempts scale them down.
LIMITS: dict[str, tuple[int, int]] = {
    "triggers_people": (140, 3),
    "triggers_places": (140, 3),
    "triggers_feelings": (140, 3),
    "triggers_situations": (140, 3),
    "warning_signs": (320, 6),
    "coping_strategies": (420, 8),
    "reasons": (220, 4),
    "after_lapse": (300, 6),
    "crisis_resources": (220, 4),
}
MAX_CONTACTS = 5
SCALES = (1.0, 0.75, 0.5, 0.3)


@dataclass(frozen=True)
class Clipped:
    text: str
    clipped: bool


def clip(text: str, chars: int, lines: int) -> Clipped:
    """At most ``lines`` lines and ``chars`` characters, cut at a word where possible."""
    rows = [r.strip() for r in (text or "").strip().splitlines() if r.strip()]
    clipped = len(rows) > lines
    kept = "\n".join(rows[: max(lines, 1)])
    if len(kept) > chars:
        cut = kept[:chars]
        space = cut.rfind(" ")
        kept = cut[:space] if space > chars // 2 else cut
        clipped = True
    return Clipped(kept.rstrip(" ,;.-"), clipped) if clipped else Clipped(kept, False)


def card_context(
    plan: RelapsePreventionPlan,
    patient: Patient,
    contacts: list[SupportContact],
    *,
    scale: float = 1.0,
) -> dict[str, Any]:
    def part(name: str) -> Clipped:
        chars, lines = LIMITS[name]
        return clip(getattr(plan, name), max(int(chars * scale), 30), max(int(lines * scale), 1))

    shown_contacts = max(int(MAX_CONTACTS * scale), 2)
    return {
        "first_name": (patient.preferred_name or patient.first_name).strip(),
        "triggers": [
            ("People", part("triggers_people")),
            ("Places", part("triggers_places")),
            ("Feelings", part("triggers_feelings")),
            ("Situations", part("triggers_situations")),
        ],
        "warning_signs": part("warning_signs"),
        "coping_strategies": part("coping_strategies"),
        "reasons": part("reasons"),
        "after_lapse": part("after_lapse"),
        "crisis_resources": part("crisis_resources"),
        "crisis_line": rules.CRISIS_LINE,
        "contacts": [(c.name[:40], c.phone) for c in contacts[:shown_contacts]],
        "more_contacts": max(len(contacts) - shown_contacts, 0),
        "see_full_plan": SEE_FULL_PLAN,
    }


def card_html(context: dict[str, Any]) -> str:
    return render_to_string("plans/pocket_card.html", context)


def card_pdf(
    plan: RelapsePreventionPlan, patient: Patient, contacts: list[SupportContact]
) -> bytes:
    """The card as a one-page PDF (no network: only our own stylesheet is loaded)."""
    import weasyprint  # imported here: it loads system libraries, only PDF requests need it

    stylesheet = finders.find("plans/card.css")
    css = [weasyprint.CSS(filename=stylesheet)] if stylesheet else []
    document = None
    for scale in SCALES:
        html = card_html(card_context(plan, patient, contacts, scale=scale))
        document = weasyprint.HTML(string=html).render(stylesheets=css)
        if len(document.pages) == 1:
            return bytes(document.write_pdf())
    assert document is not None  # noqa: S101  (SCALES is not empty)
    # Whatever happens, the card stays one page: the panels clip what still overflows.
    return bytes(document.copy(document.pages[:1]).write_pdf())
