"""`sfcrime aggregate --scale-out` (issue 4, item 3; docs/exactly-once.md "Scale-out";
include/sfcrime/pipeline/topology.hpp) through the real broker: any number of processes of one --group
share the query in three stages (regroup by group key into G-aggregate-repartition, aggregate per
repartition partition into G-aggregate-rows, assemble per rows partition), every batch one Kafka
transaction with the offsets of every consumed partition, task state in the compacted
G-aggregate-scaleout-changelog (2 x P partitions), end markers in G-aggregate-done. The committed
output (read with isolation.level=read_committed) holds every (window, group) row once (append
mode) and equals the answer of one process, whoever runs, joins, or dies with kill -9.

Expected figures never come from sfcrime: the input topic is read back with kcat, merged in the
contract's processing order by tests/stream_oracle.py's merge_partitions and replayed by the stream
oracle; the output and late topics are read back with kcat (read_committed); the internal topics'
configuration and the group's committed offsets come from Kafka's own tools. Helpers, style and
oracle use follow tests/integration/test_exactly_once.py. Synthetic data only (tests/gen_stream.py,
without invalid lines); every process runs with -X session.timeout.ms=6000 so that a killed
process's partitions move to the others within seconds, and the multi-process ones with
-X heartbeat.interval.ms=500 (FAST_HEARTBEAT). Whole file: some 2.5 minutes here.

Lateness is decided per aggregate task (repartition partition), whose watermark travels with the
data: the smallest, over the input partitions that have neither ended nor gone idle, of the
largest event time each has sent (as its records and the regroup punctuations in that repartition
partition tell), minus the delay (docs/exactly-once.md, "Watermarks travel with the data"). So a
record is late only if its own input partition was out of order by more than the delay, and for
an input whose partitions are each out of order by less than --watermark, N processes give one
process's answer with no late record, whatever the timing: test_real_data_processes and
test_out_of_order_processes_killed_and_joined check exactly that with the default-size
watermark. Inputs with more disorder have a late set that depends on timing but is fixed by the
committed repartition topic (replay_repartition); the older N-process tests use --watermark
36500d (nothing late, whatever the order).

  - test_one_process[append|update|top3]: one process over 3 partitions in event-time order
    (nothing late under the default 1h watermark), paced by --trigger 1s (but top3) so that
    windows close during the run: the committed rows equal the oracle's (update:
    the last version of each key; --top 3: each window's first 3) and, in the same order, stdout's;
    the summary line's counters; the internal topics (P, P, 2P and 1 partitions, the changelog
    and the done topic compacted); the group's committed input offsets are the partitions' ends;
    a second run of the group adds nothing.
  - test_three_processes: three processes at once, 100 records a batch: all exit 0; the committed
    rows equal the oracle's, each key once; the processes' stdout together is the committed output.
  - test_three_processes_one_killed: three processes paced by --trigger 1s, one (seeded) killed
    with SIGKILL after it printed a seeded number of batch reports; the other two exit 0 and the
    committed rows equal the oracle's, each key once; whatever anyone printed is committed.
  - test_process_joins_mid_run: one process, then a second one once the first has committed
    batches: both exit 0, the first saw the rebalance, rows equal the oracle's.
  - test_signal_mid_run[SIGTERM]: one process stopped by SIGTERM while it holds fetched input it
    has not regrouped: exit 143 within 10 s; a restart with -e completes the answer exactly.
  - test_scale_out_usage: --scale-out without --group, with --exactly-once, or on --file: exit 64,
    no internal topic created.
  - test_late_topic_one_process: one process, arrival-order input with late records, --late-topic.
    The late topic holds exactly the late records of the rule replayed over the committed
    repartition topic (replay_repartition), a subset of the single-process oracle's and of the
    records late within their own input partition; the rows are the oracle's over the others.
  - test_late_records_three_processes_one_killed: three processes, default 1h watermark, late
    records, one killed: the late set depends on timing but is fixed by the committed
    repartition topic; the late topic holds exactly the replayed rule's late records over it,
    and the rows are the oracle's over the other records.
  - test_real_data_processes[2|3]: the real data in event-time order, 6 partitions, N processes
    with the default watermark: nothing late, the committed rows equal tests/oracle.py's.
  - test_out_of_order_processes_killed_and_joined: a seeded out-of-order stream whose disorder
    is within --watermark 2h; two processes, one killed, a third joins: nothing late, the rows
    equal the stream oracle's (which finds nothing late either).
  - test_idle_partition_holds_nothing_back: a live topic with an empty partition: its regroup
    task says it is idle after --max-idle, so windows close and print while the process runs.

`pytest -s` prints the figures (they also go to the terminal summary).
"""
import collections
import contextlib
import json
import random
import re
import signal
import subprocess
import time
import types

import pytest
from conftest import REAL_FILE, ROOT, load_module

eo = load_module("sfcrime_exactly_once_helpers",
                 ROOT / "tests" / "integration" / "exactly_once_helpers.py")
sx = load_module("sfcrime_scale_out_helpers",
                 ROOT / "tests" / "integration" / "scale_out_helpers.py")
h = eo.h
sc = eo.sc
so = h.stream_oracle
gen_stream = h.gen_stream

BY = ("original_crime_type_name",)
PARAMS = dict(window="30m", watermark="1h", mode="append")
GENEROUS = "36500d"  # every window closes only at the end of input: nothing can be late
PUNCTUATION_KEY = sx.PUNCTUATION_KEY
# The broker here has group.initial.rebalance.delay.ms=0: the first process to join a group gets
# every partition at once and hears that others joined (or that a dead member's session expired)
# only at its next heartbeat, 3 s by default. The multi-process tests make that 0.5 s.
FAST_HEARTBEAT = ("-X", "heartbeat.interval.ms=500")


# --------------------------------------------------------------------------- helpers

so_args, internal_topics, cleanup = sx.so_args, sx.internal_topics, sx.cleanup
summary, holdings, _describe = sx.summary, sx.holdings, sx.describe
_write, _produce, _merged, _oracle = eo.write_lines, eo.produce_file, eo.merged, eo.oracle
_expected, _canon, _input_ends = eo.expected, eo.canon, eo.input_ends


def _check_committed_offsets(broker, group, topic, merged):
    eo.check_offsets_at_end(broker, group, topic, eo.input_ends(merged))


