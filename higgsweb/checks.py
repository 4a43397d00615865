from django.conf import settings
from django.core.checks import Error, register


@register()
def q_cluster_check(app_configs, **kwargs):
    """Refuse a worker configuration that could run a task twice or has no broker."""
    conf = getattr(settings, "Q_CLUSTER", {})
    errors = []
    if not any(key in conf for key in ("orm", "redis", "sqs", "ironmq", "mongo", "disque")):
        errors.append(Error("Q_CLUSTER names no broker.", hint='Set "orm": "default" or "redis": URL.',
                            id="higgsweb.E001"))
    timeout, retry = conf.get("timeout"), conf.get("retry")
    if timeout is None or retry is None or timeout >= retry:
        errors.append(Error(
            "Q_CLUSTER timeout must be set and below retry, or a running task is delivered twice.",
            hint=f"timeout={timeout!r}, retry={retry!r}", id="higgsweb.E002"))
    return errors
