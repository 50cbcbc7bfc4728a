"""`sfcrime aggregate --scale-out` over the real data, three processes of one group killed with
SIGKILL and restarted again and again (docs/exactly-once.md "Scale-out", issue 4 item 3): the
committed output equals the batch answer of tests/oracle.py and holds no (window, type) row twice.

test_scale_out_kill9_real_data (SFCRIME_SOAK=1 only; needs ../shared/data and the shared broker,
$SFCRIME_TEST_BOOTSTRAP (the broker scripts/test brought up), of which it only creates and deletes its own topics and group):
  1. The real extract (199,999 records) produced with `--order event-time` into 6 partitions.
  2. Three processes `aggregate --group G --scale-out --from-beginning -e --max-records-per-trigger
     2000 --trigger 1s --output-topic O -o json --radio-codes ... -X session.timeout.ms=6000`, with
     the default 1h watermark: watermarks travel with the data (docs/exactly-once.md), so input
     partitions each in event-time order give no late record whatever order the repartition
     partitions receive them in, whoever dies, and the answer is the batch answer over every
     record. The trigger paces the run (some
     35 s without kills, 2,000 records a second per process) so that the kills land while all
     three stages work; unpaced, the three finished in some 7 s and a kill plan of seconds hit
     one lone restarted process after the others had ended.
  3. A seeded plan of kills (the seed is printed; SFCRIME_SOAK_SEED=S replays the plan, not the
     timing): RANDOM_KILLS kills of a random live process a random 1-8 s after the previous
     (re)start, wherever the run is then (regrouping, aggregating, waiting for a dead member's
     session to expire, restoring, its final batches); STARTUP_KILLS kills of the process started
     last, a random 0.2-3 s after its start (during its join, restore or first batches). Each
     killed process is started again with the same arguments after a random 0-2 s. Every kill
     and restart makes the group rebalance (some 6 s with the dead member's session), so the
     kills land before the end; should every process have exited before a planned kill, the plan
     stops there, and at least MIN_KILLS must have happened. The processes then run to the end,
     and every one not killed exits 0.
  4. O read back by kcat with isolation.level=read_committed: no message key twice, every row
     final, the rows equal tests/oracle.py's answer; every row any process printed on stdout is
     among them; the group's committed input offsets are the partitions' ends; no process
     reported a late record.
The figures (seed, each kill: which process, when, at what input position; restarts; rows
committed and written; seconds) are printed and shown in the terminal summary. CI has no variant
here: tests/integration/test_scale_out.py kills one of three processes over synthetic data.

    SFCRIME_SOAK=1 python3 -m pytest -q -p no:cacheprovider tests/soak/test_scale_out_kill.py
"""
import collections
import os
import random
import time

import pytest
from conftest import RADIO_CODES, REAL_FILE, ROOT, load_module

eo = load_module("sfcrime_exactly_once_helpers",
                 ROOT / "tests" / "integration" / "exactly_once_helpers.py")
sx = load_module("sfcrime_scale_out_helpers",
                 ROOT / "tests" / "integration" / "scale_out_helpers.py")
h = eo.h
sc = eo.sc

SOAK = os.environ.get("SFCRIME_SOAK") == "1"
REAL_RECORDS = 199_999
PARTITIONS = 6
PROCESSES = 3
PER_TRIGGER = 2000
RANDOM_KILLS = 6
STARTUP_KILLS = 2
MIN_KILLS = 5

pytestmark = pytest.mark.soak


def _plan(rng):
    """The kills in order: ("random", seconds after the latest start: a random live process) or
    ("startup", seconds after the latest start: that process)."""
    plan = [("random", rng.uniform(1.0, 8.0)) for _ in range(RANDOM_KILLS)]
    for _ in range(STARTUP_KILLS):
        plan.insert(rng.randrange(1, len(plan) + 1), ("startup", rng.uniform(0.2, 3.0)))
    return plan


