from django.forms.renderers import TemplatesSetting


class FormRenderer(TemplatesSetting):
    """Every field in its own block: label, help, errors, input (openiop/templates/forms/)."""

    field_template_name = "forms/field.html"
