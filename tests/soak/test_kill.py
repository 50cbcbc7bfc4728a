"""`sfcrime aggregate --exactly-once` killed with SIGKILL again and again over the real data
(docs/exactly-once.md, "Tests to write": 10+ kill -9 at random times during a run over the real
data): the committed output equals the batch answer of tests/oracle.py and holds no (window, type)
row twice.

test_kill9_real_data (SFCRIME_SOAK=1 only; needs ../shared/data and the shared broker,
$SFCRIME_TEST_BOOTSTRAP (the broker scripts/test brought up), of which it only creates and deletes its own topics and group):
  1. The real extract (199,999 records) produced with `--order event-time` into 6 partitions:
     processed in event-time order, nothing is late.
  2. `aggregate --group G --exactly-once --from-beginning -e --max-records-per-trigger 2000
     --output-topic O -o json --radio-codes ...` (about 100 transactions). A seeded plan of kills
     (the seed is printed; SFCRIME_SOAK_SEED=S replays it): 10 kills once the input position
     (from the --progress json reports) passed a random point between 3 % and 90 % of the input
     and the process printed committed rows, a random 0-100 ms later (a batch of 2,000 takes some
     60 ms here, so most kills land inside a transaction); 2 more at a random time 50-600 ms after
     a start, whatever the process is doing then (aborting the previous transaction, restoring
     the changelog, its first batch). After each kill the same command is started again; the last run goes to the
     end (exit 0).
  3. O read back by kcat with isolation.level=read_committed: no message key twice, every row
     final, the rows equal tests/oracle.py's answer; every row any run printed on stdout is among
     them; the group's committed offsets are the ends of the input.
The figures (seed, kills and when, restarts, rows committed and written, seconds) are printed and
shown in the terminal summary. CI has no variant here: tests/integration/test_exactly_once.py
test_kill9_recovery kills twice over synthetic data in every run.

    SFCRIME_SOAK=1 python3 -m pytest -q -p no:cacheprovider tests/soak/test_kill.py
"""
import os
import random
import time

import pytest
from conftest import RADIO_CODES, REAL_FILE, ROOT, load_module

eo = load_module("sfcrime_exactly_once_helpers",
                 ROOT / "tests" / "integration" / "exactly_once_helpers.py")
h = eo.h
sc = eo.sc

SOAK = os.environ.get("SFCRIME_SOAK") == "1"
REAL_RECORDS = 199_999
PARTITIONS = 6
PER_TRIGGER = 2000
PROGRESS_KILLS = 10
STARTUP_KILLS = 2

pytestmark = pytest.mark.soak


def _plan(rng, n):
    """The kills in order: ("position", records) or ("startup", seconds after the start).

    Positions stay below 80 % of the input: a run is killed a little after its position (the next
    progress report, plus up to 0.1 s), and the run after it restarts there; near the end of the
    input that restart finished all of it within 0.1 s, before its kill (once at 94 %)."""
    plan = [("position", int(n * f)) for f in sorted(rng.uniform(0.03, 0.80)
                                                     for _ in range(PROGRESS_KILLS))]
    for _ in range(STARTUP_KILLS):
        plan.insert(rng.randrange(0, len(plan) + 1), ("startup", rng.uniform(0.05, 0.6)))
    return plan


@pytest.mark.broker
@pytest.mark.realdata
@pytest.mark.skipif(not SOAK, reason="the long run: set SFCRIME_SOAK=1")
def test_kill9_real_data(request, tmp_path, sfcrime_bin, broker, kcat):
    """12 kill -9 (seeded) of an exactly-once aggregate over the real data, each followed by a
    restart with the same arguments: the committed output equals tests/oracle.py's answer, with no
    (window, type) row twice."""
    sc.show_figures(request.config)
    seed = int(os.environ.get("SFCRIME_SOAK_SEED") or random.SystemRandom().randrange(1, 10 ** 6))
    rng = random.Random(seed)
    records = h.oracle.load_records(REAL_FILE)
    n = len(records)
    assert n == REAL_RECORDS
    expected = h.oracle.aggregate(records, 1800, h.oracle.load_radio_codes(RADIO_CODES))
    plan = _plan(rng, n)
    sc.figure("kill -9 soak: seed %d (SFCRIME_SOAK_SEED=%d replays the plan): %s" % (
        seed, seed, ", ".join("%s %s" % (k, ("%d" % v) if k == "position" else "%.1f s" % v)
                              for k, v in plan)))
    group = eo.new_group("soak-kill")
    runs = []
    try:
        with h.fresh_topic(sfcrime_bin, broker, PARTITIONS, "soak-kill", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "soak-kill-out", kcat) as out:
            ends = eo.produce_real_data(sfcrime_bin, broker, kcat, topic, n, "kill -9 soak")

            args = eo.eo_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                              "--watermark", "1h", "--output-topic", out, "-o", "json",
                              "--progress", "json", "--max-records-per-trigger", PER_TRIGGER,
                              "--radio-codes", RADIO_CODES)
            kills = []
            t0 = time.monotonic()
            for i, (kind, value) in enumerate(plan):
                run = eo.Run(sfcrime_bin, broker, args, tmp_path, "run%02d" % i)
                runs.append(run)
                if kind == "position":
                    reached = run.wait_until(
                        lambda: run.printed_any() and run.position(topic) >= value,
                        timeout=600, poll=0.02)
                    time.sleep(rng.uniform(0, 0.1))
                else:
                    reached = run.wait_until(lambda: run.seconds() >= value, timeout=600)
                assert reached and run.alive(), (
                    "run %d ended (exit %s) before its kill (%s %s); %d kills so far:\n%s" % (
                        i, run.proc.returncode, kind, value, len(kills), run.diagnostics()))
                pos, printed, secs = run.position(topic), len(run.rows()), run.seconds()
                assert run.kill9(), "run %d ended before the kill:\n%s" % (i, run.diagnostics())
                kills.append((i, kind, secs, pos, printed))
            final = eo.Run(sfcrime_bin, broker, args, tmp_path, "final")
            runs.append(final)
            rc = final.wait(900)
            total_s = time.monotonic() - t0
            for i, kind, secs, pos, printed in kills:
                sc.figure("kill -9 soak: run %d (%s) killed after %.1f s at input position %d "
                          "of %d, %d rows printed" % (i, kind, secs, pos, n, printed))
            assert rc == 0, "final run exit %d:\n%s" % (rc, final.diagnostics())

            committed = eo.committed_rows(kcat, broker, out, timeout=600)
            written = len(eo.kcat_read(kcat, broker, out, "read_uncommitted", timeout=600))
            late = sum(r.get("numLateRecords", 0) for run in runs for r in run.reports())
            sc.figure("kill -9 soak: %d kills, %d restarts, final run %.1f s, %.1f s from the "
                      "first start to the end; %d rows committed over %d windows (%d written, "
                      "aborted ones included); %d late records reported" % (
                          len(kills), len(runs) - 1, final.seconds(), total_s, len(committed),
                          len({r["window_start"] for r in expected}), written, late))
            eo.check_soak_answer(committed, expected, runs, late, "event-time order", broker, group, topic,
                                 ends)
    finally:
        for run in runs:
            run.close()
        eo.cleanup_group(sfcrime_bin, broker, group)
