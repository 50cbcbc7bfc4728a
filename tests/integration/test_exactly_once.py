"""`sfcrime aggregate --exactly-once` (issue 4, item 2; docs/exactly-once.md) through the real
broker: every micro-batch is one Kafka transaction (answer rows on --output-topic, late records on
--late-topic, the window state on the changelog topic G-aggregate-changelog, the input offsets of
group G), so the committed output, read with isolation.level=read_committed, holds every
(window, group) row once and equals the answer of a run without a crash, whatever stops the
process and when.

Expected figures never come from sfcrime: the input topic is read back with kcat, merged in the
contract's processing order by tests/stream_oracle.py's merge_partitions and replayed by the stream
oracle; the output and late topics are read back with kcat (read_committed); the changelog's
configuration and the group's committed offsets come from Kafka's own tools (the broker's jars).
Synthetic data only (tests/gen_stream.py); every aggregate runs with -X session.timeout.ms=6000 so
that a restart after kill -9 would wait 6 s, not 45 s, should the group hold the dead member's
partitions. Whole file: about 2 minutes.

  - test_clean_run: 3 partitions in event-time order, one run to the end: the committed rows equal
    the oracle's and stdout's; the changelog topic is compacted with 1 partition; the group's
    committed offsets are the end of the input; a second run of the group adds nothing.
  - test_state_is_restored_from_the_changelog: half the input, SIGTERM (143), the other half (with
    records in the windows still open at the stop), a second run to the end: each (window, group)
    row once, equal to the oracle over all of it: the open windows' counts came back from the
    changelog, and the second run read only the second half.
  - test_kill9_recovery[event-time|arrival]: kill -9 twice at random moments (seeded) in the middle
    of a run, restarts with the same arguments, the last run to the end: the committed rows (and,
    with late records, the committed late topic) equal the oracle's, nothing twice; whatever stdout
    printed is committed. `arrival` has late records, so it also needs the watermark restored.
  - test_signal_mid_run[SIGTERM|SIGINT]: stopped by a signal in the middle of a paced run: exit
    143 (130); a restart to the end commits every row and late record once.
  - test_second_process_fences_the_first: a second process of the group replaces the first, which
    exits 69 with an error naming the group, also while it has no input (within 15 s); the second
    goes on; the committed output stays exactly once.
  - test_query_mismatch_on_restart: restarting the group with another --window or --by exits 64
    naming the changelog topic and changes nothing; the original query then finishes correctly.
  - test_exactly_once_needs_group_and_topic: usage errors (64) without --group or without --topic.

`pytest -s` prints the figures (the kill tests' also go to the terminal summary).
"""
import collections
import random
import signal
import time

import pytest
from conftest import ROOT, load_module

eo = load_module("sfcrime_exactly_once_helpers",
                 ROOT / "tests" / "integration" / "exactly_once_helpers.py")
h = eo.h
sc = eo.sc
so = h.stream_oracle
gen_stream = h.gen_stream

BY = ("original_crime_type_name",)
QUERY = ("--window", "30m", "--watermark", "1h")
PARAMS = dict(window="30m", watermark="1h", mode="append")


# --------------------------------------------------------------------------- helpers

_write, _produce, _merged, _oracle = eo.write_lines, eo.produce_file, eo.merged, eo.oracle
_expected, _canon = eo.expected, eo.canon


def _check_committed_offsets(broker, group, topic, merged):
    eo.check_offsets_at_end(broker, group, topic, eo.input_ends(merged))











def _check_answer(rows, res, what):
    """rows (append mode) hold each (window, group) once and equal the oracle's final rows."""
    assert all(r.get("final") is True for r in rows), "%s: a row without final: true" % what
    d = so.diff_rows(so.final_view(rows, "append", BY), _expected(res), BY)
    assert not d, "%s differs from the oracle: %s" % (what, d)






def _window_ms(t):
    return t // 1_800_000


# --------------------------------------------------------------------------- a. a clean run

