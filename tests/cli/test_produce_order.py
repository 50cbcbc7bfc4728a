"""`sfcrime produce --order file|event-time` and `--speedup X`, run as a user runs them, against
the real broker, read back with kcat (an independent client).

Expected orders come from the inputs (a stable sort of the input by call_date_time, in Python),
never from sfcrime's own output.

  - test_event_time_order_*: shuffled synthetic input into a 1-partition topic comes out in
    ascending event time, ties in file order, the same multiset as the input; also with --limit,
    with rejected records (reported while reading, exit 65), and with an input over the 32 MiB
    in-memory run (sorted runs spilled to an unlinked temporary file that leaves nothing behind).
  - test_speedup_*: replay pacing (lower bounds only: never a tight upper bound on time), with
    --rate, in file order (everything after the first goes at once), and Ctrl-C while waiting.
  - test_bad_order_or_speedup_is_a_usage_error: exit 64 with a message naming the option.
  - test_real_data_event_time_order (realdata): all 199,999 records into 6 partitions; every
    partition in ascending event time (ties in file order); prints the seconds and peak RSS.
"""
import contextlib
import datetime
import json
import os
import random
import re
import signal
import subprocess
import time

import pytest

from conftest import BIN, REAL_FILE, run, integration_helpers


_h = integration_helpers()
canonical, clean_env, counter_diff, fresh_topic = _h.canonical, _h.clean_env, _h.counter_diff, _h.fresh_topic
gen_synthetic, multiset, oracle, produce_summary = _h.gen_synthetic, _h.multiset, _h.oracle, _h.produce_summary

EPOCH = datetime.datetime(1970, 1, 1)
RUN_BUDGET = 32 << 20  # bytes of record text per in-memory run (--help, man sfcrime-produce)


def event_ms(text):
    """call_date_time as milliseconds since the naive epoch (no zone), as sfcrime reads it."""
    return (datetime.datetime.fromisoformat(text) - EPOCH) // datetime.timedelta(milliseconds=1)


def by_event_time(records):
    """The order --order event-time must produce: ascending event time, ties in input order."""
    return sorted(records, key=lambda r: event_ms(r["call_date_time"]))  # sorted() is stable


def write_ndjson(path, records):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n")
    return path


@contextlib.contextmanager
def topic_with(broker, kcat, partitions, prefix="order"):
    with fresh_topic(BIN, broker, partitions=partitions, prefix=prefix, kcat=kcat) as name:
        yield name


def kcat_values(kcat, broker, topic, fmt="%s\\n", timeout=120):
    """The topic's message values (or `fmt` lines), from the beginning to the end, via kcat."""
    p = subprocess.run([kcat, "-C", "-b", broker, "-t", topic, "-o", "beginning", "-e", "-q",
                        "-f", fmt.replace("\\n", "\n").replace("\\t", "\t")],
                       capture_output=True, timeout=timeout)
    assert p.returncode == 0, "kcat exited %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace"))
    return [line for line in p.stdout.decode("utf-8").split("\n") if line]


def assert_same_sequence(actual_values, expected_records):
    """The read-back values, parsed, are exactly `expected_records` in that order."""
    actual = [canonical(json.loads(v)) for v in actual_values]
    expected = [canonical(r) for r in expected_records]
    diff = counter_diff(multiset(actual), multiset(expected))
    assert not diff, "the topic does not hold the input's records: " + diff
    if actual != expected:
        i = next(i for i, (a, e) in enumerate(zip(actual, expected)) if a != e)
        raise AssertionError("order differs at message %d of %d:\n  got      %s\n  expected %s" % (
            i, len(actual), actual[i][:300], expected[i][:300]))


def produce(broker, *args, **kw):
    return run("-b", broker, "produce", *args, **kw)


def record(i, when, **extra):
    """A small synthetic call for service (invented values) with call_date_time `when`."""
    date, _, tm = when.partition("T")
    r = {"crime_id": "55%07d" % i, "original_crime_type_name": "Imaginary Kite %d" % (i % 3),
         "report_date": date, "call_date": date, "offense_date": date, "call_time": tm[:5],
         "call_date_time": when, "disposition": "QRT", "address": "%d Nowhere St" % i,
         "city": "San Francisco", "state": "CA", "agency_id": "1", "address_type": "Premise Address",
         "common_location": ""}
    r.update(extra)
    return r


def seconds_after(base, s):
    return (datetime.datetime.fromisoformat(base) + datetime.timedelta(seconds=s)).isoformat()


