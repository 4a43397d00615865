"""Credit estimates before submit (1 credit = $0.0625). List prices from PROTOCOL.md §3.8;
the provider's `/estimate` is authoritative when it answers."""

from decimal import ROUND_HALF_UP, Decimal

USD_PER_CREDIT = Decimal("0.0625")

# model id → credits per unit (an image of a batch, or one clip).
PER_IMAGE = {
    "higgsfield-ai/soul/standard": {"720p": Decimal("1.5"), "1080p": Decimal("3")},
}
DEFAULT_CREDITS = Decimal("2")


def estimate_credits(model_id, params):
    """Credits the provider will charge for this job, from the list prices."""
    table = PER_IMAGE.get(model_id)
    if table is None:
        return DEFAULT_CREDITS
    unit = table.get(params.get("resolution"), max(table.values()))
    count = int(params.get("batch_size") or params.get("num_images") or 1)
    return (unit * count).quantize(Decimal("0.001"))


def credits_to_usd(credits):
    return (Decimal(credits) * USD_PER_CREDIT).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
