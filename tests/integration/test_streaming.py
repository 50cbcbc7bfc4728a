"""The streaming engine of `sfcrime aggregate` through a real broker, against docs/streaming.md.

Expected figures never come from sfcrime: the topics are read back with kcat (an independent
client), merged in event-time order by tests/stream_oracle.py's merge_partitions (the contract's
"Input order" for a complete static topic) and replayed by the stream oracle; tests/oracle.py
(the batch oracle) gives the answer when nothing is late.

  - test_real_data_event_time_order: the real extract produced with `--order event-time` into 6
    partitions: zero late records with watermarks 1s and 1h, rows equal the batch oracle's.
  - test_real_data_file_order_late_records: the real extract in file order (newest first),
    watermark 1h: the late count, the records on --late-topic (key, value, headers) and the rows
    equal the oracle's.
  - test_output_topic: --output-topic messages (read by kcat) are the stdout rows, keyed by the
    compact JSON array [window_start, keys...]; nothing on stdout without --output.
  - test_synthetic_partitions_update_mode: generated streams with invalid messages written by kcat
    into 4 partitions, hopping windows, update mode: final rows, late/dropped/invalid counts,
    late records' source partitions and offsets, the state bound of every progress report.
  - test_file_source_late_topic: --file with --late-topic.
  - test_watch_it_live: `produce --order event-time --speedup 36000` while `aggregate
    --output-mode update` runs; stopped with SIGINT once it caught up (exit 130).
  - test_filtered_records_merge_by_their_own_time: a filtered record takes part in the
    event-time merge of the partitions by its own time (only a record without a valid event time
    counts as the smallest), so it can hold back a partition's older record, which is then late.
  - test_group_rebalance_does_not_count_twice: a second `aggregate` joining the group takes a
    partition from the first; what the first processed of it is committed on revocation, so the
    two together count every record once.

`pytest -s` shows the figures of the real-data and live tests.
"""
import collections
import functools
import json
import signal
import subprocess
import threading
import time
import uuid

import pytest
from conftest import RADIO_CODES, REAL_FILE, integration_helpers


_h = integration_helpers()
(TESTS_DIR, assert_rows_match, clean_env, counter_diff, fresh_topic, gen_stream,
 kcat_partitions, kcat_produce_lines, kcat_read, multiset, oracle, parse_json_lines,
 produce_summary, progress_reports, sfcrime, sfcrime_from_xz, so, wait_topic_ready) = (
    _h.TESTS_DIR, _h.assert_rows_match, _h.clean_env, _h.counter_diff,
    _h.fresh_topic, _h.gen_stream, _h.kcat_partitions, _h.kcat_produce_lines, _h.kcat_read,
    _h.multiset, _h.oracle, _h.parse_json_lines, _h.produce_summary, _h.progress_reports,
    _h.sfcrime, _h.sfcrime_from_xz, _h.stream_oracle, _h.wait_topic_ready)

REAL_RECORDS = 199_999  # from shared/data/README.md
LATE_HEADERS = ("sfcrime.late.reason", "sfcrime.late.watermark", "sfcrime.source.topic",
                "sfcrime.source.partition", "sfcrime.source.offset")


@functools.lru_cache(maxsize=1)
def real_records():
    records = oracle.load_records(REAL_FILE)
    assert len(records) == REAL_RECORDS
    return records


def totals(reports, key):
    if key == "numRowsDroppedByWatermark":
        return sum(r["stateOperators"][0][key] for r in reports)
    return sum(r[key] for r in reports)


def merged_order(parts):
    """[(partition, offset, key, payload)] of a topic read back by kcat, in the contract's
    processing order for a complete static topic."""
    order = so.merge_partitions({p: [m["payload"] for m in msgs] for p, msgs in parts.items()})
    return [(p, parts[p][i]["offset"], parts[p][i]["key"], payload) for p, i, payload in order]


