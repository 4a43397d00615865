import re

import pytest
from django.core.files.base import ContentFile

from generations import pipeline
from generations.models import Gallery, Generation, Output


@pytest.fixture
def done(alice, project):
    generation = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                           params={"prompt": "a finished fox"}, status="completed", archived=True)
    output = Output(generation=generation, kind="image", provider_url="https://cdn.example/a.png",
                    content_type="image/png")
    output.file.save("a.png", ContentFile(b"\x89PNG fake"), save=False)
    output.thumbnail.save("a.webp", ContentFile(b"RIFF fake"), save=False)
    output.archived_at = generation.created_at
    output.save()
    return generation


@pytest.fixture
def pending(alice, project):
    return Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                     params={"prompt": "a pending owl"}, status="queued")


def test_login_is_required(client):
    assert client.get("/").status_code == 302


def test_member_sees_own_work_newest_first(client, alice, done, pending):
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert html.index("a pending owl") < html.index("a finished fox")
    assert "Simulator mode" in html


def test_other_members_get_404(client, bob, done):
    client.force_login(bob)
    assert "a finished fox" not in client.get("/").content.decode()
    assert client.get(f"/g/{done.pk}/").status_code == 404
    assert client.get(f"/g/{done.pk}/card/").status_code == 404
    assert client.get(f"/files/{done.outputs.get().pk}/").status_code == 404


def test_client_sees_finished_work_of_shared_galleries_only(client, carol, done, pending):
    carol.gallery.add(done)
    client.force_login(carol)
    assert client.get("/")["Location"] == "/galleries/"
    html = client.get(f"/galleries/{carol.gallery.pk}/").content.decode()
    assert f"/files/{done.outputs.get().pk}/thumb/" in html
    assert "a finished fox" not in html  # prompts stay with the team
    assert "a pending owl" not in html
    detail = client.get(f"/g/{done.pk}/").content.decode()
    assert "Parameters" not in detail and "a finished fox" not in detail
    assert "Generate" not in html
    assert client.post("/generations/new/", {"prompt": "x"}).status_code == 403


def test_files_are_served_privately_with_nosniff(client, alice, done):
    client.force_login(alice)
    response = client.get(f"/files/{done.outputs.get().pk}/")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"


def test_pending_card_keeps_polling_and_final_card_stops(client, alice, done, pending):
    client.force_login(alice)
    response = client.get(f"/g/{pending.pk}/card/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'hx-trigger="every 500ms"' in response.content.decode()
    response = client.get(f"/g/{done.pk}/card/", headers={"HX-Request": "true"})
    assert response.status_code == 286  # htmx: stop polling
    assert "hx-trigger=\"every" not in response.content.decode()


def test_a_polling_card_replaces_only_itself_not_the_list_around_it(client, alice, done, pending):
    # The list declares hx-target="this" for its own refresh; htmx attributes are inherited,
    # so a card that did not name its own target would swap the whole list for one card.
    client.force_login(alice)
    html = client.get("/").content.decode()
    card = re.search(rf'<article[^>]*id="card-{pending.pk}"[^>]*>', html).group(0)
    assert 'hx-trigger="every 500ms"' in card and 'hx-target="this"' in card and 'hx-swap="outerHTML"' in card


def test_list_partial_renders_alone(client, alice, done):
    client.force_login(alice)
    response = client.get("/", headers={"HX-Request": "true", "HX-Target": "generation-list"})
    assert response.content.decode().lstrip().startswith('<div id="generation-list"')


def test_submit_creates_a_generation_and_tells_the_page(client, alice, project, account, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    started = []
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: started.append(step))
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/generations/new/", {
            "project": project.pk, "prompt": "a quiet harbour", "aspect_ratio": "16:9", "resolution": "1080p",
            "batch_size": "1", "random_seed": "on"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "generationCreated" in response["HX-Trigger"]
    generation = Generation.objects.get()
    assert generation.owner == alice
    assert generation.params["aspect_ratio"] == "16:9"
    assert started == ["submit_generation"]


def test_cards_say_what_a_job_cost_or_that_it_was_refunded(client, alice, project, account):
    charged = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                             params={"prompt": "kept", "resolution": "1080p", "batch_size": 4})
    failed = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                            params={"prompt": "lost", "resolution": "720p", "batch_size": 1})
    for status in ("submitting", "queued", "completed"):
        charged.advance(status, Generation.Source.POLL)
    failed.advance("failed", Generation.Source.POLL, error="boom")
    client.force_login(alice)
    assert "12 credits" in client.get(f"/g/{charged.pk}/card/").content.decode()
    assert "refunded" in client.get(f"/g/{failed.pk}/card/").content.decode()