# --------------------------------------------------------------------------------------------
# order


@pytest.mark.broker
def test_event_time_order_shuffled_synthetic(sfcrime_bin, broker, kcat, tmp_path):
    records = gen_synthetic.generate(3000, 17)
    random.Random(5).shuffle(records)
    times = [event_ms(r["call_date_time"]) for r in records]
    assert len(set(times)) < len(times) - 100, "the input should hold many equal event times"
    assert min(times) < event_ms("2001-01-01T00:00:00"), "the generator's old, late events"
    f = write_ndjson(tmp_path / "shuffled.ndjson", records)
    with topic_with(broker, kcat, 1) as topic:
        p = produce(broker, "--topic", topic, "--file", f, "--order", "event-time", timeout=120)
        assert p.returncode == 0, p.stderr
        assert produce_summary(p.stderr) == (3000, 3000, 0, 0), p.stderr
        assert_same_sequence(kcat_values(kcat, broker, topic), by_event_time(records))


@pytest.mark.broker
def test_event_time_order_ties_keep_file_order(sfcrime_bin, broker, kcat, tmp_path):
    # Pretty-printed array, newest first as the real file, with runs of equal times.
    when = ["2018-11-04T01:30:00", "2018-11-04T01:30:00.000", "2018-11-04T01:29:59.999",
            "2018-11-04 01:30:00", "1969-12-31T23:59:59", "2018-11-04T01:30:00", "1969-12-31T23:59:59"]
    records = [record(i, w) for i, w in enumerate(when)]
    f = tmp_path / "ties.json"
    f.write_text(json.dumps(records, indent=4), encoding="utf-8")
    with topic_with(broker, kcat, 1) as topic:
        p = produce(broker, "--topic", topic, "--file", f, "--order", "event-time", timeout=60)
        assert p.returncode == 0, p.stderr
        got = [json.loads(v)["crime_id"] for v in kcat_values(kcat, broker, topic)]
        assert got == ["55%07d" % i for i in (4, 6, 2, 0, 1, 3, 5)]


@pytest.mark.broker
def test_file_order_is_the_default(sfcrime_bin, broker, kcat, tmp_path):
    records = gen_synthetic.generate(200, 3)  # newest first
    f = write_ndjson(tmp_path / "newest-first.ndjson", records)
    with topic_with(broker, kcat, 1) as topic:
        p = produce(broker, "--topic", topic, "--file", f, timeout=60)
        assert p.returncode == 0, p.stderr
        p = produce(broker, "--topic", topic, "--file", f, "--order", "file", timeout=60)
        assert p.returncode == 0, p.stderr
        assert_same_sequence(kcat_values(kcat, broker, topic), records + records)


@pytest.mark.broker
def test_event_time_order_with_limit_sorts_the_records_read(sfcrime_bin, broker, kcat, tmp_path):
    records = gen_synthetic.generate(100, 8)  # newest first: --limit 30 takes the newest 30
    f = write_ndjson(tmp_path / "limit.ndjson", records)
    with topic_with(broker, kcat, 1) as topic:
        p = produce(broker, "--topic", topic, "--file", f, "--order", "event-time", "--limit", "30",
                    timeout=60)
        assert p.returncode == 0, p.stderr
        assert produce_summary(p.stderr) == (30, 30, 0, 0), p.stderr
        assert_same_sequence(kcat_values(kcat, broker, topic), by_event_time(records[:30]))


@pytest.mark.broker
def test_event_time_order_reports_rejected_records(sfcrime_bin, broker, kcat, tmp_path):
    good = {1: "2018-10-02T10:00:00", 3: "2018-10-02T08:00:00", 6: "2018-10-02T09:00:00"}
    lines = {
        1: json.dumps(record(1, good[1])),
        2: "[1, 2]",
        3: json.dumps(record(3, good[3])),
        4: json.dumps({k: v for k, v in record(4, "2018-10-02T07:00:00").items() if k != "call_date_time"}),
        5: json.dumps(record(5, "2018-13-01T00:00:00")),
        6: json.dumps(record(6, good[6])),
        7: json.dumps(record(7, "2018-10-02T06:00:00", call_date_time=5)),
    }
    f = tmp_path / "some-bad.ndjson"
    f.write_text("".join(lines[i] + "\n" for i in sorted(lines)), encoding="utf-8")
    with topic_with(broker, kcat, 1) as topic:
        p = produce(broker, "--topic", topic, "--file", f, "--order", "event-time", timeout=60)
        assert p.returncode == 65, p.stderr
        assert produce_summary(p.stderr) == (7, 3, 4, 0), p.stderr
        for n, why in ((2, "not a JSON object"), (4, "missing field 'call_date_time'"),
                       (5, "month out of range"), (7, "not a string")):
            assert re.search(r"record %d \(line %d\) rejected: .*%s" % (n, n, re.escape(why)), p.stderr), p.stderr
        # Reported while reading: before the summary line.
        assert p.stderr.index("record 7 (line 7) rejected") < p.stderr.index("sfcrime produce:")
        got = [json.loads(v)["crime_id"] for v in kcat_values(kcat, broker, topic)]
        assert got == ["55%07d" % i for i in (3, 6, 1)]