def check_state_bound(reports, result, mode):
    """numRowsTotal of every report is at most the groups of the windows between the report's
    watermark and the largest event time seen so far (append and update modes)."""
    if mode == "complete":
        return
    running_max = so.NEG_INF
    for r in reports:
        if "max" in r["eventTime"]:
            running_max = max(running_max, so.parse_naive(r["eventTime"]["max"]))
        wm = so.parse_naive(r["eventTime"]["watermark"])
        bound = so.state_bound(result, wm, running_max)
        total = r["stateOperators"][0]["numRowsTotal"]
        assert total <= bound, "batch %d holds %d rows, more than the open windows' %d groups" % (
            r["batchId"], total, bound)


def check_late_topic(kcat, broker, late_topic, source_topic, merged, result):
    """The late topic holds exactly the oracle's late records: same key and value, headers naming
    the source partition and offset and the watermark that closed their windows."""
    expected = {}
    for i, wm in zip(result.late_indices, result.late_watermarks):
        p, off, key, payload = merged[i]
        expected[(p, off)] = (key, payload, wm)
    msgs = kcat_read(kcat, broker, late_topic, timeout=300)
    got = multiset((m["key"], m["payload"]) for m in msgs)
    want = multiset((k, v) for k, v, _ in expected.values())
    assert got == want, "late topic: " + counter_diff(got, want)
    seen = set()
    for m in msgs:
        h = dict(m["headers"])
        missing = [x for x in LATE_HEADERS if x not in h]
        assert not missing, "late message without headers %s: %r" % (missing, m["headers"])
        assert h["sfcrime.source.topic"] == source_topic
        assert h["sfcrime.late.reason"].strip()
        po = (int(h["sfcrime.source.partition"]), int(h["sfcrime.source.offset"]))
        assert po in expected, "late message from %r, which the oracle finds on time" % (po,)
        assert po not in seen, "two late messages from %r" % (po,)
        seen.add(po)
        key, payload, wm = expected[po]
        assert (m["key"], m["payload"]) == (key, payload), po
        assert so.parse_naive(h["sfcrime.late.watermark"]) == wm, (
            "late record %r: watermark header %r, oracle %s" % (po, h["sfcrime.late.watermark"],
                                                                so.fmt_watermark(wm)))
    assert len(seen) == len(expected)


# --------------------------------------------------------------------------- real data

@pytest.mark.broker
@pytest.mark.realdata
def test_real_data_event_time_order(sfcrime_bin, broker, kcat):
    records = real_records()
    n = len(records)
    radio = oracle.load_radio_codes(RADIO_CODES)
    expected = oracle.aggregate(records, 1800, radio)
    windows = len({r["window_start"] for r in expected})
    with fresh_topic(sfcrime_bin, broker, partitions=6, prefix="stream-real-sorted",
                     kcat=kcat) as topic:
        start = time.monotonic()
        rc, _, err, xz_rc = sfcrime_from_xz(sfcrime_bin, broker, REAL_FILE, "produce", "--topic",
                                            topic, "--order", "event-time", timeout=600)
        produce_s = time.monotonic() - start
        assert rc == 0 and xz_rc == 0, "produce --order event-time exited %d:\n%s" % (rc, err)
        assert produce_summary(err) == (n, n, 0, 0), err

        parts = kcat_partitions(kcat, broker, topic, timeout=300)
        assert sum(len(m) for m in parts.values()) == n
        for p, msgs in parts.items():
            times = [so.event_time(m["payload"]) for m in msgs]
            assert times == sorted(times), "partition %d is not in event-time order" % p
        merged = [payload for _, _, _, payload in merged_order(parts)]

        for watermark in ("1s", "1h"):
            res = so.run(merged, so.Params(watermark=watermark, radio_codes=radio))
            assert res.late == 0 and res.rows == expected  # the oracles agree
            start = time.monotonic()
            p = sfcrime(sfcrime_bin, broker, "aggregate", "--topic", topic, "--window", "30m",
                        "--watermark", watermark, "--exit-at-end", "--from-beginning",
                        "--output", "json", "--progress", "json", "--radio-codes", RADIO_CODES,
                        timeout=600)
            secs = time.monotonic() - start
            assert p.returncode == 0, "aggregate exited %d:\n%s" % (p.returncode, p.stderr[-3000:])
            rows = parse_json_lines(p.stdout)
            reports = progress_reports(p.stderr)
            late = totals(reports, "numLateRecords")
            print("\nreal data, event-time order, 6 partitions, watermark %s: %d records, "
                  "%d windows, %d rows, %d batches, %d late; produce %.1f s, aggregate %.1f s" % (
                      watermark, totals(reports, "numInputRows"), windows, len(rows),
                      len(reports), late, produce_s, secs))
            assert totals(reports, "numInputRows") == n
            assert late == 0 and totals(reports, "numRowsDroppedByWatermark") == 0
            assert all(r["final"] for r in rows)
            assert_rows_match(rows, expected)
            check_state_bound(reports, res, "append")