def test_the_gallery_filters_by_prompt_status_and_model(client, alice, done, pending):
    client.force_login(alice)
    html = client.get("/?q=owl").content.decode()
    assert "a pending owl" in html and "a finished fox" not in html
    html = client.get("/?by_status=completed", headers={"HX-Request": "true", "HX-Target": "generation-list"})
    html = html.content.decode()
    assert html.lstrip().startswith('<div id="generation-list"')
    assert "a finished fox" in html and "a pending owl" not in html
    assert "Nothing matches these filters" in client.get("/?by_status=canceled").content.decode()


def test_the_gallery_pages_through_older_work(client, alice, project):
    for index in range(50):
        Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                  params={"prompt": f"picture number {index:02d}"}, status="failed")
    client.force_login(alice)
    first = client.get("/").content.decode()
    assert "picture number 49" in first and "picture number 01" not in first
    assert "Page 1" in first and "?page=2" in first and "Newer" not in first
    second = client.get("/?page=2").content.decode()
    assert "picture number 01" in second and "picture number 49" not in second
    assert "Page 2" in second and "?page=1" in second and "Older" not in second
    assert "Nothing older here" in client.get("/?page=3").content.decode()
    assert "picture number 49" in client.get("/?page=nonsense").content.decode()


def test_paging_keeps_the_filters(client, alice, project):
    for index in range(60):
        Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                  params={"prompt": f"picture number {index:02d}"},
                                  status="failed" if index % 2 else "canceled")
    client.force_login(alice)
    first = client.get("/?by_status=failed", headers={"HX-Request": "true", "HX-Target": "generation-list"})
    assert "?by_status=failed&amp;page=2" not in first.content.decode()  # 30 failed: one page
    first = client.get("/?q=picture").content.decode()
    assert "?q=picture&amp;page=2" in first
    second = client.get("/?q=picture&page=2").content.decode()
    assert "picture number 01" in second and "picture number 00" in second and "Older" not in second


def test_a_members_list_pages_through_own_and_curated_work_in_order(client, alice, bob, project):
    from django.utils import timezone

    now = timezone.now()
    shortlist = Gallery.objects.create(project=project, name="Shortlist", created_by=bob)
    for index in range(120):  # alternately Alice's own and Bob's, Bob's shortlisted every other time
        owner = alice if index % 2 else bob
        generation = Generation.objects.create(owner=owner, project=project, model_id="higgsfield-ai/soul/standard",
                                               params={"prompt": f"picture {index:03d}"}, status="completed",
                                               created_at=now - timezone.timedelta(minutes=index))
        if owner == bob and index % 4 == 0:
            shortlist.add(generation)
    client.force_login(alice)
    pages = [client.get(f"/?page={number}").content.decode() for number in (1, 2)]
    shown = [re.findall(r'title="picture (\d+)"', html) for html in pages]
    expected = [f"{i:03d}" for i in range(120) if i % 2 or i % 4 == 0]  # 60 own, 30 curated
    assert shown == [expected[:48], expected[48:]]
    assert "Older" in pages[0] and "Older" not in pages[1]
    assert all("picture 002" not in html for html in pages)  # Bob's work that nobody curated stays his


