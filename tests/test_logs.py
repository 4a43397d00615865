"""Structured logs: each web request gets an id, returned in X-Request-ID and written on
every log line of that request; provider calls are logged with method, path, status,
duration and the provider's correlation id; a worker step's lines carry its generation id."""

import io
import json
import logging

import httpx
import pytest

from generations import higgsfield, tasks
from generations.higgsfield.client import Connection, request
from generations.models import Generation
from higgsweb import logs


@pytest.fixture
def log_lines():
    """What the production handler writes: the context filter and the JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_each_response_carries_a_new_request_id(client, alice):
    client.force_login(alice)
    first, second = client.get("/").headers["X-Request-ID"], client.get("/").headers["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_a_plain_incoming_request_id_is_kept_and_anything_else_replaced(client):
    assert client.get("/login/", headers={"X-Request-ID": "lb-7f3a9c01"}).headers["X-Request-ID"] == "lb-7f3a9c01"
    for bad in ("short", "x" * 101, "a b c d e f g h", "id\u00e9-with-accent"):
        assert client.get("/login/", headers={"X-Request-ID": bad}).headers["X-Request-ID"] != bad


def test_every_line_written_during_a_request_has_its_id(client, alice, log_lines):
    client.force_login(alice)
    client.get("/", headers={"X-Request-ID": "req-0123456789"})
    client.get("/login/")
    access = [line for line in log_lines() if line["logger"] == "higgsweb.request"]
    assert access[0] == {**access[0], "request_id": "req-0123456789", "method": "GET", "path": "/",
                         "status": 200, "user_id": alice.pk, "level": "INFO", "message": "GET / 200"}
    assert access[0]["duration_ms"] >= 0
    assert access[1]["request_id"] != "req-0123456789"  # the id does not leak into the next request


def test_a_provider_call_is_logged_with_the_providers_correlation_id(log_lines):
    def answer(req):
        return httpx.Response(404, json={"detail": "Not found"}, headers={"X-Correlation-ID": "corr-42"})
    conn = Connection("model_api", "http://provider.test", "id", "secret")
    with pytest.raises(higgsfield.ProviderError) as raised:
        request(conn, "GET", "/requests/abc/status?token=secret", transport=httpx.MockTransport(answer))
    assert raised.value.correlation_id == "corr-42"
    (line,) = [line for line in log_lines() if line["logger"] == "generations.higgsfield"]
    assert line["method"] == "GET" and line["path"] == "/requests/abc/status" and line["status"] == 404
    assert line["correlation_id"] == "corr-42" and line["provider"] == "model_api"
    assert "secret" not in json.dumps(line)  # neither the query string nor the key


def test_a_network_failure_is_logged_as_a_warning(log_lines):
    def refuse(req):
        raise httpx.ConnectError("refused")
    conn = Connection("model_api", "http://provider.test", "id", "secret")
    with pytest.raises(higgsfield.ProviderError):
        request(conn, "GET", "/models", transport=httpx.MockTransport(refuse))
    (line,) = [line for line in log_lines() if line["logger"] == "generations.higgsfield"]
    assert line["level"] == "WARNING" and line["status"] is None and line["error"] == "ConnectError"


def test_a_worker_steps_lines_carry_the_generation_id(alice, project, account, simulator, log_lines):
    generation = Generation.objects.create(
        owner=alice, project=project, model_id="higgsfield-ai/soul/standard", account=account,
        params={"prompt": "a red kite", "aspect_ratio": "1:1", "resolution": "720p", "batch_size": 1})
    tasks.submit_generation(generation.pk)
    calls = [line for line in log_lines() if line["logger"] == "generations.higgsfield"]
    assert calls, "the submit was not logged"
    submit = calls[-1]
    assert submit["generation_id"] == str(generation.pk)
    assert submit["method"] == "POST" and submit["path"] == "/higgsfield-ai/soul/standard" and submit["status"] == 200
    assert len(submit["correlation_id"]) == 36  # the simulator's X-Correlation-ID, a UUID


def test_exceptions_are_written_with_their_traceback(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("generations.tasks").exception("step failed")
    (line,) = log_lines()
    assert line["message"] == "step failed" and "ValueError: boom" in line["exception"]