@pytest.mark.broker
def test_event_time_order_input_over_one_run(sfcrime_bin, broker, kcat, tmp_path):
    """An input over the 32 MiB in-memory run: sorted runs are spilled to a temporary file in
    $TMPDIR, which is unlinked at once (the directory stays empty), and merged while sending."""
    records = gen_synthetic.generate(45000, 29)
    rng = random.Random(11)
    rng.shuffle(records)
    for i, r in enumerate(records):
        r["padding"] = "%06d" % i + "x" * 600  # ~1 KB a record
    f = write_ndjson(tmp_path / "big.ndjson", records)
    assert f.stat().st_size > RUN_BUDGET * 1.25
    tmpdir = tmp_path / "sort-tmp"
    tmpdir.mkdir()
    with topic_with(broker, kcat, 1) as topic:
        t0 = time.monotonic()
        p = produce(broker, "-v", "--topic", topic, "--file", f, "--order", "event-time", timeout=120,
                    env={"TMPDIR": str(tmpdir)})
        secs = time.monotonic() - t0
        assert p.returncode == 0, p.stderr[-3000:]
        assert produce_summary(p.stderr) == (45000, 45000, 0, 0)
        m = re.search(r"sorted 45000 records by event time in (\d+) runs, \d+ MB spilled to '([^']*)'", p.stderr)
        assert m, "-v should say how the records were sorted:\n" + p.stderr[-3000:]
        assert int(m.group(1)) >= 2 and m.group(2) == str(tmpdir)
        assert list(tmpdir.iterdir()) == [], "temporary files left behind"
        assert_same_sequence(kcat_values(kcat, broker, topic), by_event_time(records))
        print("\n45,000 records (%.1f MB) with --order event-time: %s runs, produce took %.1f s" % (
            f.stat().st_size / 1e6, m.group(1), secs))


