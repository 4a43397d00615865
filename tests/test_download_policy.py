"""Where output files may be downloaded from: any https host that resolves only to public
addresses, connected at the address that was checked, redirects checked hop by hop. Files
are served over real TLS from loopback under made-up CDN names (tests/cdn.py)."""

import io

import pytest
from PIL import Image

from generations import archive, tasks
from generations.higgsfield import download
from generations.higgsfield.errors import DownloadRefused, NetworkError
from generations.models import Generation, Output, ProviderAccount
from tests.cdn import Files

HOST = "d1abcdef.cloudfront.net"
OTHER = "files.other-cdn.example"


def png(size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def served(cdn, test_ca, settings, tmp_path):
    files = Files(test_ca, [HOST, OTHER, "a.cdn.example", "b.cdn.example", "c.cdn.example", "d.cdn.example"])
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    yield files
    files.close()


def fetch(url, **policy):
    return download.fetch(url, download.Policy(max_bytes=policy.pop("max_bytes", 10_000_000), **policy))


def test_a_file_on_a_host_nobody_listed_is_fetched_when_it_resolves_to_a_public_address(served, cdn):
    address = cdn.add(HOST, served.port)
    data, content_type = fetch(served.add(HOST, "/out/1.png", png(), "image/png"))
    assert data == png() and content_type == "image/png"
    assert cdn.connects == [(address, 443)]


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.10", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.251", "240.0.0.1", "255.255.255.255", "192.0.2.10", "::1", "fe80::1", "fd00::1", "ff02::1", "::",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:a00:1::1", "64:ff9b::c0a8:101", "2001:db8::1",
], ids=str)
def test_a_host_that_resolves_to_a_non_public_address_is_refused_before_any_connection(served, cdn, address):
    cdn.point(HOST, [address])
    with pytest.raises(DownloadRefused, match="non-public address"):
        fetch(f"https://{HOST}/x.png")
    assert cdn.connects == []