@pytest.mark.broker
@pytest.mark.realdata
def test_real_data_file_order_late_records(sfcrime_bin, broker, kcat):
    records = real_records()
    n = len(records)
    radio = oracle.load_radio_codes(RADIO_CODES)
    with fresh_topic(sfcrime_bin, broker, partitions=6, prefix="stream-real-file",
                     kcat=kcat) as topic, \
            fresh_topic(sfcrime_bin, broker, partitions=3, prefix="stream-real-late",
                        kcat=kcat) as late_topic:
        rc, _, err, xz_rc = sfcrime_from_xz(sfcrime_bin, broker, REAL_FILE, "produce", "--topic",
                                            topic, timeout=600)
        assert rc == 0 and xz_rc == 0, err
        assert produce_summary(err) == (n, n, 0, 0), err
        parts = kcat_partitions(kcat, broker, topic, timeout=300)
        merged = merged_order(parts)
        assert len(merged) == n
        res = so.run([m[3] for m in merged], so.Params(watermark="1h", radio_codes=radio))
        assert res.late > n // 2 and res.invalid == 0  # newest first: most records are late

        start = time.monotonic()
        p = sfcrime(sfcrime_bin, broker, "aggregate", "--topic", topic, "--window", "30m",
                    "--watermark", "1h", "--exit-at-end", "--from-beginning", "--output", "json",
                    "--progress", "json", "--late-topic", late_topic, "--radio-codes",
                    RADIO_CODES, timeout=600)
        secs = time.monotonic() - start
        assert p.returncode == 0, "aggregate exited %d:\n%s" % (p.returncode, p.stderr[-3000:])
        rows = parse_json_lines(p.stdout)
        reports = progress_reports(p.stderr)
        late = totals(reports, "numLateRecords")
        print("\nreal data, file order (newest first), 6 partitions, watermark 1h: %d records, "
              "%d late (oracle %d), %d on-time windows, %d rows, %d batches, aggregate %.1f s" % (
                  totals(reports, "numInputRows"), late, res.late, len(res.windows), len(rows),
                  len(reports), secs))
        assert totals(reports, "numInputRows") == n
        assert late == res.late
        assert totals(reports, "numRowsDroppedByWatermark") == res.dropped
        assert_rows_match(rows, res.rows)
        check_state_bound(reports, res, "append")
        start = time.monotonic()
        check_late_topic(kcat, broker, late_topic, topic, merged, res)
        print("late topic checked: %d messages, %.1f s" % (res.late, time.monotonic() - start))


# --------------------------------------------------------------------------- synthetic data

def _write(path, lines):
    path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    return path


def _compact_forms(value):
    return {json.dumps(value, separators=(",", ":"), ensure_ascii=False),
            json.dumps(value, separators=(",", ":"), ensure_ascii=True)}


