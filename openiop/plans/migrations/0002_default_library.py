"""Organizations that existed before plans came get the standard plan library."""

from typing import Any

from django.db import migrations

from openiop.plans.library import DEFAULT_LIBRARY


def install(apps: Any, schema_editor: Any) -> None:
    Organization = apps.get_model("accounts", "Organization")
    Problem = apps.get_model("plans", "LibraryProblem")
    Goal = apps.get_model("plans", "LibraryGoal")
    Objective = apps.get_model("plans", "LibraryObjective")
    Intervention = apps.get_model("plans", "LibraryIntervention")
    for organization in Organization.objects.all():
        if Problem.objects.filter(organization=organization).exists():
            continue
        for order, entry in enumerate(DEFAULT_LIBRARY, start=1):
            problem = Problem.objects.create(
                organization=organization,
                category=entry["category"],
                title=entry["title"],
                statement=entry["statement"],
                asam_dimensions=entry["dimensions"],
                order=order,
            )
            Goal.objects.create(
                problem=problem,
                own_words_example=entry["own_words_example"],
                clinical=entry["clinical"],
            )
            for text, weeks in entry["objectives"]:
                Objective.objects.create(problem=problem, text=text, target_weeks=weeks)
            for item in entry["interventions"]:
                Intervention.objects.create(problem=problem, **item)


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
