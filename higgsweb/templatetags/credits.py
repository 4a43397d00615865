from decimal import Decimal

from django import template
from django.db.models import Count

from higgsweb import compiled

register = template.Library()


@register.filter
def credits(value):
    """Credits with the three decimals the provider uses; a dash for nothing."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.3f}"


@register.filter
def short_credits(value):
    """Credits without trailing zeros, for axes and compact figures: "2.5", "1,000"."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.3f}".rstrip("0").rstrip(".")


@register.simple_tag(takes_context=True)
def unread_notifications(context):
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    found = compiled.rows(("unread", user.pk), lambda: user.notifications.filter(read_at__isnull=True).order_by()
                          .values("user").annotate(unread=Count("pk")).values_list("unread"))
    return found[0][0] if found else 0