@contextlib.contextmanager
def _scenario(sfcrime_bin, broker, kcat, tmp_path, name, n, seed, partitions, *produce_args,
              outputs=("out",)):
    """What every scenario here starts from: `n` records of gen_stream (`seed`, none invalid)
    produced by sfcrime (with `produce_args`) into a fresh topic so-NAME of `partitions`
    partitions and read back by kcat (`merged`), a fresh one-partition topic so-NAME-OUTPUT for
    each name in `outputs` (an attribute of that name), and a fresh group. On the way out, the
    runs the test put in `runs` are closed, the topics deleted and the group's internal topics
    with them."""
    data = _write(tmp_path / "in.ndjson", gen_stream.generate_lines(n, seed, invalid=False))
    s = types.SimpleNamespace(group=eo.new_group("so-" + name), runs=[])
    try:
        with contextlib.ExitStack() as topics:
            s.topic = topics.enter_context(h.fresh_topic(sfcrime_bin, broker, partitions, "so-" + name, kcat))
            for o in outputs:
                setattr(s, o, topics.enter_context(h.fresh_topic(sfcrime_bin, broker, 1, f"so-{name}-{o}", kcat)))
            _produce(sfcrime_bin, broker, s.topic, data, n, *produce_args)
            s.merged = _merged(kcat, broker, s.topic)
            yield s
    finally:
        for run in s.runs:
            run.close()
        cleanup(sfcrime_bin, broker, s.group)


def _check_committed(committed, expected, what):
    """Append mode: no message key twice, keys [window_start, type], every row final, and the rows
    equal `expected` (projected oracle rows)."""
    dups = eo.duplicate_keys(committed)
    assert not dups, "%s: %d keys committed more than once, e.g. %r" % (
        what, len(dups), list(dups.items())[:5])
    eo.check_keys(committed, BY)
    rows = [r for _, r in committed]
    assert all(r.get("final") is True for r in rows), "%s: a row without final: true" % what
    d = so.diff_rows(so.final_view(rows, "append", BY), expected, BY)
    assert not d, "%s differs from the oracle: %s" % (what, d)


def _start(sfcrime_bin, broker, args, tmp_path, names):
    return [eo.Run(sfcrime_bin, broker, args, tmp_path, name) for name in names]


# --------------------------------------------------------------------------- a. one process

ONE_VARIANTS = {
    "append": dict(extra=("--trigger", "1s"), mode="append", top=None),
    "update": dict(extra=("--trigger", "1s", "--output-mode", "update"), mode="update", top=None),
    "top3": dict(extra=("--top", 3), mode="append", top=3),
}


@pytest.mark.broker
@pytest.mark.parametrize("variant", list(ONE_VARIANTS))
def test_one_process(variant, request, tmp_path, sfcrime_bin, broker, kcat):
    """1,000 synthetic records in 3 partitions, each in event-time order (produce --order
    event-time: nothing late under the default 1h watermark); one scale-out process with -e,
    200 records a batch, paced by --trigger 1s in the append and update variants (so that the
    aggregate and assemble stages, one batch behind each other, see the input in several
    batches and windows close as the watermark passes them, not all at the end: unpaced, the
    regroup stage ran through the input before the others saw any of it, and every row came out
    in the final batch), --output-topic O (1 partition) and -o json.
    Exit 0. The rows committed
    to O (read_committed) equal the stream oracle's (append: each (window, type) once and final;
    update: the last version of each key and the window's totals from its newest row;
    --top 3: each window's first 3 rows by count, then type) and, in the same order, stdout's;
    each message key is [window_start, type]. That the pacing did its job is checked too: in
    the append variant rows were emitted in more than one batch (windows closed before the end of
    input), in update mode some row was emitted in more than one version. The summary line says
    1,000 records regrouped
    (once, when there was only the first assignment), 0 late, 0 invalid, as many rows out as
    committed. In the append variant also: the internal topics G-aggregate-repartition and
    G-aggregate-rows have 3 partitions, G-aggregate-scaleout-changelog 6 and G-aggregate-done 1,
    those two with cleanup.policy=compact (Kafka's ConfigCommand); the group's committed input
    offsets are the partitions' ends (Kafka's ConsumerGroupCommand); a second run of the group
    with -e (every task restored as ended) exits 0, regroups and prints nothing and commits no
    new row."""
    sc.show_figures(request.config)
    v = ONE_VARIANTS[variant]
    n = 1000
    with _scenario(sfcrime_bin, broker, kcat, tmp_path, "one", n, 1101, 3, "--order", "event-time") as case:
        topic, out, group, merged = case.topic, case.out, case.group, case.merged
        assert len(merged) == n
        res = _oracle(merged, mode=v["mode"])
        assert res.late == 0 and res.invalid == 0
        expected = so.apply_top(_expected(res), v["top"])

        args = so_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                       "--output-topic", out, "-o", "json", "--progress", "json",
                       "--max-records-per-trigger", 200, *v["extra"])
        t0 = time.monotonic()
        p = h.sfcrime(sfcrime_bin, broker, *args, timeout=120)
        secs = time.monotonic() - t0
        assert p.returncode == 0, "exit %d:\n%s" % (p.returncode, p.stderr[-3000:])
        s = summary(p.stderr)
        printed = h.parse_json_lines(p.stdout)
        committed = eo.committed_rows(kcat, broker, out)
        sc.figure("scale-out one process [%s]: %d records, %d batches, %d rows committed, "
                  "%d rebalances, %.1f s" % (variant, n, s["batches"], len(committed),
                                             s["rebalances"], secs))
        assert s["late"] == 0 and s["invalid"] == 0 and s["filtered"] == 0, s
        assert s["rebalances"] >= 1, s
        if s["rebalances"] == 1:
            assert s["regrouped"] == n, s
            assert s["rows_out"] == len(committed), (s, len(committed))
        else:
            assert s["regrouped"] >= n, s
        assert [r for _, r in committed] == printed, (
            "the committed rows (one partition, in commit order) are not stdout's rows")
        eo.check_keys(committed, BY)
        rows = [r for _, r in committed]
        if v["mode"] == "append":
            _check_committed(committed, expected, "the committed output")
            batches = sorted({r["batch_id"] for r in rows})
            assert len(batches) >= 2 or variant == "top3", (
                "every row was emitted in one batch (%r): no window closed before the end "
                "of input" % batches)
        else:
            assert rows, "nothing committed"
            d = so.diff_rows(so.final_view(rows, "update", BY), expected, BY)
            assert not d, "the last versions of the committed rows differ: %s" % d
            keys = {so.row_key(r, BY) for r in rows}
            assert len(rows) > len(keys), (
                "update mode emitted each of the %d keys once: no row was updated" % len(keys))

        if variant == "append":
            names = internal_topics(group)
            for kind, want in (("repartition", 3), ("rows", 3), ("changelog", 6), ("done", 1)):
                got = eo.topic_partitions(kcat, broker, names[kind])
                assert got == want, "%s has %d partitions, %d expected" % (
                    names[kind], got, want)
            for kind in ("changelog", "done"):
                config = eo.topic_config(broker, names[kind])
                assert config.get("cleanup.policy") == "compact", (names[kind], config)
            _check_committed_offsets(broker, group, topic, merged)

            p = h.sfcrime(sfcrime_bin, broker, *args, timeout=120)
            assert p.returncode == 0, "second run exit %d:\n%s" % (
                p.returncode, p.stderr[-3000:])
            s2 = summary(p.stderr, "second run")
            sc.figure("scale-out one process [%s]: a second run of the group: %s" % (
                variant, s2))
            assert h.parse_json_lines(p.stdout) == [], "the second run printed rows"
            assert s2["regrouped"] == 0 and s2["rows_out"] == 0, s2
            assert eo.committed_rows(kcat, broker, out) == committed, (
                "the second run changed the committed output")


