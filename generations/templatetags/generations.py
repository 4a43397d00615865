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
