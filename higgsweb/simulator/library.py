"""Helper endpoints: Soul ID custom references (training over simulated time, failures
on demand, a thumbnail made from the photos), Soul style lists v1/v2 and DoP motions,
each entry with a small generated preview served here."""

import io
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from PIL import Image, ImageOps

from . import media
from .server import Response, detail, json_response

TRAINING_CREDITS = 40
MAX_TRAININGS = 4
MAX_PHOTO_BYTES = 12 * 1024 * 1024
NS = uuid.UUID("5b1e4d7a-0c3f-4f55-9a57-2f1d6c0e8a11")

# Known ids (PROTOCOL.md §3.5, §3.6); the rest of each list is made up but stable.
KNOWN_STYLES_V1 = [
    ("1cb4b936-77bf-4f9a-9039-f3d349a4cdbe", "Realistic"), ("ca4e6ad3-3e93-4e03-81a0-d1722d2c128b", "DigitalCam"),
    ("6fb3e1f5-d721-4523-ac38-9902f2b2b850", "Library"), ("40ff999c-f576-443c-b5b3-c7d1391a666e", "Spotlight"),
    ("ff1ad8a2-94e7-4e70-a12f-e992ca9a0d36", "Quiet luxury"), ("b3c8075a-cb4c-42de-b8b3-7099dd2df672", "Creatures"),
    ("1fc861ed-5923-41a6-9963-b9f04681dddd", "Medieval"), ("a5f63c3b-70eb-4979-af5e-98c7ee1e18e8", "Giant People"),
    ("d2e8ba04-9935-4dee-8bc4-39ac789746fc", "Subway"), ("464ea177-8d40-4940-8d9d-b438bab269c7", "Grunge"),
]
KNOWN_STYLES_V2 = [
    ("3db34ab5-3439-4317-9e03-08dc30852e69", "General"), (str(uuid.uuid5(NS, "v2:Flash editorial")), "Flash editorial"),
    (str(uuid.uuid5(NS, "v2:Digital camera")), "Digital camera"),
    (str(uuid.uuid5(NS, "v2:Editorial street style")), "Editorial street style"),
]
KNOWN_MOTIONS = [
    ("d2389a9a-91c2-4276-bc9c-c9e35e8fb85a", "General"), ("4e981984-1cdc-4b96-a2b1-1a7c1ecb822d", "Disintegration"),
    ("70e490b9-26b7-4572-8d9c-2ac8dcc9adc0", "Earth Zoom Out"), ("0ab33462-481e-4c78-8ffc-086bebd84187", "Eyes In"),
    ("cd5bfd11-5a1a-46e0-9294-b22b0b733b1e", "Face Punch"), ("0bdbf318-f918-4f9b-829a-74cab681d806", "Arc Right"),
    ("36e6e450-52d9-484f-bfbe-f069e06a1530", "Handheld"),
    ("e974bca9-c9eb-4cc8-9318-5676cc110f17", "Building Explosion"),
    ("aab8440c-0d65-4554-b88a-7a9a5e084b6e", "Static"), ("46e23a6b-1047-40f1-9cf5-33f5f55ddf2e", "Turning Metal"),
    ("6f06f47e-922e-4660-9fe9-754e4be69696", "3D Rotation"), ("893cb65f-c528-40aa-83d8-c5aeb2bfe59f", "Snorricam"),
]
_MOODS = ["Golden hour", "Neon", "Film noir", "Pastel", "Y2K", "Polaroid", "Vogue", "Street", "Studio", "Cyberpunk",
          "Vintage", "Minimal", "Dreamy", "Moody", "Sunlit", "Rainy", "Desert", "Alpine", "Tokyo", "Paris", "Beach"]
_SUBJECTS = ["portrait", "editorial", "snapshot", "selfie", "fashion", "cinematic", "lookbook", "mirror shot",
             "night out", "close-up"]
_MOVES = ["Dolly", "Crane", "Whip Pan", "Zoom", "Orbit", "Tilt", "Push", "Pull", "Roll", "Track", "Boom"]
_MOVE_MODS = ["In", "Out", "Up", "Down", "Left", "Right", "Fast", "Slow", "360", "Dramatic", "Dutch"]


def _made_up(prefix, known, count, words_a, words_b):
    names = {name for _, name in known}
    entries = list(known)
    for a in words_a:
        for b in words_b:
            if len(entries) >= count:
                return entries
            name = f"{a} {b}"
            if name not in names:
                entries.append((str(uuid.uuid5(NS, f"{prefix}:{name}")), name))
    return entries


STYLES = {"v1": _made_up("v1", KNOWN_STYLES_V1, 106, _MOODS, _SUBJECTS),
          "v2": _made_up("v2", KNOWN_STYLES_V2, 33, _SUBJECTS, _MOODS)}