# --------------------------------------------------------------------------- b. three processes

@pytest.mark.broker
def test_three_processes(request, tmp_path, sfcrime_bin, broker, kcat):
    """6,000 synthetic records in arrival order (out of order in event time) in 6 partitions;
    three scale-out processes of one group started together, --watermark 36500d,
    --max-records-per-trigger 100 (some 60 regroup batches in all), -e, and FAST_HEARTBEAT (with
    the default 3 s heartbeat the first process had done everything alone, before it heard of the
    others, in two runs of three).
    All three exit 0 within 120 s with 0 late records. Each committed batches of input (its
    --progress json reports), and those batches together hold the input exactly once (their
    numInputRows add up to 6,000). The committed rows equal the oracle's under that watermark,
    each (window, type) once, keys [window_start, type]; the rows the three printed on stdout,
    together, are exactly the committed rows (a process prints a batch once it committed, and
    nothing of an aborted one); the group's committed input offsets are the partitions' ends."""
    sc.show_figures(request.config)
    n = 6000
    with _scenario(sfcrime_bin, broker, kcat, tmp_path, "three", n, 1202, 6) as case:
        topic, out, group, merged, runs = case.topic, case.out, case.group, case.merged, case.runs
        res = _oracle(merged, watermark=GENEROUS)
        assert res.late == 0
        args = so_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                       "--watermark", GENEROUS, "--output-topic", out, "-o", "json",
                       "--progress", "json", "--max-records-per-trigger", 100,
                       *FAST_HEARTBEAT)
        t0 = time.monotonic()
        runs.extend(_start(sfcrime_bin, broker, args, tmp_path, ("A", "B", "C")))
        codes = [run.wait(120) for run in runs]
        secs = time.monotonic() - t0
        for run, rc in zip(runs, codes):
            assert rc == 0, "%s exit %d:\n%s" % (run.name, rc, run.diagnostics())
        committed = eo.committed_rows(kcat, broker, out)
        sc.figure("scale-out three processes: %d records, %d rows committed, %.1f s; %s" % (
            n, len(committed), secs, "; ".join(_describe(r) for r in runs)))
        sums = [summary(r.stderr(), r.name) for r in runs]
        assert sum(s["late"] for s in sums) == 0, sums
        assert sum(s["regrouped"] for s in sums) >= n, sums
        shares = [sx.regrouped([r]) for r in runs]
        assert sum(shares) == n, (
            "the committed batches regrouped %r records (%d in all), the input has %d" % (
                shares, sum(shares), n))
        assert all(shares), "a process committed no input: %r" % shares
        _check_committed(committed, _expected(res), "the committed output")
        printed = [r for run in runs for r in run.rows()]
        rows = [r for _, r in committed]
        assert _canon(printed) == _canon(rows), (
            "the processes' stdout together is not the committed output: " +
            h.counter_diff(_canon(printed), _canon(rows)))
        _check_committed_offsets(broker, group, topic, merged)


# --------------------------------------------------------------------------- c. kill -9

KILL_SEED = 5151


@pytest.mark.broker
def test_three_processes_one_killed(request, tmp_path, sfcrime_bin, broker, kcat):
    """6,000 synthetic records in arrival order in 6 partitions; three scale-out processes of one
    group, --watermark 36500d, 300 records a batch paced by --trigger 1s (each process needs
    some 7 s for its share), -e. One of them (seeded choice) is killed with SIGKILL once it has
    printed a seeded number (2-5) of batch reports, 0-1 s later: in the middle of its work.
    The other two take its tasks over (they report a further rebalance) and exit 0 within 120 s.
    The committed rows equal the oracle's under that watermark, each (window, type) once; every
    row any process printed (the killed one included) is committed, none twice; the group's
    committed input offsets are the partitions' ends."""
    sc.show_figures(request.config)
    n = 6000
    rng = random.Random(KILL_SEED)
    with _scenario(sfcrime_bin, broker, kcat, tmp_path, "kill", n, KILL_SEED, 6) as case:
        topic, out, group, merged, runs = case.topic, case.out, case.group, case.merged, case.runs
        res = _oracle(merged, watermark=GENEROUS)
        assert res.late == 0
        args = so_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                       "--watermark", GENEROUS, "--output-topic", out, "-o", "json",
                       "--progress", "json", "--max-records-per-trigger", 300,
                       "--trigger", "1s", *FAST_HEARTBEAT)
        victim_index = rng.randrange(3)
        reports_before_kill = rng.randint(2, 5)
        delay = rng.uniform(0, 1.0)
        t0 = time.monotonic()
        runs.extend(_start(sfcrime_bin, broker, args, tmp_path, ("A", "B", "C")))
        victim = runs[victim_index]
        reached = victim.wait_until(lambda: len(victim.reports()) >= reports_before_kill,
                                    timeout=90, poll=0.01)
        assert reached and victim.alive(), (
            "%s ended (exit %s) before its kill after %d batch reports:\n%s" % (
                victim.name, victim.proc.returncode, reports_before_kill,
                victim.diagnostics()))
        time.sleep(delay)
        reports, printed_rows, kill_s = len(victim.reports()), len(victim.rows()), \
            victim.seconds()
        assert victim.kill9(), "%s ended before the kill:\n%s" % (
            victim.name, victim.diagnostics())
        survivors = [r for r in runs if r is not victim]
        codes = [run.wait(120) for run in survivors]
        secs = time.monotonic() - t0
        committed = eo.committed_rows(kcat, broker, out)
        written = len(eo.kcat_read(kcat, broker, out, "read_uncommitted"))
        sc.figure("scale-out kill -9 [seed %d]: %s killed after %.1f s, %d batch reports, "
                  "%d rows printed; %d rows committed (%d written, aborted ones included), "
                  "%.1f s in all; %s" % (
                      KILL_SEED, victim.name, kill_s, reports, printed_rows, len(committed),
                      written, secs, "; ".join(_describe(r) for r in survivors)))
        for run, rc in zip(survivors, codes):
            assert rc == 0, "%s exit %d after %s was killed:\n%s" % (
                run.name, rc, victim.name, run.diagnostics())
        _check_committed(committed, _expected(res), "the committed output")
        rows = [r for _, r in committed]
        printed = [r for run in runs for r in run.rows()]
        assert not _canon(printed) - _canon(rows), (
            "rows printed on stdout that are not committed: %r" % list(
                (_canon(printed) - _canon(rows)).elements())[:5])
        assert len({so.row_key(r, BY) for r in printed}) == len(printed), \
            "a (window, type) row was printed twice"
        sums = [summary(r.stderr(), r.name) for r in survivors]
        assert max(s["rebalances"] for s in sums) >= 2, (
            "no survivor took tasks over after the kill: %r" % sums)
        _check_committed_offsets(broker, group, topic, merged)


