"""Importing an fnf account's web-app history: past job sets come into the gallery once, as
finished, archived items of the importing member in the project they picked, with their prompts
and settings, charged nothing; a second import adds only what is new."""

import httpx
import pytest

from generations import history, pipeline, routing, tasks
from generations.models import Generation, HistoryImport, ProviderAccount
from higgsweb import ledger
from higgsweb.models import LedgerEntry, Project

# The simulator's history (higgsweb/simulator/fnf.py HISTORY): four finished job sets and a failed one.
FINISHED = 4


@pytest.fixture
def web_app(db, simulator):
    return ProviderAccount.objects.create(name="Web app", surface="fnf", base_url=simulator.url + "/fnf",
                                          key_secret="fnf-demo-token")


@pytest.fixture
def member(client, alice, django_capture_on_commit_callbacks):
    """Alice's client; what a request queues on commit (the import, its archive steps) runs."""
    client.force_login(alice)
    original = client.generic

    def generic(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return original(*args, **kwargs)
    client.generic = generic
    return client


def import_history(member, web_app, project):
    response = member.post("/imports/", {"account": web_app.pk, "project": project.pk})
    assert response.status_code == 302, response.content.decode()[:2000]
    return HistoryImport.objects.latest("created_at")


def test_an_import_brings_the_finished_history_into_the_gallery_once(member, alice, project, web_app, simulator):
    run = import_history(member, web_app, project)
    assert (run.status, run.added, run.known, run.skipped) == ("done", FINISHED, 0, 1)
    imported = Generation.objects.filter(imported=True)
    assert imported.count() == FINISHED
    assert set(imported.values_list("owner", "project", "account", "status", "archived").distinct()) == {
        (alice.pk, project.pk, web_app.pk, "completed", True)}
    assert all(output.is_archived for g in imported for output in g.outputs.all())
    assert set(imported.values_list("model_id", flat=True)) == {
        "higgsfield-ai/soul/standard", "higgsfield-ai/dop/lite", "higgsfield-ai/soul/v2/standard", "fnf/nano_banana_2"}
    soul = imported.get(model_id="higgsfield-ai/soul/standard")
    assert soul.params == {"prompt": "a paper boat on a rain puddle, macro", "aspect_ratio": "3:4",
                           "resolution": "720p", "batch_size": 1, "seed": 4711, "enhance_prompt": False}
    video = imported.get(model_id="higgsfield-ai/dop/lite")
    assert video.outputs.get().kind == "video" and video.prompt == "the boat drifts slowly towards the drain"
    assert not LedgerEntry.objects.filter(generation__in=imported).exists()  # paid for where it was made

    again = import_history(member, web_app, project)
    assert (again.status, again.added, again.known) == ("done", 0, FINISHED)
    assert Generation.objects.filter(imported=True).count() == FINISHED


def test_the_card_and_the_detail_page_say_imported_and_the_settings_reopen_the_studio(member, project, web_app,
                                                                                      simulator):
    import_history(member, web_app, project)
    soul = Generation.objects.get(imported=True, model_id="higgsfield-ai/soul/standard")
    card = member.get(f"/g/{soul.pk}/card/", headers={"HX-Request": "true"}).content.decode()
    assert "imported</span> from the web app (fnf)" in card
    gallery = member.get("/").content.decode()
    assert "a paper boat on a rain puddle" in gallery and gallery.count(">imported</span>") == FINISHED
    detail = member.get(f"/g/{soul.pk}/").content.decode()
    assert "charged nothing here" in detail and "Imported from the web app" in detail
    studio = member.get("/", {"from": soul.pk, "seed": "same"}).content.decode()
    assert 'value="4711"' in studio and '<option value="3:4" selected>' in studio


def test_a_job_made_here_on_the_web_app_is_not_imported_again(member, alice, project, web_app, simulator):
    routing.set_route("higgsfield-ai/soul/standard", web_app)
    made = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                          params={"prompt": "made here", "batch_size": 1})
    tasks.submit_generation(made.pk)
    simulator.advance_clock(10)
    run = import_history(member, web_app, project)
    assert (run.added, run.known) == (FINISHED, 1)
    assert Generation.objects.filter(request_id=Generation.objects.get(pk=made.pk).request_id).count() == 1