@pytest.mark.broker
def test_clean_run(tmp_path, sfcrime_bin, broker, kcat):
    """One exactly-once run over 3,000 synthetic records in 3 partitions (each in event-time order,
    so nothing is late), 500 records a batch: the rows committed to --output-topic (read_committed)
    equal the stream oracle's and, in the same order, the rows printed on stdout; every message
    key is [window_start, type]; the changelog topic G-aggregate-changelog exists with 1 partition
    and cleanup.policy=compact (Kafka's ConfigCommand); the group's committed offsets (Kafka's
    ConsumerGroupCommand) are the ends of the partitions. A second run of the same group with -e
    then reads nothing, prints nothing and commits no new row."""
    n = 3000
    data = _write(tmp_path / "in.ndjson", gen_stream.generate_lines(n, 101, invalid=False))
    group = eo.new_group("eo-clean")
    try:
        with h.fresh_topic(sfcrime_bin, broker, 3, "eo-clean", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "eo-clean-out", kcat) as out:
            _produce(sfcrime_bin, broker, topic, data, n, "--order", "event-time")
            merged = _merged(kcat, broker, topic)
            assert len(merged) == n
            res = _oracle(merged)
            assert res.late == 0 and res.invalid == 0

            args = eo.eo_args(topic, group, "--from-beginning", "-e", *QUERY, "--output-topic",
                              out, "-o", "json", "--progress", "json",
                              "--max-records-per-trigger", 500)
            t0 = time.monotonic()
            p = h.sfcrime(sfcrime_bin, broker, *args, timeout=120)
            secs = time.monotonic() - t0
            assert p.returncode == 0, "exit %d:\n%s" % (p.returncode, p.stderr[-3000:])
            printed = h.parse_json_lines(p.stdout)
            reports = h.progress_reports(p.stderr)
            assert sum(r["numInputRows"] for r in reports) == n
            assert all(r["numInputRows"] <= 500 for r in reports)
            assert sum(r["numLateRecords"] for r in reports) == 0
            committed = eo.committed_rows(kcat, broker, out)
            print("\nclean run: %d records, %d batches, %d rows committed, %.1f s" % (
                n, len(reports), len(committed), secs))
            assert not eo.duplicate_keys(committed), eo.duplicate_keys(committed)
            eo.check_keys(committed, BY)
            assert [r for _, r in committed] == printed, (
                "the committed rows (one partition, in commit order) are not stdout's rows")
            _check_answer(printed, res, "the committed output")

            cl = eo.changelog_topic(group)
            assert eo.topic_partitions(kcat, broker, cl) == 1, "changelog %s missing" % cl
            config = eo.topic_config(broker, cl)
            assert config.get("cleanup.policy") == "compact", (cl, config)
            _check_committed_offsets(broker, group, topic, merged)

            p = h.sfcrime(sfcrime_bin, broker, *args, timeout=120)
            assert p.returncode == 0, "second run exit %d:\n%s" % (p.returncode, p.stderr[-3000:])
            assert h.parse_json_lines(p.stdout) == []
            assert sum(r["numInputRows"] for r in h.progress_reports(p.stderr)) == 0
            assert eo.committed_rows(kcat, broker, out) == committed
    finally:
        eo.cleanup_group(sfcrime_bin, broker, group)


# --------------------------------------------------------------------------- b. state restore