@pytest.mark.broker
def test_output_topic(tmp_path, sfcrime_bin, broker, kcat, topic):
    wait_topic_ready(kcat, broker, topic, 3)
    lines = gen_stream.generate_lines(1500, 31, invalid=False)
    data = _write(tmp_path / "s.ndjson", lines)
    p = sfcrime(sfcrime_bin, broker, "produce", "--topic", topic, "--file", data, timeout=120)
    assert p.returncode == 0 and produce_summary(p.stderr) == (1500, 1500, 0, 0), p.stderr
    merged = [m[3] for m in merged_order(kcat_partitions(kcat, broker, topic))]

    with fresh_topic(sfcrime_bin, broker, partitions=1, prefix="stream-out", kcat=kcat) as out1, \
            fresh_topic(sfcrime_bin, broker, partitions=1, prefix="stream-out", kcat=kcat) as out2:
        # update mode, hopping windows, --output json as well: the topic gets the stdout rows
        params = so.Params(window="30m", slide="10m", watermark="10m", mode="update")
        p = sfcrime(sfcrime_bin, broker, "aggregate", "--topic", topic, "--from-beginning", "-e",
                    "--window", "30m", "--slide", "10m", "--watermark", "10m", "--output-mode",
                    "update", "--output", "json", "--output-topic", out1, "--progress", "json",
                    timeout=120)
        assert p.returncode == 0, p.stderr
        rows = parse_json_lines(p.stdout)
        res = so.run(merged, params)
        d = so.diff_rows(so.final_view(rows, "update"), [so.project(r, ("original_crime_type_name",))
                                                          for r in res.rows])
        assert not d, d
        assert totals(progress_reports(p.stderr), "numLateRecords") == res.late
        msgs = kcat_read(kcat, broker, out1)
        assert [json.loads(m["payload"]) for m in msgs] == rows
        for m, r in zip(msgs, rows):
            key = [r["window_start"], r["original_crime_type_name"]]
            assert json.loads(m["key"]) == key and m["key"] in _compact_forms(key), m["key"]

        # append mode, two --by fields, no --output: nothing on stdout, every row in the topic
        by = ("original_crime_type_name", "priority")
        params = so.Params(watermark="1h", by=by)
        p = sfcrime(sfcrime_bin, broker, "aggregate", "--topic", topic, "--from-beginning", "-e",
                    "--watermark", "1h", "--by", ",".join(by), "--output-topic", out2,
                    "--progress", "none", timeout=120)
        assert p.returncode == 0, p.stderr
        assert p.stdout == ""
        msgs = kcat_read(kcat, broker, out2)
        rows = [json.loads(m["payload"]) for m in msgs]
        res = so.run(merged, params)
        d = so.diff_rows(so.final_view(rows, "append", by), [so.project(r, by) for r in res.rows],
                         by)
        assert not d, d
        assert any(r["priority"] is None for r in rows)
        for m, r in zip(msgs, rows):
            key = [r["window_start"], r["original_crime_type_name"], r["priority"]]
            assert json.loads(m["key"]) == key and m["key"] in _compact_forms(key), m["key"]