def test_the_detail_page_offers_each_saved_file_for_download(client, alice, done):
    client.force_login(alice)
    output = done.outputs.get()
    assert f"/files/{output.pk}/?download=1" in client.get(f"/g/{done.pk}/").content.decode()
    response = client.get(f"/files/{output.pk}/?download=1")
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_gallery_query_count_does_not_grow_with_history(client, alice, project, account,
                                                           django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for index in range(60):
        generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                    params={"prompt": f"picture {index}", "batch_size": 1})
        generation.advance("failed", Generation.Source.POLL, error="boom")
    shortlist = Gallery.objects.create(project=project, name="Shortlist", created_by=alice)
    kept = Generation.objects.order_by("created_at")[:30]
    Generation.objects.filter(pk__in=[g.pk for g in kept]).update(status=Generation.Status.COMPLETED, archived=True)
    for generation in Generation.objects.filter(status=Generation.Status.COMPLETED):
        shortlist.add(generation)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/", headers={"HX-Request": "true", "HX-Target": "generation-list"})
    assert response.status_code == 200 and "refunded" in response.content.decode()
    # session, user, the page (with the gallery items its cards are in); then, for the cards
    # drawn afresh, their rows, outputs and gallery chips; the last-seen update.
    assert len(captured) <= 7
    # Nothing reads the whole history: no count for the pager, no list of models used.
    history = [q["sql"] for q in captured if "COUNT(" in q["sql"] or "DISTINCT" in q["sql"]]
    assert history == []
    # Settled cards are drawn once: the next list takes them from the cache.
    with CaptureQueriesContext(connection) as again:
        second = client.get("/", headers={"HX-Request": "true", "HX-Target": "generation-list"})
    def cards(answer):  # as drawn, less the feed's cursor (a time) and the CSRF token (masked anew each time)
        return re.sub(r'name="since" value="\d+"|name="csrfmiddlewaretoken" value="\w+"', "", answer.content.decode())

    assert cards(second) == cards(response)
    assert len(again) <= 3  # session, user, the page


def test_a_running_card_is_kept_between_lists_and_redrawn_when_its_job_moves_on(client, alice, project):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    running = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                        params={"prompt": "at the provider"}, status="in_progress")
    client.force_login(alice)
    list_headers = {"HX-Request": "true", "HX-Target": "generation-list"}
    first = client.get("/", headers=list_headers).content.decode()
    assert "In progress" in first
    with CaptureQueriesContext(connection) as again:
        client.get("/", headers=list_headers)
    assert not [q for q in again if "params" in q["sql"]], "the kept card was read again"
    Generation.objects.filter(pk=running.pk).update(notice="The provider is busy; still trying.")
    assert "The provider is busy; still trying." in client.get("/", headers=list_headers).content.decode()
    Generation.objects.filter(pk=running.pk).update(status="failed", error="The provider gave up.")
    html = client.get("/", headers=list_headers).content.decode()
    assert "The provider gave up." in html and "data-started" not in html


def _poll_url(html):
    return re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_a_card_poll_with_nothing_changed_is_a_204_in_three_queries(client, alice, pending):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(alice)
    poll = _poll_url(client.get(f"/g/{pending.pk}/card/", headers={"HX-Request": "true"}).content.decode())
    assert "?seen=" in poll
    for _ in range(2):  # the first poll after the card was drawn, and the next
        with CaptureQueriesContext(connection) as captured:
            response = client.get(poll, headers={"HX-Request": "true"})
        assert response.status_code == 204 and response.content == b""
        # session, user, the generation's row: what its version is made of, no credits or joins;
        # and no write, since the gallery was seen less than 30 s ago.
        assert len(captured) == 3
        row = captured[2]["sql"]
        assert "ledgerentry" not in row and "JOIN" not in row and '"params"' not in row


def test_a_card_poll_for_someone_elses_job_is_a_404_whatever_it_sends(client, bob, pending):
    client.force_login(bob)
    assert client.get(f"/g/{pending.pk}/card/?seen={pending.card_version}").status_code == 404
    assert client.get(f"/g/{pending.pk}/card/?seen=stale").status_code == 404


def test_a_card_that_changed_is_redrawn_with_its_new_version(client, alice, pending,
                                                              django_assert_max_num_queries):
    client.force_login(alice)
    client.get("/")  # the gallery was open: no last-seen write below
    with django_assert_max_num_queries(3):  # session, user, the generation with its credits
        poll = _poll_url(client.get(f"/g/{pending.pk}/card/", headers={"HX-Request": "true"}).content.decode())
    pending.advance("in_progress", Generation.Source.WEBHOOK)
    with django_assert_max_num_queries(4):  # and first its version, which no longer matches
        response = client.get(poll, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and "In progress" in html
    assert _poll_url(html) != poll
    assert client.get(_poll_url(html), headers={"HX-Request": "true"}).status_code == 204
    Generation.objects.filter(pk=pending.pk).update(notice="It has already started, so it can no longer be canceled.")
    assert "can no longer be canceled" in client.get(_poll_url(html), headers={"HX-Request": "true"}).content.decode()


def test_a_card_waiting_in_line_is_always_redrawn(client, alice, project):
    waiting = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                        params={"prompt": "in line"}, status="draft")
    client.force_login(alice)
    html = client.get(f"/g/{waiting.pk}/card/", headers={"HX-Request": "true"}).content.decode()
    assert _poll_url(html) == f"/g/{waiting.pk}/card/"
    assert client.get(f"/g/{waiting.pk}/card/?seen=anything").status_code == 200