# --------------------------------------------------------------------------- d. joining

@pytest.mark.broker
def test_process_joins_mid_run(request, tmp_path, sfcrime_bin, broker, kcat):
    """3,000 synthetic records in arrival order in 6 partitions; process A (--watermark 36500d,
    400 records a batch paced by --trigger 1s: some 8 s alone, -e) starts; once it has
    reported 3 batches, process B with the same arguments joins. Both exit 0 within 120 s; A
    reports a second assignment (it rebalanced while running) and B held tasks; the two's
    committed batches hold the input exactly once (numInputRows add up to 3,000). The committed
    rows equal the oracle's under that watermark, each (window, type) once, and are exactly
    what the two printed."""
    sc.show_figures(request.config)
    n = 3000
    with _scenario(sfcrime_bin, broker, kcat, tmp_path, "join", n, 1404, 6) as case:
        topic, out, group, merged, runs = case.topic, case.out, case.group, case.merged, case.runs
        res = _oracle(merged, watermark=GENEROUS)
        assert res.late == 0
        args = so_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                       "--watermark", GENEROUS, "--output-topic", out, "-o", "json",
                       "--progress", "json", "--max-records-per-trigger", 400,
                       "--trigger", "1s", *FAST_HEARTBEAT)
        t0 = time.monotonic()
        a = eo.Run(sfcrime_bin, broker, args, tmp_path, "A")
        runs.append(a)
        reached = a.wait_until(lambda: len(a.reports()) >= 3, timeout=90)
        assert reached and a.alive(), "A ended (exit %s) before B joined:\n%s" % (
            a.proc.returncode, a.diagnostics())
        a_input = sum(r["numInputRows"] for r in a.reports())
        join_s = a.seconds()
        b = eo.Run(sfcrime_bin, broker, args, tmp_path, "B")
        runs.append(b)
        codes = [run.wait(120) for run in runs]
        secs = time.monotonic() - t0
        committed = eo.committed_rows(kcat, broker, out)
        sc.figure("scale-out join: B joined %.1f s after A started (A had regrouped %d of %d "
                  "records); %d rows committed, %.1f s; %s" % (
                      join_s, a_input, n, len(committed), secs,
                      "; ".join(_describe(r) for r in runs)))
        for run, rc in zip(runs, codes):
            assert rc == 0, "%s exit %d:\n%s" % (run.name, rc, run.diagnostics())
        _check_committed(committed, _expected(res), "the committed output")
        assert len(holdings(a.stderr())) >= 2, (
            "A did not rebalance when B joined: %r" % holdings(a.stderr()))
        assert any(sum(x) > 0 for x in holdings(b.stderr())), (
            "B never held a task: %r" % holdings(b.stderr()))
        shares = [sx.regrouped([r]) for r in runs]
        assert sum(shares) == n, (
            "the committed batches regrouped %r records (%d in all), the input has %d" % (
                shares, sum(shares), n))
        printed = [r for run in runs for r in run.rows()]
        rows = [r for _, r in committed]
        assert _canon(printed) == _canon(rows), (
            "the processes' stdout together is not the committed output: " +
            h.counter_diff(_canon(printed), _canon(rows)))


# --------------------------------------------------------------------------- signals

STOP_S = 10  # seconds a signalled process may take to commit its open batch and leave


@pytest.mark.broker
@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143)], ids=["SIGTERM"])
def test_signal_mid_run(sig, status, request, tmp_path, sfcrime_bin, broker, kcat):
    """1,000 synthetic records in 3 partitions in event-time order (nothing late, one process,
    default 1h watermark); one scale-out process without -e, 200 records a batch paced by
    --trigger 1s, so that it holds fetched input it has not regrouped yet, gets SIGTERM after 2
    batch reports: it commits its open batch and exits 143 within STOP_S seconds (SIGINT takes
    the same path: 130). The same command with -e then finishes (exit 0), restoring the open
    windows from the changelog: the committed rows equal the oracle's, each (window, type) once;
    what the stopped process printed is committed. A stop that does not end is recorded, the
    process killed, and the rest still checked; the test then fails naming it."""
    sc.show_figures(request.config)
    n = 1000
    problems = []
    with _scenario(sfcrime_bin, broker, kcat, tmp_path, "signal", n, 1606, 3, "--order", "event-time") as case:
        topic, out, group, merged = case.topic, case.out, case.group, case.merged
        res = _oracle(merged)
        assert res.late == 0
        args = so_args(topic, group, "--from-beginning", "--window", "30m",
                       "--output-topic", out, "-o", "json", "--progress", "json",
                       "--max-records-per-trigger", 200, "--trigger", "1s")
        with eo.Run(sfcrime_bin, broker, args, tmp_path, "stopped") as run:
            assert run.wait_until(lambda: len(run.reports()) >= 2, 90) and run.alive(), (
                "ended early (exit %s):\n%s" % (run.proc.returncode, run.diagnostics()))
            pos = sx.regrouped([run])
            assert pos < n, "not in the middle of the input: %d regrouped" % pos
            t0 = time.monotonic()
            try:
                rc = run.stop(sig, timeout=STOP_S)
            except AssertionError:
                rc = None
                problems.append(
                    "after %s at input position %d of %d the process did not exit within "
                    "%d s (killed); its stderr:\n%s" % (sig.name, pos, n, STOP_S,
                                                        run.diagnostics(1500)))
            stop_s = time.monotonic() - t0
            if rc is not None and rc != status:
                problems.append("exit %d after %s (%d expected):\n%s" % (
                    rc, sig.name, status, run.diagnostics()))
            printed = run.rows()
        p = h.sfcrime(sfcrime_bin, broker, *args, "-e", timeout=120)
        assert p.returncode == 0, "restart exit %d:\n%s" % (p.returncode, p.stderr[-3000:])
        committed = eo.committed_rows(kcat, broker, out)
        sc.figure("scale-out %s at input position %d of %d: exit %s after %.1f s; %d rows "
                  "committed in all" % (sig.name, pos, n, rc, stop_s, len(committed)))
        _check_committed(committed, _expected(res), "the committed output")
        rows = [r for _, r in committed]
        assert not _canon(printed) - _canon(rows), "printed rows that are not committed"
        assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- e. usage

