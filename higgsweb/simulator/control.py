"""The simulator's own control surface under /_sim/: state, config, fault switches, clock.
It listens on loopback only and needs no credentials."""

import html

from .server import Response, json_response


def snapshot(sim):
    with sim.lock:
        jobs = [{"request_id": job.request_id, "model_id": job.model_id, "surface": job.surface,
                 "status": job.status(sim), "account": job.account, "created": job.created}
                for job in list(sim.jobs.values())[-200:]]
    config = sim.config
    return {"jobs": jobs, "faults": dict(config.faults), "queue_seconds": config.queue_seconds,
            "run_seconds": config.run_seconds, "clock_offset": sim.offset,
            "deliveries": [list(item) for item in sim.delivery_log[-50:]]}


def register(sim):
    router = sim.router

    @router.route("GET", r"/_sim/state")
    def state(request):
        return json_response(snapshot(sim))

    @router.route("POST", r"/_sim/config")
    def configure(request):
        changes = request.json() or {}
        with sim.lock:
            for name, value in changes.items():
                if name in sim.config.faults:
                    sim.config.faults[name] = value
                elif name in ("queue_seconds", "run_seconds", "retention_seconds", "webhook_backoff",
                              "webhook_attempts"):
                    setattr(sim.config, name, type(getattr(sim.config, name))(value))
                else:
                    return json_response({"detail": f"unknown setting {name}"}, 400)
        return json_response(snapshot(sim))

    @router.route("POST", r"/_sim/clock")
    def clock(request):
        sim.advance_clock(float((request.json() or {}).get("advance", 0)))
        return json_response({"clock_offset": sim.offset})

    @router.route("GET", r"/_sim/?")
    def page(request):
        data = snapshot(sim)
        rows = "".join(f"<tr><td>{html.escape(j['request_id'])}</td><td>{html.escape(j['model_id'])}</td>"
                       f"<td>{j['surface']}</td><td>{j['status']}</td></tr>" for j in reversed(data["jobs"]))
        faults = "".join(f"<li>{html.escape(k)} = {html.escape(str(v))}</li>" for k, v in data["faults"].items())
        body = (f"<!doctype html><title>Higgsfield simulator</title><h1>Higgsfield simulator</h1>"
                f"<p>Queue {data['queue_seconds']} s, run {data['run_seconds']} s, clock offset "
                f"{data['clock_offset']} s. Change settings with POST /_sim/config (JSON).</p>"
                f"<h2>Fault switches</h2><ul>{faults}</ul><h2>Jobs</h2><table border=1 cellpadding=4>"
                f"<tr><th>request</th><th>model</th><th>surface</th><th>status</th></tr>{rows}</table>")
        return Response(200, body.encode(), "text/html; charset=utf-8")
