from django import template

register = template.Library()


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
def usd(value):
    return f"${value:.3f}".rstrip("0").rstrip(".") if value < 1 else f"${value:.2f}"
