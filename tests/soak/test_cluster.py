"""Issue 4 item 4: a three-broker KRaft cluster on localhost (replication factor 3,
min.insync.replicas 2), one broker killed during produce and another during aggregate: nothing
lost, nothing twice, results equal.

test_broker_killed_during_produce_and_aggregate[ci|soak]:
  1. scripts/kafka up --nodes 3 in a temporary folder on ports 19192..19197 (never the shared
     broker, $SFCRIME_TEST_BOOTSTRAP); a topic of 6 partitions with replication factor 3.
  2. `sfcrime produce --order event-time --rate R` of the input; once a quarter of it is
     acknowledged (the partitions' high watermarks, read with kcat) the active KRaft controller is
     killed with SIGKILL (scripts/kafka stop-node), and started again once 60% is acknowledged (or
     a few seconds later: 3 s in CI, 15 s in the long run). produce must deliver everything:
     exit 0, summary N read = N sent.
  3. kcat reads the topic back: the multiset of message keys equals the multiset of the input's
     crime_id values (the real data has 4 of them twice) and the values are the input records.
  4. Once every replica is in sync again, `sfcrime aggregate --exit-at-end --output json` in a
     consumer group, paced in micro-batches (--max-records-per-trigger, --trigger 1s) so that it
     runs for several seconds; once a quarter of the records is processed, a node that leads
     partitions of the topic (not the one killed before) is killed. The rows must equal
     tests/oracle.py's batch answer, with no late record.

Variants: `ci` (20,000 synthetic records from tests/gen_synthetic.py, under a minute plus the
cluster's start) always runs; `soak` (the real data, 199,999 records, when ../shared/data has it;
199,999 synthetic records otherwise) runs with SFCRIME_SOAK=1. The figures (records, seconds,
which node was killed when) are printed at the end of the run. Every test here is marked `soak`:

    SFCRIME_SOAK=1 python3 -m pytest -q tests/soak     # the CI run and the long run
    python3 -m pytest -q -m "not soak" tests           # everything but the cluster tests
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest
from conftest import RADIO_CODES, REAL_FILE, load_module

HERE = pathlib.Path(__file__).resolve().parent
TESTS_DIR = HERE.parent


sc = load_module("sfcrime_soak_cluster", HERE / "soak_cluster.py")
h = load_module("sfcrime_integration_helpers", TESTS_DIR / "integration" / "helpers.py")

SOAK = os.environ.get("SFCRIME_SOAK") == "1"
BASE_PORT = 19192
PARTITIONS = 6

pytestmark = pytest.mark.soak

# The CI run detects a dead broker in 4 s instead of Kafka's default 9 s (broker heartbeats every
# second), so its failovers take less of CI's time; the long run keeps Kafka's defaults.
FAST_FAILOVER = {"broker.session.timeout.ms": 4000, "broker.heartbeat.interval.ms": 1000}

VARIANTS = {
    # records, produce --rate, aggregate --max-records-per-trigger (one micro-batch a second)
    # restart_after: seconds from the kill to the restart (unless 60% is acknowledged before)
    "ci": dict(records=20_000, rate=2_000, per_trigger=4_000, restart_after=3, real=False,
               properties=FAST_FAILOVER),
    "soak": dict(records=199_999, rate=10_000, per_trigger=10_000, restart_after=15, real=True,
                 properties=None),
}


@pytest.fixture
def make_cluster(kcat, request):
    """make_cluster(properties) -> a running 3-node sc.Cluster on ports 19192..19197; every
    cluster made is stopped and its folder removed when the test ends, whatever its outcome."""
    sc.show_figures(request.config)
    made = []

    def make(properties=None):
        state = pathlib.Path(tempfile.gettempdir()) / ("sfcrime-soak-cluster-%d" % BASE_PORT)
        c = sc.Cluster(state, BASE_PORT, nodes=3, kcat=kcat, properties=properties)
        made.append(c)
        secs = c.up()
        sc.figure("cluster: 3 KRaft nodes (broker+controller) on %s up in %.1f s%s" % (
            c.bootstrap, secs, "; %r" % properties if properties else ""))
        return c

    try:
        yield make
    finally:
        for c in made:
            c.down()


def _input(variant, tmp_path):
    """(records, producer input: ('file', path) or ('xz', path), radio codes path, label)."""
    v = VARIANTS[variant]
    if v["real"] and REAL_FILE.exists():
        records = h.oracle.load_records(REAL_FILE)
        assert len(records) == v["records"]
        return records, ("xz", REAL_FILE), RADIO_CODES, "real data"
    out = tmp_path / ("synthetic-%d.json" % v["records"])
    codes = tmp_path / "radio-codes.json"
    subprocess.run([sys.executable, str(TESTS_DIR / "gen_synthetic.py"), "--records",
                    str(v["records"]), "--seed", "4242", "--format", "array", "--out", str(out),
                    "--radio-codes-out", str(codes)], check=True, timeout=300)
    records = h.oracle.load_records(out)
    assert len(records) == v["records"]
    return records, ("file", out), codes, "synthetic"


def _start_produce(sfcrime_bin, bootstrap, topic, source, rate):
    cmd = [str(sfcrime_bin), "-b", bootstrap, "produce", "--topic", topic, "--order", "event-time",
           "--rate", str(rate)]
    env = h.clean_env()
    kind, path = source
    if kind == "file":
        return subprocess.Popen(cmd + ["--file", str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env), None
    xz = subprocess.Popen(["xz", "-dc", str(path)], stdout=subprocess.PIPE)
    p = subprocess.Popen(cmd, stdin=xz.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    xz.stdout.close()
    return p, xz


class _Reader(threading.Thread):
    """Reads a pipe line by line into a list (so a child never blocks on a full pipe)."""

    def __init__(self, pipe):
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines = []

    def run(self):
        for line in self.pipe:
            self.lines.append(line)


def _leader_counts(cluster, topic):
    counts = cluster.leaders(topic)
    return ", ".join("node %d leads %d" % (n, c) for n, c in sorted(counts.items()))


@pytest.mark.parametrize("variant", [
    pytest.param("ci", id="ci"),
    pytest.param("soak", id="soak", marks=pytest.mark.skipif(
        not SOAK, reason="the long run: set SFCRIME_SOAK=1")),
])
def test_broker_killed_during_produce_and_aggregate(variant, tmp_path, sfcrime_bin, kcat,
                                                    make_cluster):
    v = VARIANTS[variant]
    records, source, codes, label = _input(variant, tmp_path)
    cluster = make_cluster(v["properties"])
    n = len(records)
    ids = h.multiset(r["crime_id"] for r in records)
    twice = sum(1 for c in ids.values() if c > 1)
    expected = h.oracle.aggregate(records, h.oracle.parse_window("30m"),
                                  h.oracle.load_radio_codes(codes))
    boot = cluster.bootstrap
    tag = "[%s]" % variant

    topic = "soak-" + uuid.uuid4().hex[:10]
    h.sfcrime(sfcrime_bin, boot, "topic", "create", topic, "--partitions", PARTITIONS,
              "--replication-factor", 3, timeout=60, check=True)
    h.wait_topic_ready(kcat, boot, topic, PARTITIONS, timeout=60)
    parts = cluster.partitions(topic)
    assert len(parts) == PARTITIONS and all(len(p["replicas"]) == 3 and len(p["isr"]) == 3
                                            for p in parts), parts

    # ------------------------------------------------------------------ produce, one node killed
    victim = cluster.quorum_leader()
    victim_role = "the active controller"
    if victim is None:
        victim, victim_role = parts[0]["leader"], "leader of partition 0"
    victim_leads = cluster.leaders(topic)[victim]
    kill_at, restart_at = n // 4, (n * 3) // 5
    events = []
    t0 = time.monotonic()
    prod, xz = _start_produce(sfcrime_bin, boot, topic, source, v["rate"])
    state, killed_t, restarter, restart_t, restarted_t = "running", None, None, None, None
    produce_s = None
    deadline = t0 + 600
    try:
        while True:
            now = time.monotonic()
            assert now < deadline, "produce did not finish within 600 s"
            done = prod.poll() is not None
            if done and produce_s is None:
                produce_s = now - t0
            hw = cluster.high_watermarks(topic, PARTITIONS)
            if state == "running" and hw is not None and hw >= kill_at and not done:
                cluster.stop_node(victim)
                killed_t = time.monotonic() - t0
                events.append("node %d (%s, leader of %d/%d partitions) killed at %.1f s with "
                              "%d of %d records acknowledged" % (victim, victim_role, victim_leads,
                                                                 PARTITIONS, killed_t, hw, n))
                state = "killed"
            elif state == "killed" and ((hw is not None and hw >= restart_at)
                                        or now - t0 - killed_t >= v["restart_after"] or done):
                restarter = cluster.start_node_async(victim)
                restart_t = time.monotonic() - t0
                restart_hw = "%d records acknowledged" % hw if hw is not None else (
                    "a partition without leader")
                if done:
                    restart_hw += ", produce already finished"
                state = "restarting"
            elif state == "restarting" and restarter.poll() is not None:
                out, err = restarter.communicate()
                assert restarter.returncode == 0, "start-node %d failed:\n%s" % (victim, err)
                restarted_t = time.monotonic() - t0
                events.append("node %d started again at %.1f s (%s), answering at %.1f s" % (
                    victim, restart_t, restart_hw, restarted_t))
                state = "restarted"
            if done and state in ("restarted", "running"):
                break
            time.sleep(0.2)
        out, err = prod.communicate(timeout=60)
    finally:
        if prod.poll() is None:
            prod.kill()
            prod.communicate()
        if xz is not None:
            if xz.poll() is None:
                xz.kill()
            xz.wait()
    assert killed_t is not None, (
        "produce finished before %d records were acknowledged: no broker was killed mid-run "
        "(lower --rate in VARIANTS)" % kill_at)
    sc.figure("produce%s: %d records (%s) to %s in %.1f s (--order event-time --rate %d); %s" % (
        tag, n, label, topic, produce_s, v["rate"], "; ".join(events)))
    assert prod.returncode == 0, "produce exited %d with a broker killed:\n%s" % (
        prod.returncode, err[-3000:])
    assert h.produce_summary(err) == (n, n, 0, 0), err[-3000:]

    # ------------------------------------------------------------------ read back with kcat
    isr_s = cluster.wait_full_isr(timeout=180)
    msgs = h.kcat_read(kcat, boot, topic, timeout=600)
    keys = h.multiset(m["key"] for m in msgs)
    assert len(msgs) == n, "kcat read %d messages, %d records were produced" % (len(msgs), n)
    assert keys == ids, "message keys differ from the input's crime_id values: " + h.counter_diff(
        keys, ids)
    got = h.multiset(h.canonical(json.loads(m["payload"])) for m in msgs)
    want = h.multiset(h.canonical(r) for r in records)
    assert got == want, "message values differ from the input records: " + h.counter_diff(got, want)
    sc.figure("kcat%s: %d messages; crime_id multiset equal to the input's (%d distinct, %d of "
              "them more than once); values equal; all replicas in sync %.1f s after produce" % (
                  tag, len(msgs), len(ids), twice, isr_s))

    # ------------------------------------------------------- aggregate, another node killed
    leads = cluster.leaders(topic)
    victim2 = max((node for node in leads if node != victim), key=lambda node: leads[node])
    victim2_leads = leads[victim2]
    group = "soak-agg-" + uuid.uuid4().hex[:8]
    cmd = [str(sfcrime_bin), "-b", boot, "aggregate", "--topic", topic, "--window", "30m",
           "--from-beginning", "--exit-at-end", "--group", group, "--output", "json",
           "--progress", "json", "--radio-codes", str(codes), "--max-records-per-trigger",
           str(v["per_trigger"]), "--trigger", "1s"]
    t1 = time.monotonic()
    agg = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=h.clean_env())
    rows_reader, err_reader = _Reader(agg.stdout), _Reader(agg.stderr)
    rows_reader.start()
    err_reader.start()
    killed2 = None
    try:
        while agg.poll() is None:
            assert time.monotonic() - t1 < 900, "aggregate did not finish within 900 s"
            reports = h.progress_reports("".join(err_reader.lines))
            processed = sum(r["numInputRows"] for r in reports)
            if killed2 is None and processed >= n // 4:
                cluster.stop_node(victim2)
                killed2 = (time.monotonic() - t1, processed)
            time.sleep(0.1)
        agg.wait(timeout=60)
    finally:
        if agg.poll() is None:
            agg.kill()
            agg.wait()
        rows_reader.join(timeout=60)
        err_reader.join(timeout=60)
    agg_s = time.monotonic() - t1
    stderr = "".join(err_reader.lines)
    reports = h.progress_reports(stderr)
    late = sum(r.get("numLateRecords", 0) for r in reports)
    processed = sum(r["numInputRows"] for r in reports)
    kill_text = ("node %d (leader of %d/%d partitions) killed at %.1f s with %d of %d records "
                 "processed" % (victim2, victim2_leads, PARTITIONS, killed2[0], killed2[1], n)
                 if killed2 else "aggregate finished before a quarter was processed: no kill")
    sc.figure("aggregate%s: %d records in %.1f s, %d micro-batches, %d late; %s" % (
        tag, processed, agg_s, len(reports), late, kill_text))
    assert agg.returncode == 0, "aggregate exited %d with a broker killed:\n%s" % (
        agg.returncode, "\n".join(l for l in stderr.splitlines() if '"batchId"' not in l)[-3000:])
    assert killed2 is not None, kill_text + " (lower --max-records-per-trigger in VARIANTS)"
    rows = h.parse_json_lines("".join(rows_reader.lines))
    h.assert_rows_match(rows, expected)
    assert late == 0, "%d records were late" % late
    sc.figure("aggregate%s: %d rows over %d windows equal tests/oracle.py's answer" % (
        tag, len(rows), len({r["window_start"] for r in expected})))


# --------------------------------------------------------------------------- quorum lost

# sfcrime bugs the tests here show. The hang is intermittent (about half of the runs so far), so
# its mark is not strict: remove it when the bug is fixed.
KNOWN_BUGS = {
    "commit-hang": (
        "intermittent: aggregate --group blocks for ever in the synchronous rd_kafka_commit() "
        "after a batch (TopicSource::commit_partitions, src/kafka/source.cpp; from "
        "commands/aggregate.cpp) when the group's coordinator is gone and no broker can take over: "
        "no message, no exit, and SIGTERM is not acted on; only a second signal ends it. Other "
        "runs exit 69 after ~40 s ('cannot commit the offsets of group ...')"),
}


@pytest.mark.skipif(not SOAK, reason="the long run: set SFCRIME_SOAK=1")
@pytest.mark.xfail(strict=False, reason=KNOWN_BUGS["commit-hang"])
def test_aggregate_fails_within_bounded_time_when_quorum_is_lost(tmp_path, sfcrime_bin, kcat,
                                                                 make_cluster):
    """Two of three brokers killed during `aggregate --group`: the two that lead every partition
    (node 3 was restarted before, so it leads none). Without the KRaft quorum no partition gets a
    new leader and offsets cannot be committed. sfcrime must not hang: it exits 69 with a message
    within a bounded time (here 120 s, with --timeout 10s), or at the latest soon after SIGTERM.
    Kafka's default timeouts, as in the runs by hand where the hang came most often."""
    cluster = make_cluster(None)
    boot = cluster.bootstrap
    data = tmp_path / "in.ndjson"
    subprocess.run([sys.executable, str(TESTS_DIR / "gen_synthetic.py"), "--records", "20000",
                    "--seed", "99", "--format", "ndjson", "--out", str(data)], check=True,
                   timeout=120)
    topic = "quorum-" + uuid.uuid4().hex[:8]
    h.sfcrime(sfcrime_bin, boot, "topic", "create", topic, "--partitions", PARTITIONS,
              "--replication-factor", 3, timeout=60, check=True)
    h.wait_topic_ready(kcat, boot, topic, PARTITIONS, timeout=60)
    h.sfcrime(sfcrime_bin, boot, "produce", "--topic", topic, "--file", data, "--order",
              "event-time", timeout=300, check=True)
    # The group offsets topic exists (a first group read), then node 3 restarts: it comes back as
    # a follower of every partition, and leads none (preferred leaders return after 5 minutes).
    h.sfcrime(sfcrime_bin, boot, "consume", "--topic", topic, "--group", "warm-up",
              "--max-messages", 1, "--from-beginning", timeout=120, check=True)
    cluster.stop_node(3)
    cluster.start_node(3)
    cluster.wait_full_isr(timeout=180)
    leads = cluster.leaders(topic)
    group = "quorum-" + uuid.uuid4().hex[:6]
    cmd = [str(sfcrime_bin), "-b", boot, "aggregate", "--topic", topic, "--from-beginning",
           "--exit-at-end", "--group", group, "--output", "json",
           "--progress", "json", "--max-records-per-trigger", "2000", "--trigger", "1s"]
    agg = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           env=h.clean_env())
    err = _Reader(agg.stderr)
    err.start()
    try:
        t0 = time.monotonic()
        while not h.progress_reports("".join(err.lines)):
            assert agg.poll() is None, "aggregate ended before its first batch:\n" + "".join(
                err.lines)
            assert time.monotonic() - t0 < 120, "no batch within 120 s"
            time.sleep(0.1)
        # Kill nodes 1 and 2, which lead every partition (the group's coordinator among them):
        # node 3, alone, leads nothing and cannot take over without the quorum.
        coordinator = sc.group_coordinator(cluster, group)
        for node in (1, 2):
            cluster.stop_node(node)
        killed = time.monotonic()
        sc.figure("quorum lost: nodes 1 and 2 killed after aggregate's first batch (leaders: %r; "
                  "group coordinator: node %s); node 3 alone" % (leads, coordinator))
        try:
            agg.wait(timeout=120)
        except subprocess.TimeoutExpired:
            agg.terminate()  # SIGTERM: must stop it within the documented bounded time
            try:
                agg.wait(timeout=30)
                outcome = "ran on for 120 s after the kills; stopped within 30 s of SIGTERM"
            except subprocess.TimeoutExpired:
                outcome = "ran on for 120 s after the kills and 30 s after SIGTERM"
            sc.figure("quorum lost: aggregate " + outcome)
            raise AssertionError("aggregate hangs with 2 of 3 brokers dead: " + outcome)
        lasted = time.monotonic() - killed
        stderr = "".join(err.lines)
        message = [l for l in stderr.splitlines() if l.startswith("sfcrime: error: ")]
        sc.figure("quorum lost: aggregate exited %d %.1f s after the kills: %r" % (
            agg.returncode, lasted, message[:1]))
        assert agg.returncode == 69, (agg.returncode, stderr[-2000:])
        assert message, stderr[-2000:]
    finally:
        if agg.poll() is None:
            agg.kill()
            agg.wait()
        err.join(timeout=30)
