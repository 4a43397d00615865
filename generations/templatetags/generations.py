import uuid
from functools import cache

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.timesince import timesince

register = template.Library()

# Stand-ins for the one argument of a route, by type: reversed once with one, the URL's two ends
# are kept and any other value goes between them, as the route's converter would write it.
STAND_INS = {int: 9182736455463728, uuid.UUID: uuid.UUID("91827364-5546-4372-8191-827364554637")}


@cache
def _ends(name, kind, script_prefix):
    if kind is None:
        return reverse(name), ""
    stand_in = str(STAND_INS[kind])
    before, found, after = reverse(name, args=[STAND_INS[kind]]).partition(stand_in)
    return (before, after) if found else None


@register.simple_tag
def route(name, arg=None):
    """`{% url name %}` or `{% url name arg %}` for routes each card uses (up to ten a card, 48
    cards a page): the same URL, without matching the route's pattern again for every card."""
    kind = None if arg is None else type(arg)
    ends = _ends(name, kind, get_script_prefix()) if kind is None or kind in STAND_INS else None
    if ends is None:
        return reverse(name, args=[arg])
    return ends[0] if arg is None else ends[0] + str(arg) + ends[1]


@register.filter
def duration(value):
    """A timedelta as "42 s", "3 min 05 s" or "2 h 10 min"."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@register.filter
def model_label(model_id):
    """`higgsfield-ai/soul/standard` → `soul/standard`."""
    return model_id.removeprefix("higgsfield-ai/")


@register.filter
def credits(value):
    """Decimal credits as "1.5 credits"."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{text} credit" + ("" if text == "1" else "s")


@register.filter
def amount(value):
    """A number of credits (or characters) without its unit: "2,500", "1.5"."""
    return f"{value:,.3f}".rstrip("0").rstrip(".")


@register.filter
def usd(value):
    return f"${value:.3f}".rstrip("0").rstrip(".") if value < 1 else f"${value:.2f}"


@register.filter
def price_source(quote):
    """Where a cost figure comes from: "list price", or "provider estimate, 5 minutes ago"."""
    if quote is None or getattr(quote, "source", "list") != "provider" or not quote.fetched_at:
        return "list price"
    return f"provider estimate, {timesince(quote.fetched_at)} ago"


@register.simple_tag(takes_context=True)
def gallery_cover(context, entries):
    """The cover of a shared gallery: the first image among its items, as this viewer's own
    thumbnail URL, with the absolute form link previews need; None without an image."""
    for entry in entries:
        for shown in entry["outputs"]:
            if shown["output"].kind == "image":
                return {"url": shown["thumb"], "absolute": context["request"].build_absolute_uri(shown["thumb"]),
                        "width": shown["output"].width, "height": shown["output"].height}
    return None