@pytest.mark.broker
@pytest.mark.parametrize("seed", (51, 52))
def test_synthetic_partitions_update_mode(tmp_path, sfcrime_bin, broker, kcat, seed):
    """Generated streams (with invalid messages, which kcat writes as they are) spread over 4
    partitions; the order of processing is the oracle's merge of what kcat reads back."""
    lines = gen_stream.generate_lines(2000, seed)
    with fresh_topic(sfcrime_bin, broker, partitions=4, prefix="stream-synth", kcat=kcat) as topic, \
            fresh_topic(sfcrime_bin, broker, partitions=2, prefix="stream-late",
                        kcat=kcat) as late_topic:
        for k in range(4):
            kcat_produce_lines(kcat, broker, topic, k, lines[k::4])
        parts = kcat_partitions(kcat, broker, topic)
        assert sorted(len(m) for m in parts.values()) == sorted(len(lines[k::4]) for k in range(4))
        merged = merged_order(parts)
        params = so.Params(window="30m", slide="10m", watermark="10m", mode="update")
        res = so.run([m[3] for m in merged], params)
        assert res.late > 0 and res.invalid > 0
        p = sfcrime(sfcrime_bin, broker, "aggregate", "--topic", topic, "--from-beginning",
                    "--exit-at-end", "--window", "30m", "--slide", "10m", "--watermark", "10m",
                    "--output-mode", "update", "--output", "json", "--progress", "json",
                    "--max-records-per-trigger", "200", "--late-topic", late_topic, timeout=120)
        assert p.returncode == 65, "exit %d (invalid messages: 65 expected):\n%s" % (
            p.returncode, p.stderr[-3000:])
        rows = parse_json_lines(p.stdout)
        reports = progress_reports(p.stderr)
        assert [r["batchId"] for r in reports] == list(range(len(reports)))
        assert all(r["numInputRows"] <= 200 for r in reports)
        assert totals(reports, "numInputRows") == len(lines)
        assert totals(reports, "numLateRecords") == res.late
        assert totals(reports, "numInvalidRows") == res.invalid
        assert totals(reports, "numRowsDroppedByWatermark") == res.dropped
        assert reports[-1]["eventTime"]["watermark"] == "+infinity"
        for r in reports:  # per partition the next offset to process, before and after
            (src,) = r["sources"]
            before, after = src["startOffset"].get(topic, {}), src["endOffset"].get(topic, {})
            taken = sum(after.get(k, before.get(k, 0)) - before.get(k, 0)
                        for k in set(before) | set(after))
            assert taken == r["numInputRows"], src
        d = so.diff_rows(so.final_view(rows, "update"),
                         [so.project(r, ("original_crime_type_name",)) for r in res.rows])
        assert not d, d
        check_state_bound(reports, res, "update")
        check_late_topic(kcat, broker, late_topic, topic, merged, res)


@pytest.mark.broker
def test_file_source_late_topic(tmp_path, sfcrime_bin, broker, kcat):
    lines = gen_stream.generate_lines(1000, 61)
    data = _write(tmp_path / "s.ndjson", lines)
    res = so.run(lines, so.Params(watermark="10m"))
    assert res.late > 0
    with fresh_topic(sfcrime_bin, broker, partitions=1, prefix="stream-late", kcat=kcat) as late:
        p = sfcrime(sfcrime_bin, broker, "aggregate", "--file", data, "--watermark", "10m",
                    "--output", "json", "--progress", "json", "--late-topic", late, timeout=120)
        assert p.returncode == 65, p.stderr
        assert totals(progress_reports(p.stderr), "numLateRecords") == res.late
        msgs = kcat_read(kcat, broker, late)
        # one partition: in processing order
        assert [json.loads(m["payload"]) for m in msgs] == [
            json.loads(lines[i]) for i in res.late_indices]
        for m, wm in zip(msgs, res.late_watermarks):
            h = dict(m["headers"])
            assert h.get("sfcrime.late.reason", "").strip(), m["headers"]
            assert so.parse_naive(h["sfcrime.late.watermark"]) == wm, m["headers"]