@pytest.mark.broker
def test_scale_out_usage(tmp_path, sfcrime_bin, broker, kcat):
    """`aggregate --scale-out` is listed by --help. Without --group, together with
    --exactly-once, or on a --file it is a usage error: exit 64 with a message naming the
    option at fault, nothing on stdout, and none of the group's internal topics is created."""
    p = h.sfcrime(sfcrime_bin, broker, "aggregate", "--help", timeout=30)
    assert p.returncode == 0 and "--scale-out" in p.stdout, p.stdout[-2000:]
    group = eo.new_group("so-usage")
    data = _write(tmp_path / "in.ndjson", gen_stream.generate_lines(20, 1505, invalid=False))
    try:
        with h.fresh_topic(sfcrime_bin, broker, 2, "so-usage", kcat) as topic:
            cases = [
                ("no --group", ("aggregate", "--topic", topic, "--scale-out", "-e"), "--group"),
                ("with --exactly-once", ("aggregate", "--topic", topic, "--group", group,
                                         "--scale-out", "--exactly-once", "-e"), "--exactly-once"),
                ("on --file", ("aggregate", "--file", data, "--group", group, "--scale-out"),
                 "--topic"),
            ]
            for what, args, named in cases:
                p = h.sfcrime(sfcrime_bin, broker, *args, timeout=60)
                assert p.returncode == 64, "--scale-out %s: exit %d (64 expected)\n%s" % (
                    what, p.returncode, p.stderr)
                assert named in p.stderr, "--scale-out %s: stderr does not name %s: %r" % (
                    what, named, p.stderr)
                assert p.stdout == "", p.stdout[:500]
            for t in internal_topics(group).values():
                assert eo.topic_partitions(kcat, broker, t) == 0, "%s was created" % t
    finally:
        cleanup(sfcrime_bin, broker, group)


# --------------------------------------------------------------------------- f. late records

def replay_repartition(parts, partitions, delay_ms, size_ms, slide_ms=None):
    """The (source partition, source offset) of the records an aggregate task finds late, replayed
    over the committed repartition topic as it is (records and punctuations in each partition's
    offset order), by the rule of docs/exactly-once.md ("Watermarks travel with the data"): per
    repartition partition, the largest event time known of each input partition q (from q's
    punctuations, `max_event_ms`, and from q's records, by their sfcrime.source.partition
    header), q's end (`end`) and idleness (`idle`; a record of q makes it active again); after
    each message the watermark rises to min over the q in range(partitions) neither ended nor
    idle of the known time (a q not heard from: -infinity), or, every such q idle, to the max,
    minus the delay; a record is late when every window holding it ends at or before the
    watermark (its own time counted first). Equal to the program's late set when the aggregate
    stage is right, whatever the regroup stage wrote, since a restored task resumes from state
    committed with its offsets."""
    slide_ms = slide_ms or size_ms
    late = set()
    for msgs in parts.values():
        known, ended, idle = {}, set(), set()
        watermark = so.NEG_INF

        def advance():
            nonlocal watermark
            live = [q for q in range(partitions) if q not in ended]
            active = [known.get(q, so.NEG_INF) for q in live if q not in idle]
            low = min(active) if active else max([known.get(q, so.NEG_INF) for q in live],
                                                 default=so.NEG_INF)
            watermark = max(watermark, low - delay_ms)

        for m in msgs:
            if m["key"] == PUNCTUATION_KEY:
                punct = json.loads(m["payload"])
                q = punct["source"]
                known[q] = max(known.get(q, so.NEG_INF), punct["max_event_ms"])
                if punct.get("idle"):
                    idle.add(q)
                if punct["end"]:
                    ended.add(q)
                advance()
                continue
            hd = dict(m["headers"])
            q, offset = int(hd["sfcrime.source.partition"]), int(hd["sfcrime.source.offset"])
            t = so.event_time(m["payload"])
            known[q] = max(known.get(q, so.NEG_INF), t)
            idle.discard(q)
            advance()
            if all(s + size_ms <= watermark for s in so.windows_of(t, size_ms, slide_ms)):
                late.add((q, offset))
    return late


def own_partition_lateness(merged, delay_ms, size_ms):
    """Indices into `merged` of the records late within their own input partition: every window
    holding the record ends at or before the largest event time of its partition's records up to
    it, minus the delay. No scale-out run finds any other record late."""
    largest, late = {}, []
    for i, m in enumerate(merged):
        t = so.event_time(m[3])
        if t is None:
            continue
        largest[m[0]] = max(largest.get(m[0], so.NEG_INF), t)
        if all(s + size_ms <= largest[m[0]] - delay_ms for s in so.windows_of(t, size_ms, size_ms)):
            late.append(i)
    return late


def _repartition_tasks(kcat, broker, topic, merged, one_process=True):
    """{index into merged: repartition partition} from the committed repartition topic (records
    carry headers sfcrime.source.partition/offset), and {partition: messages} of that topic.
    Checks the regroup stage on the way: every valid input record is there exactly once, with
    its input value, under the key of its group; one group key, one partition; in each
    partition the records of each input partition in offset order, and with `one_process` all
    its records in the processing order."""
    parts = eo.kcat_read(kcat, broker, topic)
    index = {(m[0], m[1]): i for i, m in enumerate(merged)}
    task_of, by_partition = {}, collections.defaultdict(list)
    key_partition = {}
    for m in parts:
        by_partition[m["partition"]].append(m)
        if m["key"] == PUNCTUATION_KEY:
            continue
        hd = dict(m["headers"])
        src = (int(hd["sfcrime.source.partition"]), int(hd["sfcrime.source.offset"]))
        i = index.get(src)
        assert i is not None, "repartition record from %r, not an input record" % (src,)
        assert i not in task_of, "input record %r regrouped twice (committed)" % (src,)
        assert m["payload"] == merged[i][3], "record %r changed on the way: %r" % (src, m)
        group = [so.group_value(json.loads(m["payload"]).get(f)) for f in BY]
        assert json.loads(m["key"]) == group, "record %r under key %r" % (src, m["key"])
        assert key_partition.setdefault(m["key"], m["partition"]) == m["partition"], (
            "group key %r in partitions %d and %d" % (m["key"], key_partition[m["key"]],
                                                      m["partition"]))
        task_of[i] = m["partition"]
    valid = [i for i, m in enumerate(merged) if so.event_time(m[3]) is not None]
    assert sorted(task_of) == valid, "%d valid input records, %d regrouped" % (
        len(valid), len(task_of))
    for p, msgs in by_partition.items():
        srcs = [(int(dict(m["headers"])["sfcrime.source.partition"]),
                 int(dict(m["headers"])["sfcrime.source.offset"]))
                for m in msgs if m["key"] != PUNCTUATION_KEY]
        for source in {q for q, _ in srcs}:
            offsets = [o for q, o in srcs if q == source]
            assert offsets == sorted(offsets), (
                "repartition partition %d holds input partition %d's records out of order" % (
                    p, source))
        if one_process:
            order = [index[src] for src in srcs]
            assert order == sorted(order), (
                "repartition partition %d is not in processing order" % p)
    return task_of, dict(by_partition)