MOTIONS = _made_up("motion", KNOWN_MOTIONS, 121, _MOVES, _MOVE_MODS)


@dataclass
class Reference:
    id: str
    account: str
    name: str
    model_version: str
    image_urls: list
    created: float
    outcome: str = "completed"
    fail_reason: str = ""
    thumbnail: bytes = b""
    deleted: bool = False
    refunded: bool = False
    extra: dict = field(default_factory=dict)

    def status(self, state, now):
        age = now - self.created
        if age < state.not_ready_seconds:
            return "not_ready"
        if age < state.not_ready_seconds + state.queue_seconds:
            return "queued"
        if age < state.not_ready_seconds + state.queue_seconds + state.train_seconds:
            return "in_progress"
        return self.outcome


@dataclass
class LibraryState:
    """Per-simulator settings and data; tests change the timings on `sim.library`."""

    not_ready_seconds: float = 1.0
    queue_seconds: float = 3.0
    train_seconds: float = 20.0
    fetch_timeout: float = 5.0
    references: dict = field(default_factory=dict)
    previews: dict = field(default_factory=dict)


def _iso(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fetch_image(url, timeout):
    """One photo from a public URL (the app's loopback upload URLs), or None."""
    if not url.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            data = response.read(MAX_PHOTO_BYTES + 1)
        if len(data) > MAX_PHOTO_BYTES:
            return None
        return Image.open(io.BytesIO(data)).convert("RGB")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def make_thumbnail(ref, timeout):
    """A square contact sheet of up to four photos; a generated picture if none loads."""
    photos = [image for image in (_fetch_image(url, timeout) for url in ref.image_urls[:4]) if image]
    if not photos:
        sheet = media.render_image(ref.name, ref.id, 384, 384)
    else:
        cells = 1 if len(photos) == 1 else 2
        size = 384 // cells
        sheet = Image.new("RGB", (384, 384), (30, 30, 30))
        for index in range(cells * cells):
            tile = ImageOps.fit(photos[index % len(photos)], (size, size))
            sheet.paste(tile, ((index % cells) * size, (index // cells) * size))
    return media.encode_image(sheet, "WEBP")


def preview_bytes(state, kind, item_id, name):
    key = (kind, item_id)
    if key not in state.previews:
        image = media.render_image(name, item_id, 240, 300)
        state.previews[key] = media.encode_image(image, "WEBP")
    return state.previews[key]


def register(sim):
    router = sim.router
    state = sim.library = LibraryState()

    def body_for(ref, request, listing=False):
        status = ref.status(state, sim.now())
        if status == "failed" and not ref.refunded:
            ref.refunded = True
            refund = getattr(sim, "refund", None)
            if callable(refund):
                refund(ref.account, TRAINING_CREDITS)
        body = {"id": ref.id, "name": ref.name, "model_version": ref.model_version, "status": status,
                "created_at": _iso(ref.created),
                "thumbnail_url": None if listing or status != "completed"
                else f"{sim.media_base(request.origin)}/_media/references/{ref.id}/thumbnail.webp"}
        if not listing:
            body["reference_media"] = [{"id": str(uuid.uuid5(NS, f"{ref.id}:{i}")), "media_url": url}
                                       for i, url in enumerate(ref.image_urls)]
            if status == "failed":
                body["fail_reason"] = ref.fail_reason
        return body

    def find(request, account):
        ref = state.references.get(request.params["ref_id"])
        if ref is None or ref.deleted or ref.account != account:
            return None
        return ref

    def training_count(account):
        now = sim.now()
        return sum(1 for ref in state.references.values()
                   if ref.account == account and not ref.deleted
                   and ref.status(state, now) in ("not_ready", "queued", "in_progress"))

    @router.route("POST", r"/v1/custom-references")
    def create(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        payload = request.json()
        errors = validate_create(payload)
        if errors:
            return detail(errors, 422)
        if training_count(account) >= MAX_TRAININGS:
            return detail(f"Maximum number of concurrent trainings ({MAX_TRAININGS}) has been reached", 400)
        charge = getattr(sim, "charge", None)
        if callable(charge) and charge(account, TRAINING_CREDITS) is False:
            return detail("Not enough credits", 403)
        wanted = request.headers.get("x-simulate-outcome", "")
        failing = wanted == "failed" or sim.config.fail_keyword in payload["name"].lower()
        ref = Reference(id=str(uuid.uuid4()), account=account, name=payload["name"],
                        model_version=payload.get("model_version") or "v1",
                        image_urls=[item["image_url"] for item in payload["input_images"]], created=sim.now(),
                        outcome="failed" if failing else "completed",
                        fail_reason="Could not detect a single consistent face in the photos (simulated)."
                        if failing else "")
        ref.thumbnail = make_thumbnail(ref, state.fetch_timeout)
        with sim.lock:
            state.references[ref.id] = ref
        return json_response(body_for(ref, request))

    @router.route("GET", r"/v1/custom-references/list")
    def listing(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        try:
            page = max(1, int(request.query.get("page", 1)))
            page_size = min(100, max(1, int(request.query.get("page_size", 20))))
        except ValueError:
            return detail([{"type": "int_parsing", "loc": ["query", "page"], "msg": "Input should be an integer"}],
                          422)
        refs = sorted((r for r in state.references.values() if r.account == account and not r.deleted),
                      key=lambda r: r.created, reverse=True)
        items = refs[(page - 1) * page_size: page * page_size]
        return json_response({"total": len(refs), "page": page, "page_size": page_size,
                              "total_pages": (len(refs) + page_size - 1) // page_size,
                              "items": [body_for(ref, request, listing=True) for ref in items]})

    @router.route("GET", r"/v1/custom-references/(?P<ref_id>[^/]+)")
    def get(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        ref = find(request, account)
        if ref is None:
            return detail("Custom reference not found", 404)
        return json_response(body_for(ref, request))

    @router.route("DELETE", r"/v1/custom-references/(?P<ref_id>[^/]+)")
    def delete(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        ref = find(request, account)
        if ref is None:
            return detail("Custom reference not found", 404)
        if ref.status(state, sim.now()) in ("not_ready", "queued", "in_progress"):
            return detail("Custom reference is still training and cannot be deleted", 400)
        ref.deleted = True
        return json_response({"id": ref.id, "deleted": True})

    @router.route("GET", r"/_media/references/(?P<ref_id>[^/]+)/thumbnail\.webp")
    def thumbnail(request):
        ref = state.references.get(request.params["ref_id"])
        if ref is None or ref.deleted or ref.status(state, sim.now()) != "completed":
            return detail("Not Found", 404)
        return Response(200, ref.thumbnail, "image/webp", {"Cache-Control": "private, max-age=600"})

    @router.route("GET", r"/v1/text2image/soul-styles(?P<v2>/v2)?")
    def styles(request):
        if sim.account_for(request) is None:
            return sim.unauthorized()
        version = "v2" if request.params.get("v2") else "v1"
        return json_response([{"id": sid, "name": name, "description": f"{name} look for Soul ({version}).",
                               "preview_url": f"{request.origin}/_media/previews/style/{sid}.webp"}
                              for sid, name in STYLES[version]])

    @router.route("GET", r"/v1/motions")
    def motions(request):
        if sim.account_for(request) is None:
            return sim.unauthorized()
        return json_response([{"id": mid, "name": name, "description": f"{name} camera motion.",
                               "preview_url": f"{request.origin}/_media/previews/motion/{mid}.webp",
                               "start_end_frame": index % 7 == 3}
                              for index, (mid, name) in enumerate(MOTIONS)])

    names = {("style", sid): name for version in STYLES.values() for sid, name in version}
    names.update({("motion", mid): name for mid, name in MOTIONS})

    @router.route("GET", r"/_media/previews/(?P<kind>style|motion)/(?P<item_id>[^/]+)\.webp")
    def preview(request):
        key = (request.params["kind"], request.params["item_id"])
        if key not in names:
            return detail("Not Found", 404)
        data = preview_bytes(state, *key, names[key])
        return Response(200, data, "image/webp", {"Cache-Control": "public, max-age=86400"})


def validate_create(payload):
    """FastAPI-style errors for CreateCustomReferenceSchema (PROTOCOL.md §3.4)."""
    if not isinstance(payload, dict):
        return [{"type": "model_attributes_type", "loc": ["body"], "msg": "Input should be an object"}]
    errors = []
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append({"type": "missing", "loc": ["body", "name"], "msg": "Field required"})
    elif len(name) > 100:
        errors.append({"type": "string_too_long", "loc": ["body", "name"],
                       "msg": "String should have at most 100 characters", "input": name})
    if payload.get("model_version", "v1") not in ("v1", "v2", "cinema"):
        errors.append({"type": "enum", "loc": ["body", "model_version"],
                       "msg": "Input should be 'v1', 'v2' or 'cinema'", "input": payload.get("model_version")})
    images = payload.get("input_images")
    if not isinstance(images, list) or not 1 <= len(images) <= 100:
        errors.append({"type": "too_short" if not images else "too_long", "loc": ["body", "input_images"],
                       "msg": "List should have between 1 and 100 items"})
    else:
        for index, item in enumerate(images):
            item = item if isinstance(item, dict) else {}
            url = item.get("image_url")
            if item.get("type") != "image_url":
                errors.append({"type": "literal_error", "loc": ["body", "input_images", index, "type"],
                               "msg": "Input should be 'image_url'"})
            if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2083:
                errors.append({"type": "url_parsing", "loc": ["body", "input_images", index, "image_url"],
                               "msg": "Input should be a valid URL"})
    return errors
