"""`manage.py provider_check` against the simulator in each of its strict modes: what an
operator reads on the day a real key is set."""

import io

import pytest
from django.core.management import CommandError, call_command

from generations.models import Generation, StrayRequest
from higgsweb.simulator import catalogue as sim_catalogue
from tests.conftest import SIM_KEY


def check(*args):
    out = io.StringIO()
    call_command("provider_check", *args, stdout=out)
    return out.getvalue()


def line(report, label):
    return next(row for row in report.splitlines() if row.startswith(label + ":"))


def test_without_spend_it_checks_the_key_models_and_one_estimate_and_runs_nothing(db, simulator, account):
    report = check()
    assert "accepted" in line(report, "key")
    assert "higgsfield-ai/soul/v2/standard is listed" in line(report, "models")
    assert "credits" in line(report, "estimate") and "the same as the price table" in line(report, "estimate")
    assert "Results arrive by webhook" in line(report, "results")
    assert not simulator.jobs and not Generation.objects.exists()


def test_a_refused_key_stops_it_with_the_reason(db, simulator, account, settings):
    settings.HIGGSFIELD_API_SECRET = "wrong"
    with pytest.raises(CommandError, match="key: refused"):
        check()


@pytest.mark.slow
def test_spend_in_make_run_mode_sees_a_signed_webhook_and_the_key_honoured(transactional_db, live_server, simulator,
                                                                           settings, admin_user):
    settings.PUBLIC_BASE_URL = live_server.url
    report = check("--spend")
    assert "honoured" in line(report, "idempotency")
    assert line(report, "output host").endswith("media.sim-cdn.test")
    assert line(report, "completed").startswith("completed:   in ")
    assert "yes" in line(report, "saved")
    assert "arrived signed" in line(report, "webhook")
    assert len(simulator.jobs) == 1
    job = Generation.objects.get()
    assert job.owner == admin_user and job.status == "completed" and job.archived


@pytest.mark.slow
def test_spend_with_unsigned_deliveries_says_they_arrive_unsigned(transactional_db, live_server, simulator, settings,
                                                                  admin_user):
    settings.PUBLIC_BASE_URL = live_server.url
    simulator.config.webhook_unsigned = True
    report = check("--spend")
    assert "arrived unsigned" in line(report, "webhook")
    assert Generation.objects.get().status == "completed"


@pytest.mark.slow
def test_spend_with_a_key_and_an_http_public_url_sends_no_webhook_and_finishes_by_polling(transactional_db, strict,
                                                                                         admin_user):
    report = check("--spend")
    assert "No webhook: PUBLIC_BASE_URL is http://127.0.0.1:8000" in line(report, "results")
    assert "none sent" in line(report, "webhook")
    assert "honoured" in line(report, "idempotency")
    assert "yes" in line(report, "saved")
    (job,) = strict.jobs.values()
    assert job.webhook_url == ""


@pytest.mark.slow
def test_spend_when_the_service_ignores_the_key_reports_it_cancels_the_repeat_and_lists_it(transactional_db, strict,
                                                                                          admin_user):
    strict.config.faults["ignore_idempotency"] = True
    with pytest.raises(CommandError, match="idempotency: NOT honoured"):
        check("--spend")
    generation = Generation.objects.get()
    stray = StrayRequest.objects.get()
    assert stray.generation == generation and stray.confirmed
    assert strict.jobs[stray.request_id].status(strict) == "canceled"
    job = strict.jobs[generation.request_id]
    # The canceled repeat was refunded: only the job itself is charged.
    assert strict.config.starting_credits - strict.balance(SIM_KEY) == sim_catalogue.estimate(job.model_id,
                                                                                               job.payload)