def _late_sources(late_msgs):
    """Counter of the (source partition, source offset) headers of late-topic messages."""
    return collections.Counter((int(dict(m["headers"])["sfcrime.source.partition"]),
                                int(dict(m["headers"])["sfcrime.source.offset"]))
                               for m in late_msgs)


@pytest.mark.broker
def test_late_topic_one_process(request, tmp_path, sfcrime_bin, broker, kcat):
    """2,000 synthetic records in arrival order (over 100 late under the single-process rule) in
    3 partitions; one scale-out process, default 1h watermark, 150 records a batch, -e,
    --late-topic L, --output-topic O. Exit 0; the committed batches regrouped every record.
    The committed repartition topic is checked (every valid record once, unchanged, keyed by its
    group, one key one partition, in processing order) and the rule replayed over it
    (replay_repartition) gives the expected late set, which must be a subset of the
    single-process oracle's and of the records late within their own partition
    (own_partition_lateness): a watermark that travels with the data is never ahead of either.
    L (read_committed) holds each of those late records exactly once, as it came in (key and
    value, multiset) and from where (sfcrime.source.partition/offset headers); the summary's
    late count agrees; O holds each (window, type) of the other records once, equal to the stream
    oracle's final rows over them. The late counts are printed."""
    sc.show_figures(request.config)
    n = 2000
    size_ms, delay_ms = so.parse_duration_ms("30m"), so.parse_duration_ms("1h")
    with _scenario(sfcrime_bin, broker, kcat, tmp_path, "late", n, 909, 3, outputs=("out", "late")) as case:
        topic, out, late_topic, group, merged = case.topic, case.out, case.late, case.group, case.merged
        single = _oracle(merged)
        assert single.late > 100, single.late
        args = so_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                       "--output-topic", out, "--late-topic", late_topic, "-o", "json",
                       "--progress", "json", "--max-records-per-trigger", 150)
        p = h.sfcrime(sfcrime_bin, broker, *args, timeout=120)
        assert p.returncode == 0, "exit %d:\n%s" % (p.returncode, p.stderr[-3000:])
        s = summary(p.stderr)
        sizes = [r["numInputRows"] for r in h.progress_reports(p.stderr)]
        assert sum(sizes) == n, "the committed batches regrouped %d records, not %d: %r" % (
            sum(sizes), n, sizes)

        _, rep_parts = _repartition_tasks(
            kcat, broker, internal_topics(group)["repartition"], merged)
        index = {(m[0], m[1]): i for i, m in enumerate(merged)}
        replayed = replay_repartition(rep_parts, 3, delay_ms, size_ms)
        expected_late = sorted(index[src] for src in replayed)
        own = own_partition_lateness(merged, delay_ms, size_ms)
        assert set(expected_late) <= set(single.late_indices)
        assert set(expected_late) <= set(own)

        late_msgs = eo.kcat_read(kcat, broker, late_topic)
        committed = eo.committed_rows(kcat, broker, out)
        sc.figure("scale-out late records, one process: %d records, %d batches; late: %d by "
                  "the rule replayed over the committed repartition topic, %d within their own "
                  "partition, %d by the single-process oracle, %d committed to the late topic, "
                  "%d in the summary; %d rows committed" % (
                      n, len(sizes), len(expected_late), len(own), single.late, len(late_msgs),
                      s["late"], len(committed)))

        got_src = _late_sources(late_msgs)
        want_src = collections.Counter((merged[i][0], merged[i][1]) for i in expected_late)
        assert got_src == want_src, "late topic by source: " + h.counter_diff(got_src, want_src)
        got = collections.Counter((m["key"], m["payload"]) for m in late_msgs)
        want = collections.Counter((merged[i][2], merged[i][3]) for i in expected_late)
        assert got == want, "late topic: " + h.counter_diff(got, want)
        assert s["late"] == len(expected_late), s

        late_set = set(expected_late)
        on_time = [m for i, m in enumerate(merged) if i not in late_set]
        rows_res = so.run([m[3] for m in on_time], so.Params(window="30m",
                                                             watermark=GENEROUS))
        assert rows_res.late == 0
        _check_committed(committed, _expected(rows_res), "the committed output")


# --------------------------------------------------------------------------- g. late records, N

LATE_KILL_SEED = 7373


@pytest.mark.broker
def test_late_records_three_processes_one_killed(request, tmp_path, sfcrime_bin, broker, kcat):
    """3,000 synthetic records in arrival order in 6 partitions; three scale-out processes with
    the default 1h watermark, 200 records a batch paced by --trigger 1s, -e, --late-topic L; one
    (seeded) is killed with SIGKILL after 2-4 batch reports, the other two exit 0 within 120 s.
    Which records are late depends on how the processes' regroup batches interleaved in each
    repartition partition, but it is fixed by what was committed there (replay_repartition over
    the committed repartition topic, read with kcat). So, whoever held a
    task when, and whatever a restore brought back: the repartition topic holds every input
    record once (unchanged, keyed by group, one key one partition, each input partition's records
    in offset order); L holds exactly the replay's late records, each once, as they came in (key
    and value); O holds each (window, type) once, equal to the stream oracle's final rows over the
    other records. The single-process oracle's late count is printed for comparison."""
    sc.show_figures(request.config)
    n = 3000
    rng = random.Random(LATE_KILL_SEED)
    size_ms, delay_ms = so.parse_duration_ms("30m"), so.parse_duration_ms("1h")
    with _scenario(sfcrime_bin, broker, kcat, tmp_path, "late3",
                   n, LATE_KILL_SEED, 6, outputs=("out", "late")) as case:
        topic, out, late_topic, group, merged, runs = case.topic, case.out, case.late, case.group, case.merged, case.runs
        single = _oracle(merged)
        args = so_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                       "--output-topic", out, "--late-topic", late_topic, "-o", "json",
                       "--progress", "json", "--max-records-per-trigger", 200,
                       "--trigger", "1s", *FAST_HEARTBEAT)
        victim_index, reports_before_kill = rng.randrange(3), rng.randint(2, 4)
        delay = rng.uniform(0, 1.0)
        t0 = time.monotonic()
        runs.extend(_start(sfcrime_bin, broker, args, tmp_path, ("A", "B", "C")))
        victim = runs[victim_index]
        reached = victim.wait_until(lambda: len(victim.reports()) >= reports_before_kill,
                                    timeout=90, poll=0.01)
        assert reached and victim.alive(), (
            "%s ended (exit %s) before its kill:\n%s" % (
                victim.name, victim.proc.returncode, victim.diagnostics()))
        time.sleep(delay)
        kill_s = victim.seconds()
        assert victim.kill9(), "%s ended before the kill" % victim.name
        survivors = [r for r in runs if r is not victim]
        codes = [run.wait(120) for run in survivors]
        secs = time.monotonic() - t0
        for run, rc in zip(survivors, codes):
            assert rc == 0, "%s exit %d after %s was killed:\n%s" % (
                run.name, rc, victim.name, run.diagnostics())

        _, rep_parts = _repartition_tasks(
            kcat, broker, internal_topics(group)["repartition"], merged, one_process=False)
        replayed = replay_repartition(rep_parts, 6, delay_ms, size_ms)
        late_msgs = eo.kcat_read(kcat, broker, late_topic)
        committed = eo.committed_rows(kcat, broker, out)
        sc.figure("scale-out late records, three processes [seed %d]: %s killed after %.1f s; "
                  "late: %d by the rule replayed over the committed repartition topic, %d "
                  "committed to the late topic, %d by the single-process oracle; %d rows "
                  "committed; %.1f s; %s" % (
                      LATE_KILL_SEED, victim.name, kill_s, len(replayed), len(late_msgs),
                      single.late, len(committed), secs,
                      "; ".join(_describe(r) for r in survivors)))
        got_src = _late_sources(late_msgs)
        assert got_src == collections.Counter(replayed), (
            "late topic vs the rule replayed over the committed repartition topic: " +
            h.counter_diff(got_src, collections.Counter(replayed)))
        index = {(m[0], m[1]): i for i, m in enumerate(merged)}
        got = collections.Counter((m["key"], m["payload"]) for m in late_msgs)
        want = collections.Counter((merged[index[src]][2], merged[index[src]][3])
                                   for src in replayed)
        assert got == want, "late topic: " + h.counter_diff(got, want)
        on_time = [m[3] for m in merged if (m[0], m[1]) not in replayed]
        rows_res = so.run(on_time, so.Params(window="30m", watermark=GENEROUS))
        assert rows_res.late == 0
        _check_committed(committed, _expected(rows_res), "the committed output")


