"""Health: a page for admins that says whether the app can do its work, and a bare probe
for load balancers. Neither calls the provider; they read what the worker recorded."""

import logging

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from django_q.status import Stat

from generations import webhook_mode
from generations.models import ProviderAccount, WebhookDelivery
from higgsweb import ledger
from higgsweb.models import ProviderBalance, WorkerHeartbeat

log = logging.getLogger("higgsweb.health")


def _latest_readings():
    readings = {}
    for reading in ProviderBalance.objects.select_related("account").filter(account__active=True):
        readings.setdefault(reading.account_id, reading)  # newest first
    return list(readings.values())


def _queue_length():
    try:
        return get_broker().queue_size()
    except Exception:  # a broker that does not answer is itself the finding
        log.exception("could not read the queue length")
        return None


def _clusters():
    """django-q2's own cluster reports; they travel through the broker's cache, which the
    web process can see with the Redis broker only."""
    if not settings.REDIS_URL:
        return None
    try:
        return sorted(Stat.get_all(), key=lambda stat: stat.cluster_id)
    except Exception:
        log.exception("could not read the cluster reports")
        return []


@never_cache
@require_GET
def health(request):
    if not (request.user.is_authenticated and request.user.is_admin_role):
        raise Http404
    heartbeat = WorkerHeartbeat.latest()
    readings = _latest_readings()
    accounts = ProviderAccount.objects.filter(active=True)
    ctx = {
        "readings": readings,
        "balances": [ledger.BalanceNow(reading) for reading in readings],
        "unread_accounts": accounts.exclude(pk__in=[r.account_id for r in readings]),
        "key_refused": any(r.key_valid is False for r in readings),
        "last_webhook": WebhookDelivery.objects.order_by("-received_at").first(),
        # Per active account; before any exists, what the environment's would get.
        "webhook_modes": [(account.name, webhook_mode.for_account(account)) for account in accounts]
        or [("environment", webhook_mode.for_account(None))],
        "heartbeat": heartbeat,
        "workers": WorkerHeartbeat.objects.all()[:20],
        "queue_length": _queue_length(),
        "broker": "Redis" if settings.REDIS_URL else "database (django-q2 ORM broker)",
        "clusters": _clusters(),
        "alive_seconds": WorkerHeartbeat.ALIVE_SECONDS,
    }
    return render(request, "health/index.html", ctx)


@never_cache
@require_GET
def healthz(request):
    """200 "ok" when the database answers; 503 otherwise. Says nothing else."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        log.exception("health probe: the database did not answer")
        return HttpResponse("unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
