from django.apps import AppConfig


class HiggswebConfig(AppConfig):
    name = "higgsweb"
    verbose_name = "higgsweb"

    def ready(self):
        from higgsweb import checks  # noqa: F401  (registers system checks)