# --------------------------------------------------------------------------- h. watermarks travel

REAL_RECORDS = 199_999


@pytest.mark.broker
@pytest.mark.realdata
@pytest.mark.parametrize("processes", [2, 3])
def test_real_data_processes(processes, request, tmp_path, sfcrime_bin, broker, kcat):
    """The real data produced with --order event-time into 6 partitions; N scale-out processes of
    one group started together with the default 1h watermark, 2,000 records a batch, -e: every
    process exits 0 and reports 0 late; the committed rows (kcat, read_committed) hold no key
    twice, are all final and equal tests/oracle.py's batch answer; whatever a process printed is
    committed; the group's offsets are at the input's ends. (With the largest event time per
    aggregate task as its watermark, two processes here found about 97,700 records late and
    committed 43,148 of the 106,570 rows.)"""
    sc.show_figures(request.config)
    records = h.oracle.load_records(REAL_FILE)
    assert len(records) == REAL_RECORDS
    expected = h.oracle.aggregate(records, 1800)
    group = eo.new_group("so-real%d" % processes)
    runs = []
    try:
        with h.fresh_topic(sfcrime_bin, broker, 6, "so-real", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "so-real-out", kcat) as out:
            ends = eo.produce_real_data(sfcrime_bin, broker, kcat, topic, REAL_RECORDS,
                                        "scale-out, %d processes" % processes)
            args = so_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                           "--output-topic", out, "-o", "json", "--progress", "json",
                           "--max-records-per-trigger", 2000, *FAST_HEARTBEAT)
            t0 = time.monotonic()
            runs.extend(_start(sfcrime_bin, broker, args, tmp_path,
                               ["P%d" % i for i in range(processes)]))
            codes = [run.wait(300) for run in runs]
            secs = time.monotonic() - t0
            for run, rc in zip(runs, codes):
                assert rc == 0, "%s exit %d:\n%s" % (run.name, rc, run.diagnostics())
            sums = [summary(run.stderr(), run.name) for run in runs]
            committed = eo.committed_rows(kcat, broker, out, timeout=600)
            sc.figure("scale-out, %d processes over the real data, default watermark: %s; "
                      "%d rows committed; %.1f s" % (
                          processes, "; ".join(_describe(r) for r in runs), len(committed), secs))
            assert sum(s["regrouped"] for s in sums) >= REAL_RECORDS
            late = sum(s["late"] for s in sums)
            eo.check_soak_answer(committed, expected, runs, late,
                                 "the input's partitions are in event-time order", broker, group,
                                 topic, ends)
    finally:
        for run in runs:
            run.close()
        cleanup(sfcrime_bin, broker, group)


ORDER_SEED = 4242


@pytest.mark.broker
def test_out_of_order_processes_killed_and_joined(request, tmp_path, sfcrime_bin, broker, kcat):
    """3,000 records of a seeded out-of-order stream (tests/gen_stream.py without its far-behind
    records: each is at most 65 minutes behind the largest event time before it) in 6
    partitions; --watermark 2h, more than that disorder, so the stream oracle finds no record
    late. Processes A and B start together (150 records a batch paced by --trigger 1s, -e,
    --late-topic L); B is killed with SIGKILL after a seeded number of batch reports; C joins
    a little later. A and C exit 0; nothing is late (summaries, L empty); the committed rows are
    the stream oracle's, each (window, type) once."""
    sc.show_figures(request.config)
    n = 3000
    rng = random.Random(ORDER_SEED)
    data = _write(tmp_path / "in.ndjson", gen_stream.generate_lines(n, ORDER_SEED, invalid=False, far=False))
    group = eo.new_group("so-order")
    runs = []
    try:
        with h.fresh_topic(sfcrime_bin, broker, 6, "so-order", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "so-order-out", kcat) as out, \
                h.fresh_topic(sfcrime_bin, broker, 1, "so-order-late", kcat) as late_topic:
            _produce(sfcrime_bin, broker, topic, data, n)
            merged = _merged(kcat, broker, topic)
            res = _oracle(merged, watermark="2h")
            assert res.late == 0, res.late
            assert own_partition_lateness(merged, so.parse_duration_ms("2h"), so.parse_duration_ms("30m")) == []
            args = so_args(topic, group, "--from-beginning", "-e", "--window", "30m",
                           "--watermark", "2h", "--output-topic", out, "--late-topic", late_topic,
                           "-o", "json", "--progress", "json", "--max-records-per-trigger", 150,
                           "--trigger", "1s", *FAST_HEARTBEAT)
            t0 = time.monotonic()
            a, b = _start(sfcrime_bin, broker, args, tmp_path, ("A", "B"))
            runs.extend([a, b])
            reports = rng.randint(2, 4)
            reached = b.wait_until(lambda: len(b.reports()) >= reports, timeout=90, poll=0.01)
            assert reached and b.alive(), "B ended (exit %s) before its kill:\n%s" % (
                b.proc.returncode, b.diagnostics())
            time.sleep(rng.uniform(0, 1.0))
            kill_s = b.seconds()
            assert b.kill9(), "B ended before the kill"
            time.sleep(rng.uniform(0.5, 2.0))
            (c,) = _start(sfcrime_bin, broker, args, tmp_path, ("C",))
            runs.append(c)
            codes = [run.wait(120) for run in (a, c)]
            secs = time.monotonic() - t0
            for run, rc in zip((a, c), codes):
                assert rc == 0, "%s exit %d:\n%s" % (run.name, rc, run.diagnostics())
            late_msgs = eo.kcat_read(kcat, broker, late_topic)
            committed = eo.committed_rows(kcat, broker, out)
            sc.figure("scale-out, out-of-order stream [seed %d], watermark 2h: B killed after "
                      "%.1f s, C joined; %d late committed; %d rows committed; %.1f s; %s" % (
                          ORDER_SEED, kill_s, len(late_msgs), len(committed), secs,
                          "; ".join(_describe(r) for r in (a, c))))
            assert late_msgs == [], "late records: %r" % late_msgs[:3]
            assert sum(summary(run.stderr(), run.name)["late"] for run in (a, c)) == 0
            _check_committed(committed, _expected(res), "the committed output")
    finally:
        for run in runs:
            run.close()
        cleanup(sfcrime_bin, broker, group)