def test_a_running_card_keeps_its_elapsed_time_ticking_in_the_page(client, alice, pending, done):
    client.force_login(alice)
    html = client.get("/").content.decode()
    running = re.search(rf'<article[^>]*id="card-{pending.pk}".*?</article>', html, re.S).group(0)
    finished = re.search(rf'<article[^>]*id="card-{done.pk}".*?</article>', html, re.S).group(0)
    started = int(re.search(r'data-started="(\d+)"', running).group(1))
    assert started == int(pending.created_at.timestamp()) and "data-started" not in finished
    assert re.search(r'data-server-time="\d+"', html)


def test_a_card_whose_result_is_being_saved_polls_faster_until_it_shows(client, alice, project):
    saving = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                       params={"prompt": "almost there"}, status="completed", archived=False)
    Output.objects.create(generation=saving, kind="image", provider_url="https://cdn.example/a.png")
    client.force_login(alice)
    html = client.get(f"/g/{saving.pk}/card/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 200ms"' in html
    # Not "Completed" while nothing can be seen yet.
    badge = re.search(r'<span class="badge badge-[\w-]+">([^<]*)</span>', html).group(1)
    assert badge == "Saving…"
    Generation.objects.filter(pk=saving.pk).update(archived=True)
    html = client.get(f"/g/{saving.pk}/card/", headers={"HX-Request": "true"}).content.decode()
    assert re.search(r'<span class="badge badge-completed">Completed</span>', html)


def test_the_model_filter_offers_the_studios_models_and_still_finds_retired_ones(client, alice, project, done):
    Generation.objects.create(owner=alice, project=project, model_id="retired/model",
                                        params={"prompt": "an old dog"}, status="failed")
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert '<option value="veo3.1"' in html  # offered before anyone used it
    assert '<option value="retired/model"' not in html
    html = client.get("/?by_model=retired/model").content.decode()
    assert '<option value="retired/model" selected>' in html
    assert "an old dog" in html and "a finished fox" not in html


def test_card_links_are_the_routes_own_urls_under_any_script_prefix(done):
    from django.urls import reverse, set_script_prefix

    from generations.templatetags.generations import route

    output = done.outputs.get()
    try:
        for prefix in ("/", "/studio/"):
            set_script_prefix(prefix)
            assert route("generation-card", done.pk) == reverse("generation-card", args=[done.pk])
            assert route("output-thumb", output.pk) == reverse("output-thumb", args=[output.pk])
            assert route("gallery") == reverse("gallery")
            assert route("generation-detail", str(done.pk)) == reverse("generation-detail", args=[done.pk])
        assert route("generation-card", done.pk).startswith("/studio/g/")
    finally:
        set_script_prefix("/")


def test_a_kept_card_shows_its_gallery_chips_as_they_change(client, alice, project, finished):
    done = finished(alice, project, "a harbour at dawn")
    client.force_login(alice)
    list_headers = {"HX-Request": "true", "HX-Target": "generation-list"}

    def chips():
        html = client.get("/", headers=list_headers).content.decode()
        card = re.search(rf'<article[^>]*id="card-{done.pk}".*?</article>', html, re.S).group(0)
        return re.findall(r'href="/galleries/\d+/#item-\d+">([^<]+)</a>', card)

    assert chips() == []
    picks = Gallery.objects.create(project=project, name="Picks", created_by=alice)
    picks.add(done, by=alice)
    assert chips() == ["Picks"]
    Gallery.objects.filter(pk=picks.pk).update(name="Final picks")
    assert chips() == ["Final picks"]
    Gallery.objects.create(project=project, name="Print", created_by=alice).add(done, by=alice)
    assert chips() == ["Final picks", "Print"]
    picks.items.all().delete()
    assert chips() == ["Print"]