@pytest.mark.broker
def test_watch_it_live(tmp_path, sfcrime_bin, broker, kcat):
    """`produce --order event-time --speedup 36000` (10 h of event time a second) runs while
    `aggregate --output-mode update` reads the topic; once produce is done and aggregate has
    reported every record, SIGINT: exit 130. While records are still arriving a caught-up partition
    does not hold the others back, so a record could be late if its delivery lagged by more than
    the watermark delay (1 d here: 2.4 s at 36000x); whatever was late is on the late topic and
    the rows equal the answer over the other records."""
    lines = gen_stream.generate_lines(1500, 71, invalid=False, far=False)
    data = _write(tmp_path / "s.ndjson", lines)
    n = len(lines)
    times = [so.event_time(x) for x in lines]
    span_s = (max(times) - min(times)) / 1000
    out_path = tmp_path / "rows.ndjson"
    with fresh_topic(sfcrime_bin, broker, partitions=6, prefix="stream-live", kcat=kcat) as topic, \
            fresh_topic(sfcrime_bin, broker, partitions=1, prefix="stream-live-late",
                        kcat=kcat) as late_topic, open(out_path, "w", encoding="utf-8") as out:
        agg = subprocess.Popen(
            [str(sfcrime_bin), "-b", broker, "aggregate", "--topic", topic, "--from-beginning",
             "--output-mode", "update", "--output", "json", "--progress", "json",
             "--watermark", "1d", "--late-topic", late_topic],
            stdout=out, stderr=subprocess.PIPE, text=True, encoding="utf-8", env=clean_env())
        stderr_lines, seen = [], [0]
        caught_up = threading.Event()

        def read_stderr():
            for line in agg.stderr:
                stderr_lines.append(line)
                for r in progress_reports(line):
                    seen[0] += r["numInputRows"]
                if seen[0] >= n:
                    caught_up.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        watchdog = threading.Timer(90, agg.kill)
        watchdog.start()
        try:
            start = time.monotonic()
            p = sfcrime(sfcrime_bin, broker, "produce", "--topic", topic, "--file", data,
                        "--order", "event-time", "--speedup", "36000", timeout=60)
            produce_s = time.monotonic() - start
            assert p.returncode == 0 and produce_summary(p.stderr) == (n, n, 0, 0), p.stderr
            assert caught_up.wait(30), "aggregate reported %d of %d records:\n%s" % (
                seen[0], n, "".join(stderr_lines)[-3000:])
            assert agg.poll() is None, "aggregate ended by itself:\n" + "".join(stderr_lines)
            agg.send_signal(signal.SIGINT)
            agg.wait(timeout=30)
            reader.join(timeout=10)
        finally:
            watchdog.cancel()
            if agg.poll() is None:
                agg.kill()
                agg.wait()
        err = "".join(stderr_lines)
        assert agg.returncode == 130, "aggregate exited %d after SIGINT:\n%s" % (agg.returncode,
                                                                                 err[-3000:])
        reports = progress_reports(err)
        rows = parse_json_lines(out_path.read_text(encoding="utf-8"))
        late = totals(reports, "numLateRecords")
        print("\nlive: %d records over %.1f h of event time produced in %.1f s at 36000x; "
              "%d batches, %d rows emitted, %d late" % (n, span_s / 3600, produce_s, len(reports),
                                                         len(rows), late))
        assert produce_s >= 0.5 * span_s / 36000  # it was a replay, not a burst
        assert len(reports) > 1
        assert [r["batchId"] for r in reports] == list(range(len(reports)))
        assert totals(reports, "numInputRows") == n  # every record counted once
        assert "+infinity" not in [r["eventTime"]["watermark"] for r in reports]  # not closed

        late_msgs = kcat_read(kcat, broker, late_topic)
        assert len(late_msgs) == late
        sent = collections.Counter(m["payload"] for m in kcat_read(kcat, broker, topic))
        assert sum(sent.values()) == n
        late_payloads = collections.Counter(m["payload"] for m in late_msgs)
        assert not late_payloads - sent
        on_time = list((sent - late_payloads).elements())
        expected = so.run(on_time, so.Params(watermark="36500d"))  # nothing late: any order
        d = so.diff_rows(so.final_view(rows, "update"),
                         [so.project(r, ("original_crime_type_name",)) for r in expected.rows])
        assert not d, d
        check_state_bound(reports, expected, "update")


# --------------------------------------------------------------------------- review regressions

def _call(time_, ctype, crime_id="1", disposition="X"):
    return json.dumps({"crime_id": crime_id, "original_crime_type_name": ctype,
                       "call_date_time": "2018-10-02T" + time_, "disposition": disposition})


