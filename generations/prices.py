"""The list-price table, `prices.json`: list prices of PROTOCOL.md §3.8, each entry citing its
row. The studio's estimate (generations/pricing.py) and the simulator's charge both read it, so
the two never disagree. No Django here: the simulator imports it too."""

import json
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

TABLE = Path(__file__).with_name("prices.json")
USD_PER_CREDIT = Decimal("0.0625")


@cache
def table():
    return json.loads(TABLE.read_text())


def rule_for(model_id, output="image"):
    """The price rule of a model (its table entry, or the default for its kind of output)."""
    data = table()
    return data["models"].get(model_id) or data["default"]["video" if output == "video" else "image"]


def _number(value, default=1):
    try:
        return max(Decimal(str(value)), Decimal(0)) if value not in (None, "") else Decimal(default)
    except ArithmeticError:
        return Decimal(default)


def list_price(model_id, params, output="image"):
    """Credits for this job by the price table. `params` are the job's parameters with the
    model's defaults filled in (the rule's own `defaults` fill what is still missing)."""
    rule = rule_for(model_id, output)
    params = {**rule.get("defaults", {}), **{k: v for k, v in (params or {}).items() if v not in (None, "")}}
    if "table" in rule:
        key = ":".join(str(params.get(name, "")) for name in rule["by"])
        figures = rule["table"]
        # A value the table does not know is priced at its dearest figure: never an underestimate.
        unit = Decimal(figures.get(key) or max(figures.values(), key=Decimal))
    else:
        unit = Decimal(rule["credits"])
    per = rule["per"]
    if per == "output":
        unit *= int(_number(params.get("batch_size") or params.get("num_images")))
    elif per == "second":
        unit *= _number(params.get("duration"), 5)
    return unit.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def is_list_price(model_id, output="image"):
    return rule_for(model_id, output).get("list_price", True) is not False


def credits_to_usd(credits):
    return (Decimal(credits) * USD_PER_CREDIT).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
