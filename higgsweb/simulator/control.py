"""The simulator's own control surface under /_sim/: jobs, balances, settings, fault
switches and the clock. It listens on loopback only and needs no credentials.

    GET  /_sim/          HTML page with forms for everything below
    GET  /_sim/state     JSON snapshot
    POST /_sim/config    JSON or form: any fault switch or SETTINGS name → value
    POST /_sim/balance   JSON or form: {"account": key id, "credits": "12.5"}
    POST /_sim/clock     JSON or form: {"advance": seconds}

Form posts answer with a redirect back to the page; JSON posts with the new state.
"""

import html
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qs

from .server import Response, json_response

# Settings the page and /_sim/config may change, with how to read a submitted value.
SETTINGS = {
    "queue_seconds": float, "run_seconds": float, "retention_seconds": float, "webhook_backoff": float,
    "webhook_attempts": int, "concurrency_limit": int, "queue_multiple": int, "upload_ttl_seconds": float,
    "concurrency_mode": lambda value: value if value in ("reject", "queue") else "reject",
    "blocked_models": lambda value: _model_set(value), "disabled_models": lambda value: _model_set(value),
    "starting_credits": lambda value: Decimal(str(value)),
    "allow_loopback_webhooks": lambda value: _flag(value), "webhook_unsigned": lambda value: _flag(value),
    "media_origin": lambda value: str(value or "").strip().rstrip("/"),
    "result_types": lambda value: value if value in ("kind", "mime", "opaque") else "kind",
}


CHOICES = {"concurrency_mode": ("reject", "queue"), "result_types": ("kind", "mime", "opaque")}


def _flag(value):
    return value in (True, "on", "true", "True", "1", 1)


def _model_set(value):
    if isinstance(value, str):
        value = value.replace(",", "\n").splitlines()
    return {item.strip() for item in value if item.strip()}


def snapshot(sim):
    config = sim.config
    with sim.lock:
        jobs = [{"request_id": job.request_id, "model_id": job.model_id, "surface": job.surface,
                 "status": job.status(sim), "account": job.account, "created": job.created,
                 "charged": str(job.extra.get("charged", "")), "refunded": bool(job.extra.get("refunded")),
                 "deleted": job.deleted}
                for job in list(sim.jobs.values())[-200:]]
        accounts = sorted(set(config.keys) | set(sim.balances))
    settings = {}
    for name in SETTINGS:
        value = getattr(config, name)
        settings[name] = sorted(value) if isinstance(value, set) else str(value) if isinstance(value, Decimal) \
            else value
    return {"jobs": jobs, "faults": dict(config.faults), "settings": settings, **settings,
            "balances": {account: str(sim.balance(account)) for account in accounts},
            "clock_offset": sim.offset,
            "deliveries": [list(item) for item in sim.delivery_log[-50:]]}


