"""A request sent twice starts one job: the JSON API's Idempotency-Key, and the studio form's
one-time token (double clicks, reloads that post again, resends), including two copies
arriving at the same moment."""

import re
import threading
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone
from django_q.models import Schedule

from generations import idempotency
from generations.models import ApiToken, Generation, IdempotencyKey
from higgsweb import ledger
from higgsweb.models import Budget, LedgerEntry

SOUL = "higgsfield-ai/soul/standard"


@pytest.fixture
def token(alice):
    return ApiToken.objects.issue(alice)[1]


def body(project, prompt="a lighthouse", **params):
    return {"model": SOUL, "project": project.pk, "params": {"prompt": prompt, "resolution": "720p", **params}}


def create(client, raw, data, key=None):
    headers = {"Authorization": f"Bearer {raw}"} | ({"Idempotency-Key": key} if key is not None else {})
    return client.post("/api/generations", data, content_type="application/json", headers=headers)


# The JSON API ---------------------------------------------------------------------------------

def test_the_same_key_and_body_return_the_same_generation_and_charge_once(client, token, project):
    first = create(client, token, body(project), key="job-1")
    again = create(client, token, body(project), key="job-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["url"] == first.json()["url"]
    assert again["Idempotent-Replayed"] == "true"
    assert Generation.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="hold").count() == 1


def test_the_same_body_in_another_order_and_spacing_is_the_same_request(client, token, project):
    first = create(client, token, body(project), key="k")
    reordered = ('{"params": {"resolution": "720p",   "prompt": "a lighthouse"}, '
                 f'"project": {project.pk}, "model": "{SOUL}"}}')
    again = create(client, token, reordered, key="k")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


def test_the_same_key_with_another_body_is_a_422_and_starts_nothing(client, token, project):
    create(client, token, body(project), key="job-1")
    response = create(client, token, body(project, prompt="a different lighthouse"), key="job-1")
    assert response.status_code == 422
    assert "different request" in response.json()["errors"]["Idempotency-Key"][0]
    assert Generation.objects.count() == 1


def test_keys_belong_to_one_user(client, token, bob, project):
    create(client, token, body(project), key="shared")
    other = create(client, ApiToken.objects.issue(bob)[1], body(project), key="shared")
    assert other.status_code == 201
    assert Generation.objects.count() == 2


def test_without_a_key_every_request_is_a_new_job(client, token, project):
    create(client, token, body(project))
    create(client, token, body(project))
    assert Generation.objects.count() == 2


def test_a_refused_request_does_not_use_the_key_up(client, token, alice, project):
    assert create(client, token, body(project, seed=0), key="k").status_code == 400
    budget = ledger.user_budget(alice)
    Budget.objects.filter(pk=budget.pk).update(hard_limit=Decimal("0.001"))
    assert create(client, token, body(project), key="k").status_code == 402
    assert not IdempotencyKey.objects.exists()
    Budget.objects.filter(pk=budget.pk).update(hard_limit=None)
    assert create(client, token, body(project), key="k").status_code == 201


def test_a_key_is_remembered_for_a_day_then_forgotten(client, token, project):
    first = create(client, token, body(project), key="daily")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    assert idempotency.forget_expired() == 0
    assert create(client, token, body(project), key="daily").json()["id"] == first.json()["id"]
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert idempotency.forget_expired() == 1
    later = create(client, token, body(project), key="daily")
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]


def test_forgetting_old_keys_is_scheduled(db):
    schedule = Schedule.objects.get(name="generations-forget-idempotency-keys")
    assert schedule.func == "generations.idempotency.forget_expired" and schedule.schedule_type == Schedule.HOURLY


def race(count, send):
    """Run `send()` from `count` threads released at the same moment; their results."""
    barrier, results = threading.Barrier(count), [None] * count

    def run(index):
        barrier.wait()
        results[index] = send()
    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_start_one_job(alice, project, live_server):
    raw = ApiToken.objects.issue(alice)[1]
    data = body(project)

    def send():
        response = httpx.post(f"{live_server.url}/api/generations", json=data, timeout=60,
                              headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "at-once"})
        return response.status_code, response.json().get("id")

    answers = race(8, send)
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]
    assert len({pk for _, pk in answers}) == 1
    assert Generation.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="hold").count() == 1


# The studio form ----------------------------------------------------------------------------------

