from django.apps import AppConfig


class HiggswebConfig(AppConfig):
    name = "higgsweb"
    verbose_name = "higgsweb"

    def ready(self):
        from higgsweb import checks, ledger, notify  # noqa: F401  (system checks; ledger and notification receivers)
