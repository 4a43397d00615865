"""The provider client for custom references, styles and motions, over real HTTP
against the simulator."""

import pytest

from generations import higgsfield
from higgsweb.simulator.library import MAX_TRAININGS

URLS = ["http://127.0.0.1:9/a.jpg", "http://127.0.0.1:9/b.jpg"]


@pytest.fixture
def conn(simulator):
    simulator.library.not_ready_seconds, simulator.library.queue_seconds = 1, 1
    simulator.library.train_seconds, simulator.library.fetch_timeout = 1, 0.2
    return higgsfield.Connection("model_api", simulator.url, "test-key", "test-secret")


def test_a_reference_trains_from_not_ready_to_completed_with_a_thumbnail(conn, simulator):
    created = higgsfield.create_reference(conn, "Mia", "v2", URLS)
    assert created.status == "not_ready" and created.model_version == "v2"
    simulator.advance_clock(1.5)
    assert higgsfield.get_reference(conn, created.id).status == "queued"
    simulator.advance_clock(1)
    assert higgsfield.get_reference(conn, created.id).is_training
    simulator.advance_clock(5)
    done = higgsfield.get_reference(conn, created.id)
    assert done.status == "completed"
    assert done.media_urls == tuple(URLS)
    assert done.thumbnail_url.endswith("thumbnail.webp")


def test_a_failed_training_says_why(conn, simulator):
    created = higgsfield.create_reference(conn, "simulate-failure Tom", "v1", URLS[:1])
    simulator.advance_clock(10)
    failed = higgsfield.get_reference(conn, created.id)
    assert failed.status == "failed"
    assert "face" in failed.fail_reason


def test_delete_while_training_raises_a_clear_error_and_works_afterwards(conn, simulator):
    created = higgsfield.create_reference(conn, "Mia", "v1", URLS)
    with pytest.raises(higgsfield.TrainingInProgress) as info:
        higgsfield.delete_reference(conn, created.id)
    assert "still training" in info.value.message
    simulator.advance_clock(10)
    assert higgsfield.delete_reference(conn, created.id)
    with pytest.raises(higgsfield.NotFound):
        higgsfield.get_reference(conn, created.id)


def test_the_list_is_paged_and_leaves_out_thumbnails(conn, simulator):
    for name in ("a", "b", "c"):
        higgsfield.create_reference(conn, name, "v1", URLS[:1])
    page = higgsfield.list_references(conn, page=2, page_size=2)
    assert (page.total, page.page, page.page_size, page.total_pages) == (3, 2, 2, 2)
    assert [item.name for item in page.items] == ["a"]
    assert page.items[0].thumbnail_url == ""


def test_only_four_trainings_run_at_once(conn):
    for index in range(MAX_TRAININGS):
        higgsfield.create_reference(conn, f"c{index}", "v1", URLS[:1])
    with pytest.raises(higgsfield.ConcurrencyLimit):
        higgsfield.create_reference(conn, "one too many", "v1", URLS[:1])


def test_bad_bodies_get_field_errors(conn):
    with pytest.raises(higgsfield.ValidationFailed) as info:
        higgsfield.create_reference(conn, "x", "v9", ["not-a-url"])
    assert set(info.value.field_errors) == {"model_version", "input_images"}


def test_style_lists_and_motions_have_previews_and_the_known_ids(conn):
    v1 = higgsfield.soul_styles(conn, "v1")
    v2 = higgsfield.soul_styles(conn, "v2")
    motions = higgsfield.motions(conn)
    assert (len(v1), len(v2), len(motions)) == (106, 33, 121)
    assert {"Realistic", "Creatures", "Subway"} <= {s.name for s in v1}
    assert v2[0].id == "3db34ab5-3439-4317-9e03-08dc30852e69" and v2[0].name == "General"
    assert "893cb65f-c528-40aa-83d8-c5aeb2bfe59f" in {m.id for m in motions}
    import httpx

    preview = httpx.get(motions[0].preview_url)
    assert preview.headers["content-type"] == "image/webp" and preview.content[:4] == b"RIFF"


def test_legacy_header_auth_is_accepted_and_bad_keys_are_not(simulator):
    legacy = higgsfield.Connection("v1", simulator.url, "test-key", "test-secret")
    assert len(higgsfield.motions(legacy)) == 121
    with pytest.raises(higgsfield.AuthError):
        higgsfield.soul_styles(higgsfield.Connection("model_api", simulator.url, "test-key", "wrong"))
