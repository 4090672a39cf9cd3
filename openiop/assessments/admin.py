"""The level-of-care table in the settings pages: an organization's rows, edited together so
the whole table is checked (ratings 0–4, a final 'otherwise' row)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from openiop.assessments import rules
from openiop.assessments.models import AsamRule, AsamRuleTable
from openiop.audit.models import AuditEvent
from openiop.audit.services import record


class AsamRuleInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE", False)]
        kept.sort(key=lambda f: f.cleaned_data.get("order") or 0)
        table = [
            rules.Rule(
                dimensions=tuple(int(d) for d in (f.cleaned_data.get("dimensions") or [])),
                match=f.cleaned_data.get("match") or "",
                at_least=f.cleaned_data.get("at_least") or 0,
                recommendation=f.cleaned_data.get("recommendation") or "",
                label=f.cleaned_data.get("label") or "",
            )
            for f in kept
        ]
        if table:  # no rows at all means the default table
            problems = rules.table_errors(table)
            if problems:
                raise forms.ValidationError(problems)


def _described(organization: AsamRuleTable) -> list[str]:
    return [f"{r.as_rule().describe()} → {r.recommendation}" for r in organization.asam_rules.all()]


class AsamRuleInline(admin.TabularInline):
    model = AsamRule
    formset = AsamRuleInlineFormSet
    extra = 0
    ordering = ("order",)
    fields = ("order", "match", "dimensions", "at_least", "recommendation", "label")


@admin.register(AsamRuleTable)
class AsamRuleTableAdmin(admin.ModelAdmin):
    """Each organization's table; an organization without rows uses the default (SPEC §5)."""

    inlines = [AsamRuleInline]
    fields = ("name",)
    readonly_fields = ("name",)
    list_display = ("name", "rows")

    @admin.display(description="rows (0 = default table)")
    def rows(self, obj: AsamRuleTable) -> int:
        return obj.asam_rules.count()

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        before = [
            r.as_rule().describe() + " → " + r.recommendation
            for r in form.instance.asam_rules.all()
        ]
        super().save_formset(request, form, formset, change)
        after = [
            r.as_rule().describe() + " → " + r.recommendation
            for r in form.instance.asam_rules.all()
        ]
        if before != after:
            record(
                actor=request.user,
                action=AuditEvent.Action.UPDATE,
                section="ASAM level-of-care table (settings)",
                changes={"rules": [before, after]},
                detail={"organization": form.instance.pk},
            )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
