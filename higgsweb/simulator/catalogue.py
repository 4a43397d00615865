"""What each model path is (image or video, which operation), what it costs, and
what it outputs — derived from the two data files so every path they define is known.
What a request costs comes from the one price table (generations/prices.json, the list
figures of PROTOCOL.md §3.8), which the app's estimates read as well."""

from generations import prices

from . import schemas

VIDEO_HINTS = ("video", "dop/", "veo3", "speak", "hailuo", "sora", "seedance", "wan-", "kling")
EDIT_HINTS = ("edit", "remix", "reference", "image-to-image")

# Soul quality × aspect → size (PROTOCOL.md §3.7).
SOUL_SIZES = {
    "720p": {"1:1": (1152, 1152), "3:4": (1152, 1536), "4:3": (1536, 1152), "2:3": (1024, 1536),
             "3:2": (1536, 1024), "9:16": (864, 1536), "16:9": (1536, 864)},
    "1080p": {"1:1": (1536, 1536), "3:4": (1536, 2048), "4:3": (2048, 1536), "2:3": (1365, 2048),
              "3:2": (2048, 1365), "9:16": (1152, 2048), "16:9": (2048, 1152)},
}
# Long side for resolutions that are not in the Soul table ("2K", "1k", …); capped so
# the simulator never renders 4K placeholders.
LONG_SIDE = {"1k": 1024, "2k": 2048, "2K": 2048, "4K": 2048, "1600p": 1600}
VIDEO_LONG_SIDE = 640  # videos are small on purpose: they are rendered on demand

def output_type(model_id):
    return "video" if any(hint in model_id for hint in VIDEO_HINTS) else "image"


def operation_type(model_id):
    if output_type(model_id) == "video":
        if "video-edit" in model_id or "video-extend" in model_id or "video-reference" in model_id:
            return "video2video"
        if "text-to-video" in model_id or model_id in ("veo3.1", "veo3.1/fast"):
            return "text2video"
        return "image2video"
    if "text-to-image" in model_id:
        return "text2image"
    return "image_edit" if any(hint in model_id for hint in EDIT_HINTS) else "text2image"


def title(model_id):
    words = model_id.replace("higgsfield-ai/", "").replace("-", " ").replace("/", " · ")
    return words[:1].upper() + words[1:]


def models():
    """The `GET /models` listing: every model path of the data files."""
    listing = []
    for slug, schema in sorted(schemas.model_schemas().items()):
        description = schema.get("description") or schema.get("title") or schema.get("source") or ""
        listing.append({"slug": slug, "title": title(slug), "description": str(description)[:200],
                        "output_type": output_type(slug), "operation_type": operation_type(slug)})
    return listing


def count(payload):
    return int(payload.get("batch_size") or payload.get("num_images") or 1)


def seconds(payload):
    try:
        return max(1, int(payload.get("duration") or 5))
    except (TypeError, ValueError):
        return 5


def with_defaults(model_id, payload):
    """The body as the model sees it: schema defaults for every field left out."""
    properties = schemas.model_schemas().get(model_id, {}).get("properties", {})
    defaults = {name: spec["default"] for name, spec in properties.items()
                if isinstance(spec, dict) and spec.get("default") is not None}
    return defaults | payload


def estimate(model_id, payload):
    """Credits this request costs: the one price table the app's estimates read too."""
    return prices.list_price(model_id, with_defaults(model_id, payload), output_type(model_id))


def usd(credits):
    return prices.credits_to_usd(credits)


def _aspect_size(aspect, long_side):
    try:
        w, h = (float(v) for v in str(aspect).split(":"))
    except ValueError:
        return long_side, long_side * 3 // 4
    if w >= h:
        return long_side, int(long_side * h / w)
    return int(long_side * w / h), long_side


def image_size(payload):
    if "width_and_height" in payload:
        width, height = (int(v) for v in str(payload["width_and_height"]).split("x"))
        return width, height
    resolution = payload.get("resolution")
    aspect = payload.get("aspect_ratio") or "4:3"
    table = SOUL_SIZES.get(resolution) or SOUL_SIZES["1080p"]
    if aspect in table and resolution not in LONG_SIDE:
        return table[aspect]
    return _aspect_size(aspect if aspect != "auto" else "4:3", LONG_SIDE.get(resolution, 1024))


def image_format(model_id, payload):
    """png, or jpeg when the model asks for it (nano-banana defaults to jpeg)."""
    wanted = payload.get("output_format")
    if wanted is None and model_id == "nano-banana":
        wanted = "jpeg"
    return "jpeg" if wanted in ("jpeg", "jpg") else "png"


def output_plan(model_id, payload):
    """[(kind, width, height, index)] for what this model produces."""
    payload = with_defaults(model_id, payload)
    if output_type(model_id) == "video":
        width, height = _aspect_size(payload.get("aspect_ratio") or "16:9", VIDEO_LONG_SIDE)
        return [("video", width // 2 * 2, height // 2 * 2, 0)]
    width, height = image_size(payload)
    return [("image", width, height, index) for index in range(count(payload))]
