import json

import httpx
import pytest

from generations import higgsfield

CONN = higgsfield.Connection("model_api", "https://platform.example", "kid", "ksecret")


def transport(handler, calls=None):
    def wrapped(request):
        if calls is not None:
            calls.append(request)
        return handler(request)
    return httpx.MockTransport(wrapped)


def test_submit_sends_auth_idempotency_key_and_webhook():
    calls = []

    def handler(request):
        return httpx.Response(200, json={"status": "queued", "request_id": "r-1",
                                         "status_url": "https://platform.example/requests/r-1/status",
                                         "cancel_url": "https://platform.example/requests/r-1/cancel"})

    receipt = higgsfield.submit(CONN, "higgsfield-ai/soul/standard", {"prompt": "a cat"}, idempotency_key="gen-1",
                                webhook_url="https://app.example/webhooks/higgsfield/?x=1",
                                transport=transport(handler, calls))
    request = calls[0]
    assert receipt.request_id == "r-1"
    assert request.headers["Authorization"] == "Key kid:ksecret"
    assert request.headers["Idempotency-Key"] == "gen-1"
    assert "Mozilla" in request.headers["User-Agent"]
    assert request.url.path == "/higgsfield-ai/soul/standard"
    assert request.url.params["hf_webhook"] == "https://app.example/webhooks/higgsfield/?x=1"
    assert json.loads(request.content) == {"prompt": "a cat"}


def test_status_parses_outputs_and_expiry():
    body = {"status": "completed", "request_id": "r-1", "images": [{"url": "https://cdn.example/1.png"}],
            "expires_at": "2026-10-09T12:00:00Z"}
    result = higgsfield.status(CONN, "r-1", transport=transport(lambda r: httpx.Response(200, json=body)))
    assert result.status == "completed"
    assert result.outputs == [higgsfield.Output("image", "https://cdn.example/1.png")]
    assert result.expires_at.year == 2026
    assert result.is_terminal


def test_video_and_failure_results():
    video = higgsfield.status(CONN, "r", transport=transport(lambda r: httpx.Response(
        200, json={"status": "completed", "request_id": "r", "video": {"url": "https://cdn.example/v.mp4"}})))
    assert video.outputs[0].kind == "video"
    failed = higgsfield.status(CONN, "r", transport=transport(lambda r: httpx.Response(
        200, json={"status": "failed", "request_id": "r", "error": "boom"})))
    assert failed.error == "boom"


@pytest.mark.parametrize("status, body, error", [
    (401, {"detail": "Invalid credentials"}, higgsfield.AuthError),
    (403, {"detail": "Not enough credits"}, higgsfield.NotEnoughCredits),
    (404, {"detail": "Not found"}, higgsfield.NotFound),
    (423, {"detail": "blocked"}, higgsfield.ModelBlocked),
    (400, {"detail": "Maximum number of concurrent requests (4) has been reached"}, higgsfield.ConcurrencyLimit),
    (400, {"detail": "Unavailable model"}, higgsfield.BadRequest),
])
def test_errors_become_readable_exceptions(status, body, error):
    with pytest.raises(error) as info:
        higgsfield.submit(CONN, "m", {}, transport=transport(lambda r: httpx.Response(status, json=body)))
    assert info.value.status == status
    assert info.value.message


def test_422_maps_field_errors():
    body = {"detail": [{"type": "missing", "loc": ["body", "prompt"], "msg": "Field required"},
                       {"type": "enum", "loc": ["body", "resolution"], "msg": "Input should be '720p'"}]}
    with pytest.raises(higgsfield.ValidationFailed) as info:
        higgsfield.submit(CONN, "m", {}, transport=transport(lambda r: httpx.Response(422, json=body)))
    assert info.value.field_errors == {"prompt": ["Field required"], "resolution": ["Input should be '720p'"]}
    assert "prompt: Field required" in info.value.message


def test_429_carries_retry_after():
    response = httpx.Response(429, json={"detail": "full", "code": "account_queue_full"}, headers={"Retry-After": "7"})
    with pytest.raises(higgsfield.RateLimited) as info:
        higgsfield.submit(CONN, "m", {}, idempotency_key="k", transport=transport(lambda r: response))
    assert info.value.retry_after == 7
    assert info.value.retry_safe


def test_status_retries_5xx_then_succeeds(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    answers = iter([httpx.Response(502), httpx.Response(503),
                    httpx.Response(200, json={"status": "queued", "request_id": "r"})])
    calls = []
    result = higgsfield.status(CONN, "r", transport=transport(lambda r: next(answers), calls))
    assert result.status == "queued"
    assert len(calls) == 3


def test_submit_without_idempotency_key_is_never_repeated(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    calls = []
    with pytest.raises(higgsfield.ServerError):
        higgsfield.submit(CONN, "m", {}, transport=transport(lambda r: httpx.Response(500), calls))
    assert len(calls) == 1


def test_a_submit_is_never_repeated_by_the_client_after_it_was_sent(monkeypatch):
    """A 5xx or a timeout after sending is the pipeline's to resolve (one resend with the same key)."""
    monkeypatch.setattr("time.sleep", lambda s: None)
    calls = []
    with pytest.raises(higgsfield.ServerError):
        higgsfield.submit(CONN, "m", {}, idempotency_key="gen-9",
                          transport=transport(lambda r: httpx.Response(500), calls))
    assert [c.headers["Idempotency-Key"] for c in calls] == ["gen-9"]

    def read_timeout(request):
        calls.append(request)
        raise httpx.ReadTimeout("no answer")
    with pytest.raises(higgsfield.NetworkError) as info:
        higgsfield.submit(CONN, "m", {}, idempotency_key="gen-9", transport=transport(read_timeout))
    assert not isinstance(info.value, higgsfield.ConnectFailed)  # it may have been accepted


def test_a_connection_that_never_opened_says_nothing_was_sent():
    def refused(request):
        raise httpx.ConnectError("connection refused")
    with pytest.raises(higgsfield.ConnectFailed) as info:
        higgsfield.submit(CONN, "m", {}, transport=transport(refused))
    assert "nothing was sent" in info.value.message


def test_network_errors_are_wrapped():
    def boom(request):
        raise httpx.ConnectTimeout("slow")
    with pytest.raises(higgsfield.NetworkError):
        higgsfield.status(CONN, "r", transport=transport(boom))


def test_cancel_accepts_202_and_explains_400():
    assert higgsfield.cancel(CONN, "r", transport=transport(lambda r: httpx.Response(202)))
    with pytest.raises(higgsfield.CancelRejected) as info:
        higgsfield.cancel(CONN, "r", transport=transport(lambda r: httpx.Response(400, json={"detail": "started"})))
    assert "already started" in info.value.message


def test_key_in_id_secret_form_is_normalised():
    conn = higgsfield.Connection("model_api", "https://x", "kid:ksecret", "")
    assert conn.auth_headers() == {"Authorization": "Key kid:ksecret"}


def test_provider_and_download_clients_share_one_context_that_still_verifies_certificates():
    import ssl

    from generations.higgsfield import client, download

    context = client.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs()  # the CA bundle is loaded
    with client.http_client(CONN) as api:
        assert api._transport._pool._ssl_context is context
    pinned = download._PinnedTransport("cdn.example", "93.184.216.34")
    assert pinned._pool._ssl_context is context