@pytest.mark.broker
@pytest.mark.realdata
@pytest.mark.skipif(not SOAK, reason="the long run: set SFCRIME_SOAK=1")
def test_scale_out_kill9_real_data(request, tmp_path, sfcrime_bin, broker, kcat):
    """Three scale-out processes over the real data, up to 8 kill -9 (seeded) of random processes
    at random moments, each followed by a restart: the committed output equals tests/oracle.py's
    answer, with no (window, type) row twice."""
    sc.show_figures(request.config)
    seed = int(os.environ.get("SFCRIME_SOAK_SEED") or random.SystemRandom().randrange(1, 10 ** 6))
    rng = random.Random(seed)
    records = h.oracle.load_records(REAL_FILE)
    n = len(records)
    assert n == REAL_RECORDS
    expected = h.oracle.aggregate(records, 1800, h.oracle.load_radio_codes(RADIO_CODES))
    plan = _plan(rng)
    sc.figure("scale-out soak: seed %d (SFCRIME_SOAK_SEED=%d replays the plan): %s" % (
        seed, seed, ", ".join("%s %.1f s" % kv for kv in plan)))
    group = eo.new_group("soak-scale")
    runs = []
    try:
        with h.fresh_topic(sfcrime_bin, broker, PARTITIONS, "soak-scale", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "soak-scale-out", kcat) as out:
            ends = eo.produce_real_data(sfcrime_bin, broker, kcat, topic, n, "scale-out soak")

            args = sx.so_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                              "--output-topic", out, "-o", "json",
                              "--progress", "json", "--max-records-per-trigger", PER_TRIGGER,
                              "--trigger", "1s", "--radio-codes", RADIO_CODES)
            generation = collections.Counter()

            def start(slot):
                generation[slot] += 1
                run = eo.Run(sfcrime_bin, broker, args, tmp_path,
                             "p%d-%d" % (slot, generation[slot]))
                run.slot = slot
                runs.append(run)
                return run

            t0 = time.monotonic()
            current = {slot: start(slot) for slot in range(PROCESSES)}
            latest = current[PROCESSES - 1]
            kills = []
            for kind, value in plan:
                while latest.seconds() < value and any(r.alive() for r in current.values()):
                    time.sleep(0.02)
                alive = sorted((r for r in current.values() if r.alive()), key=lambda r: r.slot)
                if not alive:
                    break  # the run is over
                victim = latest if kind == "startup" else rng.choice(alive)
                if not victim.alive():
                    continue  # the newest process already finished its part
                pos, secs = sx.regrouped(runs), time.monotonic() - t0
                assert victim.kill9(), "%s ended (exit %s) before its kill:\n%s" % (
                    victim.name, victim.proc.returncode, victim.diagnostics())
                kills.append((victim.name, kind, secs, victim.seconds(), pos))
                time.sleep(rng.uniform(0, 2.0))
                latest = current[victim.slot] = start(victim.slot)

            codes = {r.name: r.wait(900) for r in current.values()}
            total_s = time.monotonic() - t0
            for name, kind, secs, lived, pos in kills:
                sc.figure("scale-out soak: %s (%s) killed %.1f s into the run, %.1f s after its "
                          "start, at input position %d of %d" % (name, kind, secs, lived, pos, n))
            for r in current.values():
                sc.figure("scale-out soak: " + sx.describe(r))
            for name, rc in codes.items():
                run = next(r for r in runs if r.name == name)
                assert rc == 0, "%s exit %d:\n%s" % (name, rc, run.diagnostics())
            assert len(kills) >= MIN_KILLS, (
                "the run ended after %d of the %d planned kills" % (len(kills), len(plan)))

            committed = eo.committed_rows(kcat, broker, out, timeout=600)
            written = len(eo.kcat_read(kcat, broker, out, "read_uncommitted", timeout=600))
            late = sum(r.get("numLateRecords", 0) for run in runs for r in run.reports())
            sc.figure("scale-out soak: %d processes, %d kills, %d restarts, %.1f s from the first "
                      "start to the end; %d rows committed over %d windows (%d written, aborted "
                      "ones included); %d late records reported" % (
                          PROCESSES, len(kills), len(runs) - PROCESSES, total_s, len(committed),
                          len({r["window_start"] for r in expected}), written, late))
            eo.check_soak_answer(committed, expected, runs, late, "partitions in event-time order", broker, group, topic,
                                 ends)
    finally:
        for run in runs:
            run.close()
        sx.cleanup(sfcrime_bin, broker, group)