def test_one_private_address_among_public_ones_is_enough_to_refuse(served, cdn):
    cdn.point(HOST, ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(DownloadRefused, match="non-public"):
        fetch(f"https://{HOST}/x.png")
    assert cdn.connects == []


def test_the_connection_goes_to_the_address_that_was_checked_not_to_a_second_lookup(served, cdn, monkeypatch):
    """DNS rebinding: the name answers a public address once, then loopback. The client never
    asks again, so it connects where it checked."""
    address = cdn.add(HOST, served.port)
    url = served.add(HOST, "/r.png", png(), "image/png")
    answers = [[address]]
    lookups = []

    def rebinding(host, port):
        lookups.append(host)
        return answers.pop(0) if answers else ["127.0.0.1"]

    monkeypatch.setattr(download, "resolve", rebinding)
    data, _ = fetch(url)
    assert data == png()
    assert lookups == [HOST] and cdn.connects == [(address, 443)]


def test_tls_is_verified_for_the_host_name_not_the_address(cdn, test_ca, tmp_path):
    impostor = Files(test_ca, ["someone-else.example"])  # a valid certificate, for another name
    try:
        cdn.add(HOST, impostor.port)
        impostor.add(HOST, "/x.png", png(), "image/png")
        with pytest.raises(DownloadRefused, match="certificate"):
            fetch(f"https://{HOST}/x.png")
    finally:
        impostor.close()


@pytest.mark.parametrize("url,reason", [
    ("http://d1abcdef.cloudfront.net/x.png", "not https"),
    ("https://user:pw@d1abcdef.cloudfront.net/x.png", "credentials"),
    ("ftp://d1abcdef.cloudfront.net/x.png", "not https"),
])
def test_only_https_urls_without_credentials_are_fetched(served, cdn, url, reason):
    cdn.add(HOST, served.port)
    with pytest.raises(DownloadRefused, match=reason):
        fetch(url)
    assert cdn.connects == []


def test_up_to_three_redirects_are_followed_each_hop_checked_and_pinned(served, cdn):
    hosts = ["a.cdn.example", "b.cdn.example", "c.cdn.example", "d.cdn.example"]
    addresses = [cdn.add(host, served.port) for host in hosts]
    served.redirect("/0", "https://b.cdn.example/1")
    served.redirect("/1", "https://c.cdn.example/2")
    served.redirect("/2", "/3")  # relative: same host
    served.add("c.cdn.example", "/3", png(), "image/png")
    data, _ = fetch("https://a.cdn.example/0")
    assert data == png()
    assert [a for a, _ in cdn.connects] == [addresses[0], addresses[1], addresses[2], addresses[2]]
    assert cdn.lookups == ["a.cdn.example", "b.cdn.example", "c.cdn.example", "c.cdn.example"]


def test_a_fourth_redirect_is_refused(served, cdn):
    cdn.add(HOST, served.port)
    for hop in range(4):
        served.redirect(f"/{hop}", f"/{hop + 1}")
    served.add(HOST, "/4", png(), "image/png")
    with pytest.raises(DownloadRefused, match="more than 3 times"):
        fetch(f"https://{HOST}/0")
    assert len(cdn.connects) == 4


@pytest.mark.parametrize("location,reason", [
    ("https://internal.example/x.png", "non-public address"),
    ("http://files.other-cdn.example/x.png", "not https"),
    ("https://admin:pw@files.other-cdn.example/x.png", "credentials"),
])
def test_a_redirect_to_somewhere_refused_is_refused_without_connecting_there(served, cdn, location, reason):
    address = cdn.add(HOST, served.port)
    cdn.add(OTHER, served.port)
    cdn.point("internal.example", ["10.0.0.5"])
    served.redirect("/x.png", location)
    with pytest.raises(DownloadRefused, match=reason):
        fetch(f"https://{HOST}/x.png")
    assert cdn.connects == [(address, 443)]


def test_the_optional_host_list_narrows_the_policy_with_suffix_patterns(served, cdn):
    cdn.add(HOST, served.port)
    cdn.add(OTHER, served.port)
    served.add(HOST, "/x.png", png(), "image/png")
    patterns = ("*.cloudfront.net", "cdn.higgsfield.ai")
    assert fetch(f"https://{HOST}/x.png", hosts=patterns)[0] == png()
    with pytest.raises(DownloadRefused, match="not on HIGGSFIELD_MEDIA_HOSTS"):
        fetch(f"https://{OTHER}/x.png", hosts=patterns)
    assert download.host_allowed("d1.cloudfront.net", patterns)
    assert not download.host_allowed("cloudfront.net", patterns)
    assert not download.host_allowed("evilcloudfront.net", patterns)
    assert not download.host_allowed("cloudfront.net.evil.example", patterns)


def test_the_size_cap_holds_on_any_host(served, cdn):
    cdn.add(HOST, served.port)
    served.add(HOST, "/big.png", b"\0" * 5000, "image/png")
    with pytest.raises(DownloadRefused, match="larger than 1000 bytes"):
        fetch(f"https://{HOST}/big.png", max_bytes=1000)


def test_local_media_is_plain_http_on_loopback_only_and_only_when_switched_on(cdn, settings):
    cdn.point(HOST, ["93.184.216.34"])
    with pytest.raises(DownloadRefused, match="not https"):
        fetch("http://127.0.0.1:9/x.png")
    with pytest.raises(DownloadRefused, match="non-public"):
        fetch("http://10.0.0.5/x.png", allow_local=True)
    with pytest.raises(NetworkError):  # allowed, and then nothing listens on port 9
        fetch("http://127.0.0.1:9/x.png", allow_local=True)
    with pytest.raises(DownloadRefused, match="not https"):
        fetch(f"http://{HOST}/x.png", allow_local=True)  # public hosts still need https
    settings.HIGGSFIELD_ALLOW_LOCAL_MEDIA = False
    assert archive.media_policy().allow_local is False


def test_a_redirect_loop_is_counted_and_set_aside_after_three_attempts_with_the_reason_on_the_card(
        served, cdn, alice, project, client):
    cdn.add(HOST, served.port)
    for hop in range(5):
        served.redirect(f"/{hop}", f"/{hop + 1}")
    generation = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                           params={"prompt": "a kite"}, status="completed")
    Output.objects.create(generation=generation, kind="image", provider_url=f"https://{HOST}/0")
    for _ in range(3):
        tasks.archive_outputs(str(generation.pk))
        generation.refresh_from_db()
    assert generation.quarantined_at is not None and not generation.archived
    assert "redirected more than 3 times" in generation.quarantine_reason
    client.force_login(alice)
    assert "redirected more than 3 times" in client.get("/").content.decode()