@pytest.mark.broker
def test_filtered_records_merge_by_their_own_time(sfcrime_bin, broker, kcat):
    """Partition 0 holds [Other @ 10:00, A @ 05:00], partition 1 [A @ 09:00, A @ 12:00]; only type
    A is kept. The filtered 10:00 record merges by its own time (the contract: only a record
    without a valid event time counts as the smallest), so the order is 09:00 (p1), 10:00 (p0,
    filtered), 05:00 (p0), 12:00 (p1): with a 1h watermark the 05:00 record is late. (Taken first
    as if it had no time, the filtered record let 05:00 through before 09:00: nothing late.)"""
    with fresh_topic(sfcrime_bin, broker, partitions=2, prefix="stream-filter-merge",
                     kcat=kcat) as topic:
        kcat_produce_lines(kcat, broker, topic, 0, [_call("10:00:00", "Other", "1"),
                                                    _call("05:00:00", "A", "2")])
        kcat_produce_lines(kcat, broker, topic, 1, [_call("09:00:00", "A", "3"),
                                                    _call("12:00:00", "A", "4")])
        parts = kcat_partitions(kcat, broker, topic)
        assert {p: len(m) for p, m in parts.items()} == {0: 2, 1: 2}
        merged = merged_order(parts)
        assert [(p, off) for p, off, _, _ in merged] == [(1, 0), (0, 0), (0, 1), (1, 1)]
        params = so.Params(watermark="1h", filters=(("original_crime_type_name", ("A",)),))
        res = so.run([m[3] for m in merged], params)
        assert (res.late, res.filtered, res.invalid) == (1, 1, 0)
        assert json.loads(merged[res.late_indices[0]][3])["call_date_time"].endswith("05:00:00")

        p = sfcrime(sfcrime_bin, broker, "aggregate", "--topic", topic, "--from-beginning", "-e",
                    "--watermark", "1h", "--filter", "original_crime_type_name=A", "--output",
                    "json", "--progress", "json", timeout=120)
        assert p.returncode == 0, "aggregate exited %d:\n%s" % (p.returncode, p.stderr[-3000:])
        reports = progress_reports(p.stderr)
        assert totals(reports, "numInputRows") == 4
        assert totals(reports, "numFilteredRows") == 1
        assert totals(reports, "numLateRecords") == res.late, p.stderr
        rows = parse_json_lines(p.stdout)
        d = so.diff_rows(so.final_view(rows, "append"),
                         [so.project(r, ("original_crime_type_name",)) for r in res.rows])
        assert not d, d
        assert [r["window_start"] for r in rows] == ["2018-10-02T09:00:00", "2018-10-02T12:00:00"]


def _window_totals(rows):
    """{window_start: window_total of the window's last row} (rows in output order)."""
    out = {}
    for r in rows:
        out[r["window_start"]] = r["window_total"]
    return out


