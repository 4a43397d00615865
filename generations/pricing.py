"""Credit estimates before submit (1 credit = $0.0625). The rule per model lives in the
catalogue (list prices from PROTOCOL.md §3.8); the provider's `/estimate` is authoritative
when it answers."""

from decimal import ROUND_HALF_UP, Decimal

from generations import catalogue

USD_PER_CREDIT = Decimal("0.0625")
DEFAULT_CREDITS = Decimal("2")


def estimate_credits(model_id, params):
    """Credits the provider will charge for this job, from the catalogue's list prices."""
    model = catalogue.get(model_id)
    if model is None:
        return DEFAULT_CREDITS
    return model.estimate(params or {})


def credits_to_usd(credits):
    return (Decimal(credits) * USD_PER_CREDIT).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
