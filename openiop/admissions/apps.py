from django.apps import AppConfig


class AdmissionsConfig(AppConfig):
    name = "openiop.admissions"
    label = "admissions"
    verbose_name = "Admissions and episodes of care"