def studio_post(project, prompt="a lighthouse", **extra):
    return {"model": SOUL, "project": project.pk, "prompt": prompt, "resolution": "720p", "aspect_ratio": "1:1",
            "batch_size": "1", **extra}


def form_token(html):
    return re.search(r'name="submit_token" value="([^"]+)"', html).group(1)


def test_the_studio_form_carries_a_one_time_token(client, alice, project):
    client.force_login(alice)
    first, second = client.get("/").content.decode(), client.get("/").content.decode()
    assert form_token(first) != form_token(second)


def test_a_double_click_starts_one_job_and_the_second_answer_shows_it(client, alice, project):
    client.force_login(alice)
    data = studio_post(project, submit_token=form_token(client.get("/").content.decode()))
    first = client.post("/generations/new/", data, headers={"HX-Request": "true"})
    second = client.post("/generations/new/", data, headers={"HX-Request": "true"})
    generation = Generation.objects.get()
    assert first.context["submitted"] == [generation] and second.context["submitted"] == [generation]
    assert "Submitted 1 generation" in second.content.decode()
    assert LedgerEntry.objects.filter(kind="hold").count() == 1


def test_a_resubmitted_form_without_htmx_goes_to_the_first_job(client, alice, project):
    client.force_login(alice)
    data = studio_post(project, submit_token="fixed-token-1")
    assert client.post("/generations/new/", data).status_code == 302
    again = client.post("/generations/new/", data, follow=True)
    assert Generation.objects.count() == 1
    assert "Already submitted" in again.content.decode()


def test_a_seed_sweep_sent_twice_is_one_sweep(client, alice, project):
    client.force_login(alice)
    data = studio_post(project, submit_token="sweep-token", sweep_seeds=3)
    client.post("/generations/new/", data, headers={"HX-Request": "true"})
    second = client.post("/generations/new/", data, headers={"HX-Request": "true"})
    assert Generation.objects.count() == 3
    assert len(second.context["submitted"]) == 3


def test_after_a_submit_the_form_has_a_new_token_so_the_next_press_starts_another(client, alice, project):
    client.force_login(alice)
    token = form_token(client.get("/").content.decode())
    answer = client.post("/generations/new/", studio_post(project, submit_token=token), headers={"HX-Request": "true"})
    fresh = form_token(answer.content.decode())
    assert fresh != token
    client.post("/generations/new/", studio_post(project, submit_token=fresh), headers={"HX-Request": "true"})
    assert Generation.objects.count() == 2


def test_a_stale_form_sent_with_changes_keeps_them_and_asks_for_one_more_press(client, alice, project):
    client.force_login(alice)
    client.post("/generations/new/", studio_post(project, submit_token="old"), headers={"HX-Request": "true"})
    answer = client.post("/generations/new/", studio_post(project, "a windmill", submit_token="old"),
                         headers={"HX-Request": "true"})
    assert Generation.objects.count() == 1
    form = answer.context["form"]
    assert "already sent" in " ".join(form.non_field_errors())
    assert form["prompt"].value() == "a windmill"
    again = client.post("/generations/new/", studio_post(project, "a windmill", submit_token=form_token(
        answer.content.decode())), headers={"HX-Request": "true"})
    assert again.context["submitted"][0].prompt == "a windmill"
    assert Generation.objects.count() == 2


def test_an_invalid_submit_keeps_its_token_unused(client, alice, project):
    client.force_login(alice)
    bad = client.post("/generations/new/", studio_post(project, "", submit_token="t1"), headers={"HX-Request": "true"})
    assert bad.context["form"].errors and form_token(bad.content.decode()) == "t1"
    client.post("/generations/new/", studio_post(project, submit_token="t1"), headers={"HX-Request": "true"})
    assert Generation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_a_form_arriving_at_once_start_one_job(alice, project, live_server):
    with httpx.Client(base_url=live_server.url, timeout=60) as browser:
        page = browser.get("/login/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        browser.post("/login/", data={"username": "alice", "password": "pw-alice-123", "csrfmiddlewaretoken": csrf})
        page = browser.get("/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        data = studio_post(project, csrfmiddlewaretoken=csrf, submit_token=form_token(page.text))
        cookies = dict(browser.cookies)

    def send():
        return httpx.post(f"{live_server.url}/generations/new/", data=data, cookies=cookies, timeout=60,
                          headers={"HX-Request": "true", "Referer": live_server.url + "/"}).status_code

    assert race(6, send) == [200] * 6
    assert Generation.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="hold").count() == 1