@pytest.mark.broker
def test_state_is_restored_from_the_changelog(tmp_path, sfcrime_bin, broker, kcat):
    """2,000 synthetic records sorted by event time and split where one 30-minute window holds
    records of both halves. The first half goes into 3 partitions; an exactly-once aggregate
    (no -e) reads it all, is left 2 s without input, then SIGTERM: exit 143. Its committed rows
    are oracle rows and none of them is of that window (still open: the watermark is 1 h behind);
    the changelog holds committed state. Then the second half, and the same aggregate with -e:
    exit 0, it reads only the second half (the group's offsets), and the union of the committed
    rows holds each (window, type) once and equals the oracle over all 2,000 records. Without the
    open windows' state restored from the changelog the shared window would miss the first half's
    records. stdout of the two runs together is the committed output, and batch ids go on."""
    n = 2000
    ordered = gen_stream.event_order(gen_stream.generate_lines(n, 202, invalid=False))
    times = [so.event_time(x) for x in ordered]
    split = next(k for k in range(n // 2, n - 1)
                 if _window_ms(times[k - 1]) == _window_ms(times[k]))
    shared_window = so.fmt_ms(_window_ms(times[split]) * 1_800_000)
    first = _write(tmp_path / "first.ndjson", ordered[:split])
    second = _write(tmp_path / "second.ndjson", ordered[split:])
    group = eo.new_group("eo-restore")
    try:
        with h.fresh_topic(sfcrime_bin, broker, 3, "eo-restore", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "eo-restore-out", kcat) as out:
            _produce(sfcrime_bin, broker, topic, first, split, "--order", "event-time")
            first_merged = _merged(kcat, broker, topic)
            first_res = _oracle(first_merged)
            assert first_res.late == 0
            args = eo.eo_args(topic, group, "--from-beginning", *QUERY, "--output-topic", out,
                              "-o", "json", "--progress", "json", "--max-records-per-trigger", 250,
                              "--max-idle", "1s")
            with eo.Run(sfcrime_bin, broker, args, tmp_path, "first") as run1:
                assert run1.wait_until(lambda: run1.position(topic) >= split, 90) and \
                    run1.alive(), "first run ended early (%s):\n%s" % (run1.proc.returncode,
                                                                      run1.diagnostics())
                assert run1.position(topic) == split
                time.sleep(2)  # quiet: the last batch is committed
                rc = run1.stop(signal.SIGTERM)
                assert rc == 143, "first run exit %d after SIGTERM:\n%s" % (rc, run1.diagnostics())
                printed1 = run1.rows()
            committed1 = eo.committed_rows(kcat, broker, out)
            assert committed1, "nothing committed by the first run"
            assert not eo.duplicate_keys(committed1)
            assert all(r["window_start"] < shared_window for _, r in committed1), (
                "window %s was emitted before the watermark passed its end" % shared_window)
            # The windows before the shared one hold first-half records only (sorted input):
            # the oracle over the first half has their final rows.
            oracle_rows = {so.row_key(r, BY): r for r in _expected(first_res)}
            for _, r in committed1:
                assert so.project(r, BY) == oracle_rows.get(so.row_key(r, BY)), r
            changelog = eo.kcat_read(kcat, broker, eo.changelog_topic(group))
            assert changelog, "no committed state on %s" % eo.changelog_topic(group)

            _produce(sfcrime_bin, broker, topic, second, n - split, "--order", "event-time")
            merged = _merged(kcat, broker, topic)
            res = _oracle(merged)
            assert res.late == 0
            shared = [r for r in res.rows if r["window_start"] == shared_window]
            in_first = sum(1 for t in times[:split] if _window_ms(t) == _window_ms(times[split]))
            assert shared and 0 < in_first < shared[0]["window_total"]

            p = h.sfcrime(sfcrime_bin, broker, *args, "-e", timeout=120)
            assert p.returncode == 0, "second run exit %d:\n%s" % (p.returncode, p.stderr[-3000:])
            printed2 = h.parse_json_lines(p.stdout)
            reports2 = h.progress_reports(p.stderr)
            assert sum(r["numInputRows"] for r in reports2) == n - split, (
                "the second run read %d records, the second half has %d" % (
                    sum(r["numInputRows"] for r in reports2), n - split))
            committed = eo.committed_rows(kcat, broker, out)
            print("\nrestore: %d + %d records; %d rows committed by the first run, %d in all; "
                  "window %s holds %d records, %d of them from the first half" % (
                      split, n - split, len(committed1), len(committed), shared_window,
                      shared[0]["window_total"], in_first))
            assert committed[:len(committed1)] == committed1
            assert not eo.duplicate_keys(committed), eo.duplicate_keys(committed)
            eo.check_keys(committed, BY)
            _check_answer([r for _, r in committed], res, "the committed output of both runs")
            assert _canon(printed1 + printed2) == _canon([r for _, r in committed]), (
                "stdout of the two runs is not the committed output: " + h.counter_diff(
                    _canon(printed1 + printed2), _canon([r for _, r in committed])))
            if printed1 and printed2:
                assert min(r["batch_id"] for r in printed2) > max(r["batch_id"] for r in printed1)
            _check_committed_offsets(broker, group, topic, merged)
    finally:
        eo.cleanup_group(sfcrime_bin, broker, group)


# --------------------------------------------------------------------------- c. kill -9

# event-time: the input sorted (nothing late), batches back to back (some 20 ms each here), so a
#   kill lands inside a transaction most of the time: poll the position every 5 ms, kill 0-30 ms
#   after the target.
# arrival: the input in arrival order (late records), paced by --trigger 1s (one batch of at most
#   200 records a second), killed 0-1 s after the target: anywhere in the trigger's cycle.
KILL_VARIANTS = {
    "event-time": dict(seed=3031, sorted=True, pace=(), poll=0.005, delay=0.03),
    "arrival": dict(seed=3032, sorted=False, pace=("--trigger", "1s"), poll=0.02, delay=1.0),
}

@pytest.mark.broker
@pytest.mark.parametrize("order", ["event-time", "arrival"])
def test_kill9_recovery(order, request, tmp_path, sfcrime_bin, broker, kcat):
    """5,000 synthetic records in 3 partitions, in event-time order (nothing late) or in arrival
    order (late records, which go to --late-topic). The same exactly-once aggregate
    (--max-records-per-trigger 200 -e, about 25 transactions; see KILL_VARIANTS for the pace) is
    started three times: the first two are killed with SIGKILL at a random moment after the input
    position (from the progress reports) passed a random target (15-40 %, then 55-80 %) and the
    process printed committed rows (the seed is fixed per variant and printed with the figures);
    the third runs to the end, exit 0. The committed output topic holds no (window, type) key
    twice and equals the oracle's answer over the merged input; the committed late topic holds
    each of the oracle's late records exactly once (key, value, source partition/offset headers);
    every row any run printed on stdout is committed; the group's offsets are the ends of the
    input. With late records the
    restarted runs must also resume the watermark (from the changelog), else their late set
    differs."""
    sc.show_figures(request.config)
    n = 5000
    v = KILL_VARIANTS[order]
    seed = v["seed"]
    lines = gen_stream.generate_lines(n, seed, invalid=False)
    data = _write(tmp_path / "in.ndjson", lines)
    group = eo.new_group("eo-kill")
    runs = []
    try:
        with h.fresh_topic(sfcrime_bin, broker, 3, "eo-kill", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "eo-kill-out", kcat) as out, \
                h.fresh_topic(sfcrime_bin, broker, 1, "eo-kill-late", kcat) as late:
            _produce(sfcrime_bin, broker, topic, data, n,
                     *(("--order", "event-time") if v["sorted"] else ()))
            merged = _merged(kcat, broker, topic)
            res = _oracle(merged)
            assert (res.late == 0) if v["sorted"] else (res.late > 100), res.late
            args = eo.eo_args(topic, group, "--from-beginning", "-e", *QUERY, "--output-topic",
                              out, "--late-topic", late, "-o", "json", "--progress", "json",
                              "--max-records-per-trigger", 200, *v["pace"])
            rng = random.Random(seed)
            targets = [n * rng.uniform(0.15, 0.40), n * rng.uniform(0.55, 0.80)]
            kills = []
            t0 = time.monotonic()
            for i, target in enumerate(targets):
                run = eo.Run(sfcrime_bin, broker, args, tmp_path, "run%d" % i)
                runs.append(run)
                reached = run.wait_until(
                    lambda: run.printed_any() and run.position(topic) >= target, timeout=120,
                    poll=v["poll"])
                assert reached and run.alive(), (
                    "run %d ended (exit %s) before it could be killed at %d records:\n%s" % (
                        i, run.proc.returncode, target, run.diagnostics()))
                time.sleep(rng.uniform(0, v["delay"]))
                pos, printed, secs = run.position(topic), len(run.rows()), run.seconds()
                assert run.kill9(), "run %d ended before the kill:\n%s" % (i, run.diagnostics())
                kills.append("kill -9 of run %d after %.1f s at input position %d of %d (target "
                             "%d), %d rows printed" % (i, secs, pos, n, target, printed))
            final = eo.Run(sfcrime_bin, broker, args, tmp_path, "final")
            runs.append(final)
            rc = final.wait(180)
            total_s = time.monotonic() - t0
            assert rc == 0, "final run exit %d:\n%s" % (rc, final.diagnostics())

            committed = eo.committed_rows(kcat, broker, out)
            everything = eo.kcat_read(kcat, broker, out, "read_uncommitted")
            late_msgs = eo.kcat_read(kcat, broker, late)
            sc.figure("kill -9 [%s, seed %d]: %d records, %d kills, %d restarts, %d rows "
                      "committed (%d written, aborted ones included), %d late records committed "
                      "(oracle %d), %.1f s; %s" % (
                          order, seed, n, len(kills), len(runs) - 1, len(committed),
                          len(everything), len(late_msgs), res.late, total_s, "; ".join(kills)))
            dups = eo.duplicate_keys(committed)
            assert not dups, "%d keys committed more than once, e.g. %r" % (
                len(dups), list(dups.items())[:5])
            eo.check_keys(committed, BY)
            rows = [r for _, r in committed]
            _check_answer(rows, res, "the committed output")
            ids = [r["batch_id"] for r in rows]
            assert ids == sorted(ids), "committed batch ids go back: batch ids do not continue"

            printed = [r for run in runs for r in run.rows()]
            assert not _canon(printed) - _canon(rows), (
                "rows printed on stdout that are not committed: %r" % list(
                    (_canon(printed) - _canon(rows)).elements())[:5])
            assert len({so.row_key(r, BY) for r in printed}) == len(printed), \
                "stdout printed a row twice"

            expected_late = {(merged[i][0], merged[i][1]): (merged[i][2], merged[i][3])
                             for i in res.late_indices}
            got_late = collections.Counter()
            for m in late_msgs:
                hd = dict(m["headers"])
                src = (int(hd["sfcrime.source.partition"]), int(hd["sfcrime.source.offset"]))
                got_late[src] += 1
                assert expected_late.get(src) == (m["key"], m["payload"]), (
                    "late message from %r is not the oracle's late record there" % (src,))
            twice = [k for k, c in got_late.items() if c > 1]
            assert not twice, "late records committed more than once: %r" % twice[:5]
            assert set(got_late) == set(expected_late), (
                "%d late records missing, %d unexpected" % (
                    len(set(expected_late) - set(got_late)),
                    len(set(got_late) - set(expected_late))))
            _check_committed_offsets(broker, group, topic, merged)
    finally:
        for run in runs:
            run.close()
        eo.cleanup_group(sfcrime_bin, broker, group)


# --------------------------------------------------------------------------- signals mid-run

@pytest.mark.broker
@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGINT"])
def test_signal_mid_run(sig, status, tmp_path, sfcrime_bin, broker, kcat):
    """1,500 records in arrival order (late records) in 2 partitions; an exactly-once aggregate
    paced by --trigger 1s (200 records a batch, so some 8 s for the input) gets SIGTERM (SIGINT)
    about 2.5 s after its first committed rows, in the middle of the input: it exits 143 (130)
    within 30 s, having committed or aborted its open transaction. The same command with -e then
    finishes (exit 0): the committed rows hold each (window, type) once and equal the oracle's;
    the committed late topic holds each late record once; what the stopped run printed is
    committed."""
    n = 1500
    data = _write(tmp_path / "in.ndjson", gen_stream.generate_lines(n, 707, invalid=False))
    group = eo.new_group("eo-signal")
    try:
        with h.fresh_topic(sfcrime_bin, broker, 2, "eo-signal", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "eo-signal-out", kcat) as out, \
                h.fresh_topic(sfcrime_bin, broker, 1, "eo-signal-late", kcat) as late:
            _produce(sfcrime_bin, broker, topic, data, n)
            merged = _merged(kcat, broker, topic)
            res = _oracle(merged)
            assert res.late > 0
            args = eo.eo_args(topic, group, "--from-beginning", *QUERY, "--output-topic", out,
                              "--late-topic", late, "-o", "json", "--progress", "json",
                              "--max-records-per-trigger", 200, "--trigger", "1s")
            with eo.Run(sfcrime_bin, broker, args, tmp_path, "stopped") as run:
                assert run.wait_until(run.printed_any, 90) and run.alive(), (
                    "ended early (exit %s):\n%s" % (run.proc.returncode, run.diagnostics()))
                time.sleep(2.5)
                pos = run.position(topic)
                assert run.alive() and pos < n, "not in the middle of the input: %d" % pos
                t0 = time.monotonic()
                rc = run.stop(sig)
                stop_s = time.monotonic() - t0
                assert rc == status, "exit %d after %s (%d expected):\n%s" % (
                    rc, sig.name, status, run.diagnostics())
                printed = run.rows()
            p = h.sfcrime(sfcrime_bin, broker, *args, "-e", timeout=120)
            assert p.returncode == 0, "restart exit %d:\n%s" % (p.returncode, p.stderr[-3000:])
            committed = eo.committed_rows(kcat, broker, out)
            print("\n%s at input position %d of %d: exit %d in %.1f s; %d rows committed in all" % (
                sig.name, pos, n, rc, stop_s, len(committed)))
            assert not eo.duplicate_keys(committed), eo.duplicate_keys(committed)
            rows = [r for _, r in committed]
            _check_answer(rows, res, "the committed output")
            assert not _canon(printed) - _canon(rows), "printed rows that are not committed"
            got = collections.Counter((m["key"], m["payload"])
                                      for m in eo.kcat_read(kcat, broker, late))
            want = collections.Counter((merged[i][2], merged[i][3]) for i in res.late_indices)
            assert got == want, "late topic: " + h.counter_diff(got, want)
    finally:
        eo.cleanup_group(sfcrime_bin, broker, group)


# --------------------------------------------------------------------------- d. fencing

FENCE_IDLE_S = 15  # seconds an idle first process may take to notice it was replaced

@pytest.mark.broker
def test_second_process_fences_the_first(tmp_path, sfcrime_bin, broker, kcat):
    """Process A (exactly-once, group G, no -e) reads the first 1,200 of 2,000 records sorted by
    event time and waits for more; process B starts with the same arguments. A, replaced, exits
    69 with an error naming 'G': within FENCE_IDLE_S while no input arrives, or at the latest
    within 60 s of the other 800 records arriving (the two are told apart in the failure
    message). B is still running, reads the input to its end, and SIGTERM stops it (143). A last
    run of G with -e finishes (exit 0). The committed output holds every (window, type) once and
    equals the oracle's answer over the 2,000 records.
    The second half arrives while B runs, so its processing order depends on fetch timing (a
    caught-up partition does not hold the others back): the watermark delay (3 d) is longer than
    the second half's span of event time, so nothing can be late whatever that order."""
    n, k = 2000, 1200
    ordered = gen_stream.event_order(gen_stream.generate_lines(n, 404, invalid=False))
    times = [so.event_time(x) for x in ordered]
    query = ("--window", "30m", "--watermark", "3d")
    assert times[-1] - times[k] < so.parse_duration_ms("3d"), "choose a longer --watermark"
    first = _write(tmp_path / "first.ndjson", ordered[:k])
    second = _write(tmp_path / "second.ndjson", ordered[k:])
    group = eo.new_group("eo-fence")
    runs = []
    problems = []
    try:
        with h.fresh_topic(sfcrime_bin, broker, 2, "eo-fence", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "eo-fence-out", kcat) as out:
            _produce(sfcrime_bin, broker, topic, first, k, "--order", "event-time")
            args = eo.eo_args(topic, group, "--from-beginning", *query, "--output-topic", out,
                              "-o", "json", "--progress", "json", "--max-records-per-trigger", 200,
                              "--max-idle", "1s")
            a = eo.Run(sfcrime_bin, broker, args, tmp_path, "A")
            runs.append(a)
            assert a.wait_until(lambda: a.position(topic) >= k, 90) and a.alive(), (
                "A ended early (exit %s):\n%s" % (a.proc.returncode, a.diagnostics()))
            time.sleep(1)
            b = eo.Run(sfcrime_bin, broker, args, tmp_path, "B")
            runs.append(b)
            t0 = time.monotonic()
            while a.alive() and time.monotonic() - t0 < FENCE_IDLE_S:
                time.sleep(0.1)
            if a.alive():
                problems.append(
                    "A, without new input, still ran %d s after B (same --group --exactly-once) "
                    "started; it exited only once input arrived (its next transaction)"
                    % FENCE_IDLE_S)
            _produce(sfcrime_bin, broker, topic, second, n - k, "--order", "event-time")
            rc_a = a.wait(60)
            fenced_s = time.monotonic() - t0
            assert rc_a == 69, "A exit %d (69 expected once B replaced it):\n%s" % (
                rc_a, a.diagnostics())
            errors = [l for l in a.stderr().splitlines() if l.startswith("sfcrime: error:")]
            if not any("'%s'" % group in l for l in errors):
                problems.append("A's error message does not name the group '%s': %r (%d lines "
                                "on stderr)" % (group, errors, len(a.stderr().splitlines())))
            assert b.alive(), "B exited %s:\n%s" % (b.proc.returncode, b.diagnostics())
            assert b.wait_until(lambda: b.position(topic) >= n, 90) and b.alive(), (
                "B ended (exit %s) before reading the input to its end:\n%s" % (
                    b.proc.returncode, b.diagnostics()))
            time.sleep(1.5)
            rc_b = b.stop(signal.SIGTERM)
            assert rc_b == 143, "B exit %d after SIGTERM:\n%s" % (rc_b, b.diagnostics())
            p = h.sfcrime(sfcrime_bin, broker, *args, "-e", timeout=120)
            assert p.returncode == 0, "last run exit %d:\n%s" % (p.returncode, p.stderr[-3000:])

            merged = _merged(kcat, broker, topic)
            res = _oracle(merged, watermark="3d")
            assert res.late == 0
            committed = eo.committed_rows(kcat, broker, out)
            print("\nfencing: A exited %d %.1f s after B started: %r; %d rows committed" % (
                rc_a, fenced_s, errors[:1], len(committed)))
            assert not eo.duplicate_keys(committed), eo.duplicate_keys(committed)
            _check_answer([r for _, r in committed], res, "the committed output")
            assert not problems, "\n".join(problems)
    finally:
        for run in runs:
            run.close()
        eo.cleanup_group(sfcrime_bin, broker, group)


# --------------------------------------------------------------------------- e. query mismatch

@pytest.mark.broker
def test_query_mismatch_on_restart(tmp_path, sfcrime_bin, broker, kcat):
    """An exactly-once aggregate of group G (--window 30m, by type) reads 1,500 records sorted by
    event time and is stopped with SIGTERM (143), leaving open windows in the changelog.
    Restarting G with --window 1h, or with --by disposition, exits 64 and names the changelog
    topic G-aggregate-changelog on stderr; neither changes the committed output or the changelog.
    The original query, restarted with -e, then finishes (exit 0) with each (window, type) row
    once, equal to the oracle's answer."""
    n = 1500
    ordered = gen_stream.event_order(gen_stream.generate_lines(n, 505, invalid=False))
    data = _write(tmp_path / "in.ndjson", ordered)
    group = eo.new_group("eo-mismatch")
    cl = eo.changelog_topic(group)
    try:
        with h.fresh_topic(sfcrime_bin, broker, 2, "eo-mismatch", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "eo-mismatch-out", kcat) as out:
            _produce(sfcrime_bin, broker, topic, data, n, "--order", "event-time")
            common = ("--from-beginning", "--output-topic", out, "-o", "json", "--progress",
                      "json", "--max-records-per-trigger", 300, "--max-idle", "1s")
            args = eo.eo_args(topic, group, *QUERY, *common)
            with eo.Run(sfcrime_bin, broker, args, tmp_path, "first") as run1:
                assert run1.wait_until(lambda: run1.position(topic) >= n, 90) and run1.alive(), (
                    "first run ended early (exit %s):\n%s" % (run1.proc.returncode,
                                                              run1.diagnostics()))
                time.sleep(1.5)
                rc = run1.stop(signal.SIGTERM)
                assert rc == 143, "first run exit %d after SIGTERM:\n%s" % (rc, run1.diagnostics())
            out_before = eo.committed_rows(kcat, broker, out)
            cl_before = eo.kcat_read(kcat, broker, cl)
            assert cl_before, "no committed state on %s" % cl
            for change in (("--window", "1h", "--watermark", "1h"),
                           ("--window", "30m", "--watermark", "1h", "--by", "disposition")):
                p = h.sfcrime(sfcrime_bin, broker, *eo.eo_args(topic, group, *change, *common),
                              "-e", timeout=90)
                assert p.returncode == 64, "restart with %s: exit %d (64 expected):\n%s" % (
                    " ".join(change), p.returncode, p.stderr[-3000:])
                assert cl in p.stderr, "restart with %s: stderr does not name %s:\n%s" % (
                    " ".join(change), cl, p.stderr[-3000:])
                print("\nrestart with %s: exit 64: %s" % (" ".join(change), p.stderr.strip()))
                assert h.parse_json_lines(p.stdout) == []
                assert eo.committed_rows(kcat, broker, out) == out_before
                assert eo.kcat_read(kcat, broker, cl) == cl_before
            p = h.sfcrime(sfcrime_bin, broker, *args, "-e", timeout=120)
            assert p.returncode == 0, "restart with the original query: exit %d:\n%s" % (
                p.returncode, p.stderr[-3000:])
            committed = eo.committed_rows(kcat, broker, out)
            assert not eo.duplicate_keys(committed), eo.duplicate_keys(committed)
            res = _oracle(_merged(kcat, broker, topic))
            assert res.late == 0
            _check_answer([r for _, r in committed], res, "the committed output")
    finally:
        eo.cleanup_group(sfcrime_bin, broker, group)


# --------------------------------------------------------------------------- f. usage

@pytest.mark.broker
def test_exactly_once_needs_group_and_topic(tmp_path, sfcrime_bin, broker, kcat):
    """`aggregate --exactly-once` is listed by --help; without --group (on a topic) or without
    --topic (on a --file, with --group) it is a usage error: exit 64 naming the missing option,
    and no changelog topic is created."""
    p = h.sfcrime(sfcrime_bin, broker, "aggregate", "--help", timeout=30)
    assert p.returncode == 0 and "--exactly-once" in p.stdout, p.stdout[-2000:]
    group = eo.new_group("eo-usage")
    topic = "eo-usage-missing-" + group[-10:]
    data = _write(tmp_path / "in.ndjson", gen_stream.generate_lines(20, 606, invalid=False))
    try:
        p = h.sfcrime(sfcrime_bin, broker, "aggregate", "--topic", topic, "--exactly-once", "-e",
                      timeout=60)
        assert p.returncode == 64, "no --group: exit %d\n%s" % (p.returncode, p.stderr)
        assert "--group" in p.stderr, p.stderr
        p = h.sfcrime(sfcrime_bin, broker, "aggregate", "--file", data, "--group", group,
                      "--exactly-once", timeout=60)
        assert p.returncode == 64, "--file: exit %d\n%s" % (p.returncode, p.stderr)
        assert "--topic" in p.stderr, p.stderr
        assert p.stdout == ""
        assert eo.topic_partitions(kcat, broker, eo.changelog_topic(group)) == 0
    finally:
        eo.cleanup_group(sfcrime_bin, broker, group)
