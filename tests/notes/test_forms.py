"""The attendee card of the group-note screen, written in one pass by ``EntryForm.card_html``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from openiop.notes.forms import EntryForm


@dataclass
class _Objective:
    pk: int
    text: str


def _form(data: dict[str, str]) -> EntryForm:
    form = EntryForm(
        data,
        prefix="p7",
        objectives=cast(
            Any, [_Objective(1, "Names three triggers"), _Objective(2, "Calls sponsor <weekly>")]
        ),
    )
    form.is_valid()
    return form


def test_it_keeps_what_was_typed_and_chosen_escaped() -> None:
    html = _form(
        {"p7-participation": "active", "p7-response": "Said <b>a lot</b>", "p7-objective": "2"}
    ).card_html()
    assert '<label for="id_p7-response">Response to the group</label>' in html
    assert "Said &lt;b&gt;a lot&lt;/b&gt;</textarea>" in html
    assert '<option value="active" selected>Active and engaged</option>' in html
    assert '<option value="2" selected>Calls sponsor &lt;weekly&gt;</option>' in html
    assert '<option value="" selected>—</option>' in html  # progress left empty
    assert 'data-plan=""' in html and 'maxlength="' in html
    assert "aria-invalid" not in html


def test_it_marks_a_wrong_choice_for_screen_readers() -> None:
    html = _form({"p7-objective": "99"}).card_html()
    assert '<div class="field field-select has-error"><label for="id_p7-objective">' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_p7-objective_error"' in html
    assert '<ul class="errorlist" id="id_p7-objective_error"><li>Choose an objective' in html


def test_it_writes_the_same_fields_as_djangos_templates() -> None:
    form = _form({"p7-participation": "minimal", "p7-plan": "Next week: <call>"})
    ours = form.card_html()
    for name in ("participation", "response", "objective", "progress", "plan"):
        bound = form[name]
        assert f'name="{bound.html_name}"' in ours
        assert f'id="{bound.auto_id}"' in ours
    assert "Next week: &lt;call&gt;</textarea>" in ours