def _changes(request):
    """(dict of submitted values, came from an HTML form)."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        form = {k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        return form, True
    return request.json() or {}, False


def _answer(sim, from_form):
    if from_form:
        return Response(303, b"", "text/plain", {"Location": "/_sim/"})
    return json_response(snapshot(sim))


def apply_config(sim, changes, from_form=False):
    """Set fault switches and settings; returns an error message or None."""
    faults = sim.config.faults
    form = changes.pop("form", "") if from_form else ""
    # Unticked checkboxes are simply absent from a form post.
    if form == "faults":
        changes = changes | {name: name in changes for name, value in faults.items() if isinstance(value, bool)}
    elif form == "settings":
        changes = changes | {name: name in changes for name in SETTINGS if isinstance(getattr(sim.config, name), bool)}
    with sim.lock:
        for name, value in changes.items():
            if name in faults:
                current = faults[name]
                if isinstance(current, bool):
                    faults[name] = value in (True, "on", "true", "1", 1)
                else:
                    faults[name] = type(current)(value or 0)
            elif name in SETTINGS:
                setattr(sim.config, name, SETTINGS[name](value))
            else:
                return f"unknown setting {name}"
    return None


def register(sim):
    router = sim.router

    @router.route("GET", r"/_sim/state")
    def state(request):
        return json_response(snapshot(sim))

    @router.route("POST", r"/_sim/config")
    def configure(request):
        changes, from_form = _changes(request)
        try:
            error = apply_config(sim, changes, from_form)
        except (TypeError, ValueError, InvalidOperation) as exc:
            error = f"bad value: {exc}"
        if error:
            return json_response({"detail": error}, 400)
        return _answer(sim, from_form)

    @router.route("GET", r"/_sim/balance")
    def read_balance(request):
        account = request.query.get("account") or sim.account_for(request)
        if not account:
            return json_response({"detail": "account is required"}, 400)
        return json_response({"account": account, "credits": str(sim.balance(account))})

    @router.route("POST", r"/_sim/balance")
    def balance(request):
        changes, from_form = _changes(request)
        account = str(changes.get("account", "")).strip()
        try:
            credits = Decimal(str(changes.get("credits", "")))
        except InvalidOperation:
            return json_response({"detail": "credits must be a number"}, 400)
        if not account:
            return json_response({"detail": "account is required"}, 400)
        sim.set_balance(account, credits)
        return _answer(sim, from_form)

    @router.route("POST", r"/_sim/clock")
    def clock(request):
        changes, from_form = _changes(request)
        try:
            sim.advance_clock(float(changes.get("advance") or 0))
        except ValueError:
            return json_response({"detail": "advance must be a number of seconds"}, 400)
        if from_form:
            return _answer(sim, True)
        return json_response({"clock_offset": sim.offset})

    @router.route("GET", r"/_sim/?")
    def page(request):
        return Response(200, render_page(snapshot(sim)).encode(), "text/html; charset=utf-8")


def _input(name, value):
    escaped = html.escape(str(name))
    if isinstance(value, bool):
        checked = " checked" if value else ""
        return f'<label><input type="checkbox" name="{escaped}"{checked}> {escaped}</label>'
    if isinstance(value, list):
        return (f'<label>{escaped}<br><textarea name="{escaped}" rows="2" cols="40">'
                f'{html.escape(chr(10).join(value))}</textarea></label>')
    if name in CHOICES:
        options = "".join(f'<option{" selected" if value == mode else ""}>{mode}</option>'
                          for mode in CHOICES[name])
        return f'<label>{escaped} <select name="{escaped}">{options}</select></label>'
    return f'<label>{escaped} <input name="{escaped}" value="{html.escape(str(value))}" size="8"></label>'


def render_page(data):
    esc = html.escape
    faults = "".join(f"<li>{_input(name, value)}</li>" for name, value in data["faults"].items())
    settings = "".join(f"<li>{_input(name, value)}</li>" for name, value in data["settings"].items())
    balances = "".join(f"<tr><td>{esc(account)}</td><td>{esc(credits)}</td></tr>"
                       for account, credits in data["balances"].items())
    jobs = "".join(
        f"<tr><td><code>{esc(j['request_id'])}</code></td><td>{esc(j['model_id'])}</td><td>{esc(j['surface'])}</td>"
        f"<td>{esc(j['account'])}</td><td>{esc(j['status'])}{' (deleted)' if j['deleted'] else ''}</td>"
        f"<td>{esc(j['charged'])}{' refunded' if j['refunded'] else ''}</td></tr>" for j in reversed(data["jobs"]))
    deliveries = "".join(f"<tr><td>{esc(str(url))}</td><td>{esc(str(status))}</td><td>{attempt}</td></tr>"
                         for url, status, attempt in reversed(data["deliveries"]))
    return f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>Higgsfield simulator</title>
<style>body{{font:14px system-ui,sans-serif;margin:1.5rem;max-width:72rem}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}} ul{{list-style:none;padding:0}}
li{{margin:.2rem 0}} section{{margin-bottom:1.5rem}}
form{{display:inline-block;vertical-align:top;margin-right:2rem}}</style>
<h1>Higgsfield simulator</h1>
<p>Clock offset {esc(str(data["clock_offset"]))} s. Everything here is also JSON: <code>GET /_sim/state</code>,
<code>POST /_sim/config</code>, <code>/_sim/balance</code>, <code>/_sim/clock</code>.</p>
<section>
<form method="post" action="/_sim/config"><h2>Fault switches</h2><input type="hidden" name="form" value="faults">
<ul>{faults}</ul><button>Save faults</button></form>
<form method="post" action="/_sim/config"><h2>Settings</h2>
<input type="hidden" name="form" value="settings"><ul>{settings}</ul><button>Save settings</button></form>
<form method="post" action="/_sim/clock"><h2>Clock</h2>
<label>Advance by <input name="advance" value="60" size="6"> s</label> <button>Advance</button></form>
</section>
<section><h2>Balances (credits)</h2><table><tr><th>account</th><th>credits</th></tr>{balances}</table>
<form method="post" action="/_sim/balance"><label>Account <input name="account"></label>
<label>Credits <input name="credits" size="8"></label> <button>Set balance</button></form></section>
<section><h2>Jobs</h2><table><tr><th>request</th><th>model</th><th>surface</th><th>account</th><th>status</th>
<th>charged</th></tr>{jobs}</table></section>
<section><h2>Webhook deliveries</h2><table><tr><th>url</th><th>answer</th><th>attempt</th></tr>{deliveries}</table>
</section></html>"""