@pytest.mark.broker
def test_unusable_tmpdir_is_an_io_error(sfcrime_bin, broker, kcat, tmp_path):
    """Over one run with TMPDIR pointing nowhere: exit 74 naming the directory; within one run no
    file is needed, so the same TMPDIR does not matter."""
    records = gen_synthetic.generate(200, 4)
    small = write_ndjson(tmp_path / "small.ndjson", records)
    missing = tmp_path / "no-such-dir"
    with topic_with(broker, kcat, 1) as topic:
        p = produce(broker, "--topic", topic, "--file", small, "--order", "event-time", timeout=60,
                    env={"TMPDIR": str(missing)})
        assert p.returncode == 0, p.stderr
        big = tmp_path / "big.ndjson"
        with open(big, "w", encoding="utf-8") as out:
            line = json.dumps(record(1, "2018-10-02T10:00:00", padding="y" * 100_000)) + "\n"
            out.write(line * (RUN_BUDGET // len(line) + 20))
        p = produce(broker, "--topic", topic, "--file", big, "--order", "event-time", timeout=120,
                    env={"TMPDIR": str(missing)})
        assert p.returncode == 74, p.stderr[-2000:]
        assert "'%s'" % missing in p.stderr and "TMPDIR" in p.stderr, p.stderr[-2000:]
        assert "sfcrime produce:" in p.stderr  # the summary line is still printed


# --------------------------------------------------------------------------------------------
# speedup (lower bounds only: a loaded machine may be slower, never faster)


def five_records(tmp_path, step_seconds, base="2018-10-02T09:00:00"):
    """Five records `step_seconds` apart in event time, newest first (as the real file)."""
    records = [record(i, seconds_after(base, step_seconds * i)) for i in range(5)][::-1]
    return records, write_ndjson(tmp_path / "five.ndjson", records)


@pytest.mark.broker
def test_speedup_replays_event_time(sfcrime_bin, broker, kcat, tmp_path):
    records, f = five_records(tmp_path, 1)  # 4 s of event time
    with topic_with(broker, kcat, 1) as topic:
        t0 = time.monotonic()
        p = produce(broker, "--topic", topic, "--file", f, "--order", "event-time", "--speedup", "2",
                    timeout=60)
        secs = time.monotonic() - t0
        assert p.returncode == 0, p.stderr
        assert secs >= 1.8, "4 s of event time at --speedup 2 took only %.2f s" % secs
        assert_same_sequence(kcat_values(kcat, broker, topic), by_event_time(records))


@pytest.mark.broker
def test_speedup_3600_an_hour_a_second(sfcrime_bin, broker, kcat, tmp_path):
    records, f = five_records(tmp_path, 1800)  # 2 h of event time -> 2 s
    with topic_with(broker, kcat, 1) as topic:
        t0 = time.monotonic()
        p = produce(broker, "--topic", topic, "--file", f, "--order", "event-time", "--speedup", "3600",
                    timeout=60)
        assert p.returncode == 0, p.stderr
        assert time.monotonic() - t0 >= 1.8


@pytest.mark.broker
def test_speedup_fractional(sfcrime_bin, broker, kcat, tmp_path):
    records, f = five_records(tmp_path, 0.25)  # 1 s of event time at 0.5 -> 2 s
    with topic_with(broker, kcat, 1) as topic:
        t0 = time.monotonic()
        p = produce(broker, "--topic", topic, "--file", f, "--order", "event-time", "--speedup", "0.5",
                    timeout=60)
        assert p.returncode == 0, p.stderr
        assert time.monotonic() - t0 >= 1.8


@pytest.mark.broker
def test_speedup_and_rate_both_apply(sfcrime_bin, broker, kcat, tmp_path):
    records = [record(i, "2018-10-02T09:00:00") for i in range(5)]  # one event time
    f = write_ndjson(tmp_path / "same-time.ndjson", records)
    with topic_with(broker, kcat, 1) as topic:
        t0 = time.monotonic()
        p = produce(broker, "--topic", topic, "--file", f, "--order", "event-time", "--speedup", "1000",
                    "--rate", "2", timeout=60)
        assert p.returncode == 0, p.stderr
        assert time.monotonic() - t0 >= 1.8, "--rate 2 should space 5 records over 2 s"
        assert_same_sequence(kcat_values(kcat, broker, topic), records)


@pytest.mark.broker
def test_speedup_in_file_order_sends_the_rest_at_once(sfcrime_bin, broker, kcat, tmp_path):
    # Newest first over an hour of event time at --speedup 1: every record after the first is
    # already due, so this ends in seconds (replaying it would take an hour).
    records, f = five_records(tmp_path, 900)
    with topic_with(broker, kcat, 1) as topic:
        p = produce(broker, "--topic", topic, "--file", f, "--speedup", "1", timeout=60)
        assert p.returncode == 0, p.stderr
        assert_same_sequence(kcat_values(kcat, broker, topic), records)


@pytest.mark.broker
def test_speedup_wait_honours_ctrl_c(sfcrime_bin, broker, kcat, tmp_path):
    records, f = five_records(tmp_path, 1000)  # the second record is due 1000 s after the first
    with topic_with(broker, kcat, 1) as topic:
        proc = subprocess.Popen([str(BIN), "-b", broker, "produce", "--topic", topic, "--file", str(f),
                                 "--order", "event-time", "--speedup", "1"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        try:
            time.sleep(2)
            assert proc.poll() is None, proc.communicate()[1].decode()
            proc.send_signal(signal.SIGINT)
            t0 = time.monotonic()
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        err = err.decode("utf-8", "replace")
        assert proc.returncode == 130, err
        assert time.monotonic() - t0 < 15  # not 1000 s
        assert "(interrupted)" in err
        got = [json.loads(v)["crime_id"] for v in kcat_values(kcat, broker, topic)]
        assert got in ([], [records[-1]["crime_id"]])  # at most the earliest record


# --------------------------------------------------------------------------------------------
# usage errors (no broker needed: checked before connecting)


BAD_VALUES = [
    (["--order", "foo"], ["--order", "'foo'", "event-time"]),
    (["--order", "event"], ["--order", "did you mean 'event-time'"]),
    (["--order", ""], ["--order"]),
    (["--speedup", "0"], ["--speedup", "'0'", "positive"]),
    (["--speedup", "-1"], ["--speedup", "'-1'", "positive"]),
    (["--speedup=-0.5"], ["--speedup", "'-0.5'", "positive"]),
    (["--speedup", "abc"], ["--speedup", "'abc'", "positive"]),
    (["--speedup", "nan"], ["--speedup", "'nan'"]),
    (["--speedup", "inf"], ["--speedup", "'inf'"]),
    (["--speedup", "3600x"], ["--speedup", "'3600x'"]),
    (["--speedup"], ["--speedup"]),
]


@pytest.mark.parametrize("args,words", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_order_or_speedup_is_a_usage_error(sfcrime_bin, tmp_path, args, words):
    f = write_ndjson(tmp_path / "one.ndjson", [record(1, "2018-10-02T09:00:00")])
    t0 = time.monotonic()
    p = run("-b", "localhost:1", "--timeout", "20s", "produce", "--topic", "t", "--file", f, *args, timeout=60)
    assert p.returncode == 64, p.stderr
    assert p.stderr.startswith("sfcrime: error: "), p.stderr
    for w in words:
        assert w in p.stderr, p.stderr
    assert time.monotonic() - t0 < 15, "a usage error should not wait for the broker (--timeout 20s)"


def test_help_mentions_order_and_speedup(sfcrime_bin):
    p = run("produce", "--help", timeout=20)
    assert p.returncode == 0
    for w in ("--order", "file|event-time", "--speedup", "32 MiB", "TMPDIR", "newest first"):
        assert w in p.stdout, w


# --------------------------------------------------------------------------------------------
# the real data


def _peak_rss_kb(time_v_stderr):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_v_stderr)
    return int(m.group(1)) if m else None


@pytest.mark.realdata
@pytest.mark.broker
def test_real_data_event_time_order(sfcrime_bin, broker, kcat):
    records = oracle.load_records(REAL_FILE)
    assert len(records) == 199_999
    gnu_time = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    with topic_with(broker, kcat, 6, prefix="order-real") as topic:
        cmd = ([gnu_time, "-v"] if gnu_time else []) + [
            str(BIN), "-b", broker, "produce", "--topic", topic, "--order", "event-time"]
        xz = subprocess.Popen(["xz", "-dc", str(REAL_FILE)], stdout=subprocess.PIPE)
        t0 = time.monotonic()
        try:
            sf = subprocess.run(cmd, stdin=xz.stdout, capture_output=True, timeout=300, env=clean_env())
        finally:
            xz.stdout.close()
            xz.wait(timeout=60)
        secs = time.monotonic() - t0
        err = sf.stderr.decode("utf-8", "replace")
        assert sf.returncode == 0, err[-3000:]
        assert produce_summary(err) == (199_999, 199_999, 0, 0), err[-3000:]
        rss_kb = _peak_rss_kb(err) if gnu_time else None
        if rss_kb is None:
            import resource
            rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over all children
        print("\nreal data, --order event-time, 6 partitions: %.2f s wall, peak RSS %.1f MB; %s" % (
            secs, rss_kb / 1024, re.search(r"sfcrime produce: .*", err).group(0)))

        lines = kcat_values(kcat, broker, topic, fmt="%p\\t%s\\n", timeout=300)
        per_partition = {}
        for line in lines:
            part, _, value = line.partition("\t")
            per_partition.setdefault(int(part), []).append(json.loads(value))
        assert len(per_partition) == 6, sorted(per_partition)
        got_ids = multiset(r["crime_id"] for rs in per_partition.values() for r in rs)
        want_ids = multiset(r["crime_id"] for r in records)
        assert not counter_diff(got_ids, want_ids), counter_diff(got_ids, want_ids)
        # Every partition is in ascending event time, and equals the stable event-time sort of the
        # file's records that went to it (a key always goes to the same partition).
        partition_of = {r["crime_id"]: p for p, rs in per_partition.items() for r in rs}
        ordered = by_event_time(records)
        for p, rs in sorted(per_partition.items()):
            times = [event_ms(r["call_date_time"]) for r in rs]
            bad = next((i for i in range(1, len(times)) if times[i] < times[i - 1]), None)
            assert bad is None, "partition %d goes back in time at offset %d: %s after %s" % (
                p, bad, rs[bad]["call_date_time"], rs[bad - 1]["call_date_time"])
            want = [canonical(r) for r in ordered if partition_of[r["crime_id"]] == p]
            assert [canonical(r) for r in rs] == want, "partition %d: ties not in file order" % p