def test_a_refusal_is_tried_again_before_it_is_set_aside(served, cdn, alice, project):
    cdn.point(HOST, ["192.168.0.9"])
    generation = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                           params={"prompt": "a kite"}, status="completed")
    Output.objects.create(generation=generation, kind="image", provider_url=f"https://{HOST}/x.png")
    tasks.archive_outputs(str(generation.pk))
    generation.refresh_from_db()
    assert generation.quarantined_at is None and generation.archive_attempts == 1
    assert generation.next_action_at is not None


def test_in_the_suite_outputs_come_from_a_host_the_app_never_heard_of(simulator, account, alice, project, cdn,
                                                                      settings):
    """The default fixture's simulator serves outputs from https://media.sim-cdn.test: the general
    policy, not an allow-list or a trusted origin, is what lets them in."""
    from tests.cdn import MEDIA_HOST

    assert settings.HIGGSFIELD_MEDIA_HOSTS == [] and settings.HIGGSFIELD_ALLOW_LOCAL_MEDIA is False
    generation = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                           params={"prompt": "a kite", "resolution": "720p"}, account=account)
    tasks.submit_generation(generation.pk)
    simulator.advance_clock(10)
    tasks.poll_generation(generation.pk)
    tasks.archive_outputs(generation.pk)
    generation.refresh_from_db()
    output = generation.outputs.get()
    assert output.provider_url.startswith(f"https://{MEDIA_HOST}/_media/")
    assert generation.archived and output.kind == "image"
    assert MEDIA_HOST in cdn.lookups


def test_make_runs_plain_http_simulator_needs_the_local_media_switch(alice, project, settings, tmp_path):
    """`make run`: the simulator serves outputs over plain http on loopback; the app takes them
    only with HIGGSFIELD_ALLOW_LOCAL_MEDIA (honoured only while the simulator is the provider)."""
    from tests.sim_support import new_account, start_simulator

    sim = start_simulator(queue_seconds=0, run_seconds=0)
    try:
        conn = new_account(sim)
        account = ProviderAccount.objects.create(name="local", base_url=sim.url, key_id=conn.key_id,
                                                 key_secret=conn.key_secret)
        settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
        for allowed in (False, True):
            settings.HIGGSFIELD_ALLOW_LOCAL_MEDIA = allowed
            generation = Generation.objects.create(owner=alice, project=project, account=account,
                                                   model_id="higgsfield-ai/soul/standard",
                                                   params={"prompt": "a kite", "resolution": "720p"})
            tasks.submit_generation(generation.pk)
            tasks.poll_generation(generation.pk)
            tasks.archive_outputs(generation.pk)
            generation.refresh_from_db()
            assert generation.outputs.get().provider_url.startswith("http://127.0.0.1:")
            assert generation.archived is allowed
            if not allowed:
                assert "not https" in generation.outputs.get().error
    finally:
        sim.server.stop()


def test_the_local_media_switch_is_ignored_with_a_real_key(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    def setting(**env):
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("HIGGSFIELD_", "USE_SIMULATOR"))}
        result = subprocess.run(
            [sys.executable, "-c", "from django.conf import settings; print(settings.HIGGSFIELD_ALLOW_LOCAL_MEDIA)"],
            env=clean | {"DJANGO_SETTINGS_MODULE": "higgsweb.settings", **env}, capture_output=True, text=True,
            cwd=Path(__file__).resolve().parent.parent, timeout=60)
        return result.stdout.strip()

    assert setting(HIGGSFIELD_ALLOW_LOCAL_MEDIA="true") == "True"  # no key: the simulator
    assert setting(HIGGSFIELD_ALLOW_LOCAL_MEDIA="true", HIGGSFIELD_API_KEY="k", HIGGSFIELD_API_SECRET="s") == "False"
    assert setting() == "False"