@pytest.mark.broker
def test_idle_partition_holds_nothing_back(tmp_path, sfcrime_bin, broker, kcat):
    """A live topic of 3 partitions whose partition 2 never gets a record: 600 records a minute
    apart (10 hours of event time, in order) written with kcat into partitions 0 and 1 only. One
    scale-out process, no -e, --max-idle 1s, default 1h watermark: the regroup task of the empty
    partition says it is idle, so the aggregate tasks' watermark follows partitions 0 and 1 and
    windows close while the process runs: within 60 s it prints every window ending at or
    before the last record's time minus 1 h (final rows, equal to tests/oracle.py's). Without
    idleness the empty partition, never heard from, would hold the watermark at -infinity and
    nothing would be printed until the end."""
    records = []
    for i in range(600):
        t = "2018-10-02T%02d:%02d:00.000" % (i // 60, i % 60)
        records.append({"crime_id": str(5000 + i), "original_crime_type_name": "T%d" % (i % 4),
                        "call_date_time": t, "disposition": "D%d" % (i % 3)})
    group = eo.new_group("so-idle")
    runs = []
    try:
        with h.fresh_topic(sfcrime_bin, broker, 3, "so-idle", kcat) as topic:
            for part, recs in ((0, records[0::2]), (1, records[1::2])):
                p = subprocess.run([kcat, "-b", broker, "-P", "-t", topic, "-p", str(part)],
                                   input="".join(json.dumps(r) + "\n" for r in recs), text=True,
                                   capture_output=True, timeout=60)
                assert p.returncode == 0, p.stderr
            args = so_args(topic, group, "--from-beginning", "--window", "30m", "--max-idle", "1s",
                           "-o", "json", "--progress", "json")
            (run,) = _start(sfcrime_bin, broker, args, tmp_path, ("A",))
            runs.append(run)
            # The last record is at 09:59; the watermark 08:59 closes every window ending by then.
            expected = [r for r in h.oracle.aggregate(records, 1800) if r["window_end"] <= "2018-10-02T08:59:00"]
            want = {(r["window_start"], r["original_crime_type_name"]): r["count"] for r in expected}
            got_all = run.wait_until(lambda: len(run.rows()) >= len(want), timeout=60, poll=0.2)
            assert got_all, "printed %d of %d rows:\n%s" % (len(run.rows()), len(want), run.diagnostics())
            rows = run.rows()
            assert all(r["final"] for r in rows)
            got = {(r["window_start"], r["original_crime_type_name"]): r["count"] for r in rows}
            assert got == want, so.diff_rows(rows, expected, BY)
    finally:
        for run in runs:
            run.close()
        cleanup(sfcrime_bin, broker, group)


@pytest.mark.broker
def test_late_warning_and_a_closed_stdout(tmp_path, sfcrime_bin, broker, kcat):
    """600 synthetic records newest first (tests/gen_synthetic.py) in 2 partitions, so each
    partition runs backwards: one scale-out process with -e ends with the late-records warning
    (more than 1 % late, the disorder, the newest record came first, a proposed --watermark), and
    that watermark gives no late record. A third run whose stdout reader is gone exits 0 quietly
    at its first row, as the other paths do."""
    records = h.gen_synthetic.generate(600, 77)
    data = _write(tmp_path / "in.ndjson", [json.dumps(r) for r in records])
    groups = [eo.new_group("so-warn"), eo.new_group("so-warn"), eo.new_group("so-warn")]
    try:
        with h.fresh_topic(sfcrime_bin, broker, 2, "so-warn", kcat) as topic, \
                h.fresh_topic(sfcrime_bin, broker, 1, "so-warn-out", kcat) as out:
            _produce(sfcrime_bin, broker, topic, data, len(records))
            p = h.sfcrime(sfcrime_bin, broker, *so_args(topic, groups[0], "--from-beginning", "-e",
                                                        "--output-topic", out, "-o", "json"), timeout=120)
            assert p.returncode == 0, p.stderr[-3000:]
            m = re.search(r"warning: (\d+) of 600 records \(.*the newest record came first.*--watermark (\w+)\)",
                          p.stderr)
            assert m and int(m.group(1)) == summary(p.stderr)["late"] > 6, p.stderr[-3000:]
            p = h.sfcrime(sfcrime_bin, broker, *so_args(topic, groups[1], "--from-beginning", "-e", "--watermark",
                                                        m.group(2), "--output-topic", out, "-o", "json"),
                          timeout=120)
            assert p.returncode == 0 and summary(p.stderr)["late"] == 0 and "warning" not in p.stderr, p.stderr
            cmd = [str(sfcrime_bin), "-b", broker, *map(str, so_args(topic, groups[2], "--from-beginning", "-e",
                                                                     "--output-topic", out, "-o", "json"))]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            proc.stdout.close()  # a reader that is gone before the first row (`| true`)
            err = proc.stderr.read()
            assert proc.wait(timeout=120) == 0, err[-3000:]
            assert "error" not in err, err[-3000:]
            # It stopped at the closed output (no summary), not after writing everything.
            assert "records regrouped" not in err, err[-3000:]
    finally:
        for g in groups:
            cleanup(sfcrime_bin, broker, g)