@pytest.mark.broker
def test_group_rebalance_does_not_count_twice(tmp_path, sfcrime_bin, broker, kcat):
    """Process A (`aggregate --group G --trigger 10s --output-mode update`) reads a 2-partition
    topic: 100 records, then 100 more; right after them process B (`aggregate --group G -e`)
    joins, takes one partition from A and reads it to its end. A's last window total plus B's is
    200: what A processed of the partition it gave up was committed on revocation, so B starts
    after it (B re-read it from A's previous commit: 247 in one run) and nothing is missed."""
    lines = [_call("%02d:%02d:00" % divmod(i, 60), "ABC"[i % 3], "rb-%03d" % i) for i in range(200)]
    first, second = _write(tmp_path / "first.ndjson", lines[:100]), \
        _write(tmp_path / "second.ndjson", lines[100:])
    group = "stream-rebalance-" + uuid.uuid4().hex[:12]
    window = "2018-10-02T00:00:00"
    err_path = tmp_path / "a.stderr"
    with fresh_topic(sfcrime_bin, broker, partitions=2, prefix="stream-rebalance",
                     kcat=kcat) as topic, open(err_path, "w", encoding="utf-8") as a_err:
        a = subprocess.Popen(
            [str(sfcrime_bin), "-b", broker, "aggregate", "--topic", topic, "--group", group,
             "--from-beginning", "--trigger", "10s", "--window", "1d", "--output-mode", "update",
             "-o", "json", "--progress", "none"],
            stdout=subprocess.PIPE, stderr=a_err, text=True, encoding="utf-8", env=clean_env())
        rows_a = []
        first_done = threading.Event()

        def read_stdout():
            for text in a.stdout:
                if text.strip():
                    r = json.loads(text)
                    rows_a.append(r)
                    if r["window_start"] == window and r["window_total"] >= 100:
                        first_done.set()

        reader = threading.Thread(target=read_stdout, daemon=True)
        reader.start()
        watchdog = threading.Timer(240, a.kill)
        watchdog.start()
        try:
            p = sfcrime(sfcrime_bin, broker, "produce", "--topic", topic, "--file", first,
                        timeout=60)
            assert p.returncode == 0 and produce_summary(p.stderr) == (100, 100, 0, 0), p.stderr
            # A emits the batch that holds the first 100 records at a trigger boundary, then
            # commits; the next boundary is 10 s away.
            assert first_done.wait(90), "A did not report the first 100 records: rows %r\n%s" % (
                rows_a, err_path.read_text(encoding="utf-8"))
            time.sleep(1)
            p = sfcrime(sfcrime_bin, broker, "produce", "--topic", topic, "--file", second,
                        timeout=60)
            assert p.returncode == 0 and produce_summary(p.stderr) == (100, 100, 0, 0), p.stderr
            # B joins now, while A's batch with (some of) the second 100 records is not committed.
            b = sfcrime(sfcrime_bin, broker, "aggregate", "--topic", topic, "--group", group, "-e",
                        "--from-beginning", "--window", "1d", "-o", "json", "--progress", "none",
                        timeout=120)
            assert b.returncode == 0, "B exited %d:\n%s" % (b.returncode, b.stderr[-3000:])
            time.sleep(3)  # A takes B's partition back
            assert a.poll() is None, "A ended by itself:\n" + err_path.read_text(encoding="utf-8")
            a.send_signal(signal.SIGINT)
            a.wait(timeout=60)
            reader.join(timeout=10)
        finally:
            watchdog.cancel()
            if a.poll() is None:
                a.kill()
                a.wait()
        a_stderr = err_path.read_text(encoding="utf-8")
        assert a.returncode == 130, "A exited %d after SIGINT:\n%s" % (a.returncode,
                                                                       a_stderr[-3000:])
        # Both partitions hold records of both halves: whichever B took, A had read some of the
        # second half from it.
        parts = kcat_partitions(kcat, broker, topic)
        for part, msgs in parts.items():
            ids = {json.loads(m["payload"])["crime_id"] for m in msgs}
            assert ids & {"rb-%03d" % i for i in range(100, 200)}, "partition %d" % part
        assert sum(len(m) for m in parts.values()) == 200

    rows_b = parse_json_lines(b.stdout)
    assert all(r["final"] for r in rows_b)
    totals_a, totals_b = _window_totals(rows_a), _window_totals(rows_b)
    print("\nrebalance: A counted %r, B counted %r" % (totals_a, totals_b))
    assert set(totals_a) | set(totals_b) == {window}, (totals_a, totals_b)
    assert totals_a.get(window, 0) + totals_b.get(window, 0) == 200, (
        "A counted %d, B %d: together %d of 200 records\nA's stderr:\n%s\nB's stderr:\n%s" % (
            totals_a.get(window, 0), totals_b.get(window, 0),
            totals_a.get(window, 0) + totals_b.get(window, 0), a_stderr[-2000:], b.stderr[-2000:]))
    # Each (window, type) row too: A's last version plus B's row.
    counts = collections.Counter()
    for rows in (rows_a, rows_b):
        for (ws, ctype), r in so.last_versions(rows).items():
            counts[ctype] += r["count"]
    assert counts == collections.Counter("ABC"[i % 3] for i in range(200)), counts
