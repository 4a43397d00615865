"""`manage.py worker` stops on SIGTERM or Ctrl-C within Q_TIMEOUT and a few seconds, busy or
idle, whether the signal reaches only its main process (systemd's KillMode=mixed) or its whole
process group (honcho, `make run`'s Ctrl-C, KillMode=control-group), and leaves no process of
its cluster behind. The step it had in hand is finished by the next worker.

A real cluster on a throwaway database, as in test_worker_crash."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import test_worker_crash as crash
from tests.test_worker_crash import ROOT, generation_row, wait_for

world = crash.world  # the fixture: a simulator, a throwaway database with one job, the worker's environment

pytestmark = pytest.mark.slow
Q_TIMEOUT = 8  # as the world's environment sets it
GRACE = 6  # what "a few seconds" may be on a loaded two-core machine


def start(world, tmp_path, name):
    log = tmp_path / f"{name}.log"
    proc = subprocess.Popen([*world["manage"], "worker"], env=world["env"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    world["workers"].append(proc)
    assert wait_for(lambda: "running." in log.read_text(), 60), f"the cluster never ran: {log.read_text()[-2000:]}"
    time.sleep(1.5)  # into the sentinel's guard loop, where a stop used to hang
    return proc, log


def group_members(pgid):
    """Live processes of a process group (zombies are already gone in all but name)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def stop_and_time(proc, sig, whole_group):
    started = time.monotonic()
    if whole_group:
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    try:
        proc.wait(timeout=Q_TIMEOUT + GRACE + 30)
    except subprocess.TimeoutExpired:
        pass
    return time.monotonic() - started


def assert_stopped(proc, took, log, bound):
    assert proc.returncode is not None, f"still running after {took:.0f} s: {log.read_text()[-1500:]}"
    assert took <= bound, f"took {took:.1f} s (bound {bound} s): {log.read_text()[-1500:]}"
    assert wait_for(lambda: not group_members(proc.pid), 5), f"left behind: {group_members(proc.pid)}"


def test_an_idle_worker_stops_at_once_on_sigterm_to_its_group_every_time(world, tmp_path):
    for trial in range(3):
        proc, log = start(world, tmp_path, f"idle-{trial}")
        if trial == 0:  # its one job done, the worker is idle
            assert wait_for(lambda: generation_row(world)[1] in (True, 1), 90), f"stuck at {generation_row(world)}"
        took = stop_and_time(proc, signal.SIGTERM, whole_group=True)
        assert_stopped(proc, took, log, GRACE)


def test_ctrl_c_stops_an_idle_worker(world, tmp_path):
    proc, log = start(world, tmp_path, "ctrl-c")
    took = stop_and_time(proc, signal.SIGINT, whole_group=True)  # what a terminal sends on Ctrl-C
    assert_stopped(proc, took, log, GRACE)


@pytest.mark.parametrize("whole_group", [True, False], ids=["sigterm-to-the-group", "sigterm-to-the-main-process"])
def test_a_busy_worker_stops_in_time_and_the_next_one_finishes_its_step(world, tmp_path, whole_group):
    sim = world["sim"]
    sim.config.faults["media_delay_seconds"] = 60  # the archive step's download hangs
    proc, log = start(world, tmp_path, "busy")
    assert wait_for(lambda: sim.media_requests > 0, 60), "the worker never started downloading"
    took = stop_and_time(proc, signal.SIGTERM, whole_group)
    assert_stopped(proc, took, log, Q_TIMEOUT + GRACE)
    assert generation_row(world)[:2] in (("completed", False), ("completed", 0))

    sim.config.faults["media_delay_seconds"] = 0
    start(world, tmp_path, "next")
    assert wait_for(lambda: generation_row(world)[1] in (True, 1), 90), f"stuck at {generation_row(world)}"
    saved = world["db"].one("SELECT COUNT(*) FROM generations_output WHERE archived_at IS NOT NULL")
    assert saved == (4,)
