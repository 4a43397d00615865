"""What a sweep cell's card says. The cells of one seed sweep or style grid share their prompt,
so the same caption on every card tells them apart by nothing; each card says instead the value
that differs between the cells of its sweep: seed 42, style “Film noir”, or both."""

from characters.models import Style
from generations.models import Generation


def caption(generations, user):
    """Set `sweep_caption` on each sweep cell among `generations` (one query for the cells'
    seeds and styles, one for the styles' names; none when no card is a sweep cell)."""
    cells = [generation for generation in generations if generation.sweep]
    if not cells:
        return
    values = {}
    rows = (Generation.objects.for_user(user).filter(sweep__in={g.sweep for g in cells})
            .values_list("sweep", "params__seed", "params__style_id"))
    for sweep, seed, style in rows:
        seeds, styles = values.setdefault(sweep, (set(), set()))
        seeds.add(seed)
        styles.add(style or "")
    used = {g.params.get("style_id") for g in cells if len(values.get(g.sweep, ((), ()))[1]) > 1}
    names = dict(Style.objects.filter(provider_id__in=used - {None, ""}).values_list("provider_id", "name"))
    for generation in cells:
        seeds, styles = values.get(generation.sweep, (set(), set()))
        parts = []
        if len(seeds) > 1 or len(styles) <= 1:
            parts.append(f"seed {generation.seed}" if generation.seed is not None else "random seed")
        if len(styles) > 1:
            style = generation.params.get("style_id") or ""
            parts.append(f"style “{names.get(style, style)}”" if style else "no style")
        generation.sweep_caption = " · ".join(parts)
