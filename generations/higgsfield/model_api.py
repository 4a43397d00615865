"""Surface A: the Model API (`Authorization: Key id:secret`, flat JSON bodies)."""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from .client import request
from .errors import ServerError
from .results import Estimate, ModelInfo, Output, Receipt, Result

IDEMPOTENT = True  # Idempotency-Key is honoured on generation submits (PROTOCOL.md §2.10)


def runs(model_id):
    """Every model path of the Model API (the catalogue lists which); not the v1 paths."""
    return not model_id.strip("/").startswith("v1/")


def parse_time(value):
    if not value:
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value).astimezone()
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_status(body):
    outputs = [Output("image", item["url"], item.get("preview_url"))
               for item in body.get("images") or [] if item.get("url")]
    video = body.get("video")
    if isinstance(video, dict) and video.get("url"):
        outputs.append(Output("video", video["url"], video.get("preview_url")))
    audios = body.get("audios") or ([body["audio"]] if isinstance(body.get("audio"), dict) else [])
    outputs += [Output("audio", item["url"]) for item in audios if item.get("url")]
    return Result(
        request_id=str(body.get("request_id", "")),
        status=body.get("status", ""),
        outputs=outputs,
        error=body.get("error") or "",
        expires_at=parse_time(body.get("expires_at")),
        raw=body,
    )


def submit(conn, model_id, payload, *, idempotency_key=None, webhook_url=None, expires_after=None,
           transport=None):
    url = "/" + model_id.strip("/")
    if webhook_url:
        url += "?hf_webhook=" + quote(webhook_url, safe="")
    headers = {}
    if idempotency_key:
        headers["Idempotency-Key"] = str(idempotency_key)
    if expires_after:
        headers["Hf-Expires-After"] = str(int(expires_after))
    # Never repeated here: a timeout or 5xx after sending is the pipeline's to resolve (one resend
    # with the same Idempotency-Key), and a connection that failed before sending is sent again
    # by the pipeline too (PROTOCOL.md §2.8, §10.3).
    _, body = request(conn, "POST", url, json=payload, headers=headers, transport=transport)
    return Receipt(request_id=str(body["request_id"]), status=body.get("status", "queued"),
                   status_url=body.get("status_url"), cancel_url=body.get("cancel_url"))


def status(conn, request_id, *, transport=None):
    _, body = request(conn, "GET", f"/requests/{request_id}/status", retries=2, transport=transport)
    return parse_status(body)


def cancel(conn, request_id, *, transport=None):
    """202 means canceled; a 400 (already started) raises CancelRejected."""
    request(conn, "POST", f"/requests/{request_id}/cancel", cancel=True, transport=transport,
            expect_json=False)
    return True


def simulator_balance(conn, *, transport=None):
    """The local simulator's credit balance for this key (the real Model API has no such call)."""
    _, body = request(conn, "GET", "/_sim/balance", retries=1, transport=transport)
    return Decimal(str(body["credits"]))


def check_key(conn, *, transport=None):
    """A cheap authenticated call: the model list answers 401 to a key it does not accept."""
    request(conn, "GET", "/models", retries=1, transport=transport)


def delete(conn, request_id, *, transport=None):
    _, body = request(conn, "DELETE", f"/requests/{request_id}", retries=2, transport=transport)
    return body or {}


def upload(conn, data, content_type, *, transport=None):
    """Upload bytes for use as a job input; return the public URL to pass as image_url etc.
    The PUT goes to presigned storage with every `upload_headers` entry and no credentials."""
    _, body = request(conn, "POST", "/files/generate-upload-url", json={"content_type": content_type},
                      retries=2, transport=transport)
    try:
        upload_url, public_url = body["upload_url"], body["public_url"]
    except (KeyError, TypeError) as exc:
        raise ServerError("The provider's upload answer has no upload_url/public_url.") from exc
    headers = body.get("upload_headers") or {"Content-Type": content_type}
    request(conn, "PUT", upload_url, content=data, headers=headers, authenticated=False, expect_json=False,
            retries=2, transport=transport)
    return public_url


def estimate(conn, model_id, payload, *, transport=None):
    """The provider's price for this body (free, no side effects)."""
    _, body = request(conn, "POST", "/estimate/" + model_id.strip("/"), json=payload, retries=2,
                      transport=transport)
    try:
        return Estimate(credits=Decimal(str(body["credits"])), usd=Decimal(str(body["usd"])))
    except (KeyError, TypeError, InvalidOperation) as exc:
        raise ServerError("The provider's estimate has no credits/usd figures.") from exc


def list_models(conn, *, transport=None):
    """The models this key may call. The envelope is undocumented: a bare list, or a
    list under `models`/`items`/`data`."""
    _, body = request(conn, "GET", "/models", retries=2, transport=transport)
    if isinstance(body, dict):
        body = next((body[key] for key in ("models", "items", "data") if isinstance(body.get(key), list)), [])
    models = []
    for item in body or []:
        if isinstance(item, dict) and (item.get("slug") or item.get("id")):
            models.append(ModelInfo(slug=str(item.get("slug") or item.get("id")), title=item.get("title") or "",
                                    description=item.get("description") or "",
                                    output_type=item.get("output_type") or "",
                                    operation_type=item.get("operation_type") or ""))
    return models
