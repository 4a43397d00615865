"""Picker tags: `{% style_picker %}`, `{% motion_picker %}`, `{% character_picker %}` render
the named partials in characters/pickers.html with their options already loaded."""

from django import template

from characters.models import Character, Motion, Style

register = template.Library()
LIMIT = 60


@register.inclusion_tag("characters/pickers.html#style-picker")
def style_picker(version="v1", selected=""):
    styles = Style.objects.filter(active=True, version=version)[:LIMIT]
    return {"styles": styles, "version": version, "selected": selected or ""}


@register.inclusion_tag("characters/pickers.html#motion-picker")
def motion_picker(selected=""):
    return {"motions": Motion.objects.filter(active=True)[:LIMIT], "selected": selected or ""}


@register.inclusion_tag("characters/pickers.html#character-picker", takes_context=True)
def character_picker(context, model_id, selected=""):
    user = context["request"].user
    characters = Character.objects.for_user(user).for_model(model_id)[:LIMIT]
    return {"characters": characters, "model": model_id, "selected": selected or "", "request": context["request"]}