def test_the_history_is_read_page_by_page(member, project, web_app, simulator, monkeypatch):
    monkeypatch.setattr(history, "PAGE_SIZE", 2)
    run = import_history(member, web_app, project)
    assert (run.pages, run.seen, run.added) == (3, FINISHED + 1, FINISHED)


def test_an_expired_token_stops_the_import_with_advice_and_marks_the_account(member, project, web_app):
    web_app.key_secret = "an-expired-jwt"
    web_app.save()
    run = import_history(member, web_app, project)
    assert run.status == "failed" and "fresh token" in run.error
    web_app.refresh_from_db()
    assert "fresh token" in web_app.last_error
    page = member.get("/imports/").content.decode()
    assert "Stopped" in page and "fresh token" in page
    assert not Generation.objects.exists()


def test_the_import_page_needs_a_web_app_account_and_a_project_of_the_member(member, project, web_app, simulator):
    archived = Project.objects.create(name="Old", archived=True)
    response = member.post("/imports/", {"account": web_app.pk, "project": archived.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    pixazo = ProviderAccount.objects.create(name="Pixazo", surface="pixazo", base_url="https://gw.example")
    response = member.post("/imports/", {"account": pixazo.pk, "project": project.pk})
    assert "Select a valid choice" in response.content.decode()
    assert not HistoryImport.objects.exists()


def test_a_second_import_of_the_same_account_waits_for_the_first(member, alice, project, web_app):
    HistoryImport.objects.create(account=web_app, owner=alice, project=project)  # queued, not yet taken
    response = member.post("/imports/", {"account": web_app.pk, "project": project.pk})
    assert "An import of this account is under way" in response.content.decode()
    assert HistoryImport.objects.count() == 1


def test_a_redelivered_import_task_does_nothing_the_second_time(member, project, web_app, simulator):
    run = import_history(member, web_app, project)
    assert tasks.import_history(run.pk) is None
    assert Generation.objects.filter(imported=True).count() == FINISHED


def test_progress_is_polled_until_done_and_only_by_its_owner(client, member, bob, alice, project, web_app, simulator):
    run = HistoryImport.objects.create(account=web_app, owner=alice, project=project, status="running", pages=1,
                                       added=2)
    polled = member.get(f"/imports/{run.pk}/", headers={"HX-Request": "true"})
    assert polled.status_code == 200 and 'hx-trigger="every 2s"' in polled.content.decode()
    assert "<strong>2</strong> added" in polled.content.decode()
    HistoryImport.objects.filter(pk=run.pk).update(status="done")
    assert member.get(f"/imports/{run.pk}/", headers={"HX-Request": "true"}).status_code == 286
    client.force_login(bob)
    assert client.get(f"/imports/{run.pk}/").status_code == 404
    assert str(run.pk) not in client.get("/imports/").content.decode().split("Your imports")[1]


def test_reconciliation_does_not_flag_imported_items(member, project, web_app, simulator):
    import_history(member, web_app, project)
    assert ledger.discrepancies() == []


def test_the_simulated_history_pages_filters_and_answers_in_the_job_set_shape(simulator):
    headers = {"Authorization": "Bearer fnf-demo-token"}
    first = httpx.get(f"{simulator.url}/fnf/project", params={"size": 2}, headers=headers).json()
    second = httpx.get(f"{simulator.url}/fnf/project", params={"size": 2, "offset": 2}, headers=headers).json()
    assert len(first["job_sets"]) == len(second["job_sets"]) == 2
    assert not {s["id"] for s in first["job_sets"]} & {s["id"] for s in second["job_sets"]}
    newest = first["job_sets"][0]
    assert newest["type"] == "nano_banana_2" and newest["jobs"][0]["status"] == "completed"
    assert set(newest["jobs"][0]["results"]) == {"raw", "min"} and newest["params"]["prompt"]
    videos = httpx.get(f"{simulator.url}/fnf/project", params=[("job_set_type", "image2video"), ("size", 12)],
                       headers=headers).json()["job_sets"]
    assert [s["type"] for s in videos] == ["image2video"]
    assert httpx.get(f"{simulator.url}/fnf/project", headers={"Authorization": "Bearer stale"}).status_code == 401
    assert httpx.get(f"{simulator.url}/fnf/project", params={"size": 0}, headers=headers).status_code == 422
