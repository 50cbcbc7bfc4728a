"""A record over the reader's limit of 16 MiB (issue 15) is rejected and kept like any other bad
record, and the input goes on: the real binary, records of 17 MiB.

  - test_produce_record_over_16_mib_*: `produce` (the shared broker, $SFCRIME_TEST_BOOTSTRAP,
    never stopped here) on NDJSON from a file (read ahead in a thread) and on a pretty-printed
    array from standard input (read directly), with records before and after a 17 MiB one: exit
    65, the big record reported with its number, line and size, kept whole in
    --dead-letter-file (its bytes compared), every other record delivered (the multiset of
    crime_id keys read back with kcat, an independent client).
  - test_aggregate_file_record_over_16_mib_*: `aggregate --file` (no broker) counts it invalid
    with the same reason and answers as the oracle (tests/stream_oracle.py) does for the input
    with that record invalid, and as sfcrime does for the input without it.
"""
import collections
import json
import sys

import pytest

from conftest import ROOT, load_module, run

TESTS = ROOT / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

import gen_stream  # noqa: E402
import stream_oracle as so  # noqa: E402

dl = load_module("sfcrime_cli_produce_dead_letter", TESTS / "cli" / "test_produce_dead_letter.py")

LIMIT = 16 << 20          # RecordReader's max_record_bytes (kMaxRecordBytes)
BIG = 17 << 20            # the oversized record's size, bytes
UNREACHABLE = "localhost:1"


def reason(size):
    return "record is %d bytes, over the limit of %d bytes (16 MiB)" % (size, LIMIT)


def padded(record, size, field="notes"):
    """`record` with a string field added so that its compact JSON text is exactly `size` bytes."""
    r = dict(record)
    r[field] = ""
    base = len(dl.compact(r).encode("utf-8"))
    r[field] = "x" * (size - base)
    assert len(dl.compact(r).encode("utf-8")) == size
    return r


@pytest.mark.broker
@pytest.mark.parametrize("shape", ["ndjson-file", "pretty-array-stdin"])
def test_produce_record_over_16_mib_rejected_kept_and_input_goes_on(broker, kcat, tmp_path, shape):
    records = dl.good(300, seed=15)
    at = 3 if shape == "pretty-array-stdin" else 120   # index of the big record among the input's
    big = padded(dict(records[0], crime_id="big-record"), BIG)
    inputs = records[:at] + [big] + records[at:]
    if shape == "ndjson-file":
        texts = [dl.compact(r) for r in inputs]
        data = ("\n".join(texts) + "\n").encode("utf-8")
        big_text = texts[at].encode("utf-8")
        line = at + 1
    else:
        elements = [json.dumps(r, indent=2, ensure_ascii=False).replace("\n", "\n  ") for r in inputs]
        text = "[\n  " + ",\n  ".join(elements) + "\n]\n"
        data = text.encode("utf-8")
        big_text = elements[at].encode("utf-8")
        line = text.count("\n", 0, text.index(elements[at])) + 1
    assert len(big_text) > LIMIT
    f = tmp_path / "in.json"
    f.write_bytes(data)
    dlf = tmp_path / "rejected.ndjson"
    with dl.topics(broker, kcat, 3) as (topic,):
        args = ["-b", broker, "produce", "--topic", topic, "--dead-letter-file", dlf]
        if shape == "ndjson-file":
            p = run(*args, "--file", f, timeout=180)
        else:
            p = run(*args, input=data.decode("utf-8"), timeout=180)
        assert p.returncode == 65, p.stderr[-3000:]
        s = dl.summary(p.stderr)
        assert (s["read"], s["sent"], s["rejected"], s["failed"]) == (len(inputs), len(records), 1, 0), s
        assert dl.rejections(p.stderr) == [(at + 1, line, reason(len(big_text)))]
        assert "1 kept in dead-letter file '%s'" % dlf in p.stderr
        (kept,) = dl.read_lines(dlf)
        assert (kept["record"], kept["line"], kept["reason"]) == (at + 1, line, reason(len(big_text)))
        assert dl.envelope_bytes(kept) == big_text, "the dead letter is not the record's text, byte for byte"
        got = dl.kcat_keys(kcat, broker, topic)
        assert got == collections.Counter(r["crime_id"] for r in records), dl.diff(
            got, collections.Counter(r["crime_id"] for r in records))
        print("\nproduce %s: %d bytes in, %d records sent, record %d (line %d) of %d bytes rejected and kept"
              % (shape, len(data), s["sent"], at + 1, line, len(big_text)))


@pytest.mark.parametrize("shape", ["ndjson", "pretty-array"])
def test_aggregate_file_record_over_16_mib_counted_invalid(sfcrime_bin, tmp_path, shape):
    lines = gen_stream.generate_lines(400, 41, invalid=False)
    # A valid record (were it read) whose event time, a year after the rest, would close every
    # window: all records after it would be late.
    first = json.loads(lines[0])
    big = padded(dict(first, call_date_time="2019-10-02T00:00:00"), BIG)
    at = 150
    with_big = lines[:at] + [dl.compact(big)] + lines[at:]
    without = lines
    args = ["--window", "30m", "--watermark", "1h", "--output", "json", "--progress", "json"]

    def write(name, items):
        path = tmp_path / name
        if shape == "ndjson":
            path.write_text("".join(x + "\n" for x in items), encoding="utf-8")
        else:
            values = [json.loads(x) for x in items]
            path.write_text(json.dumps(values, indent=2, ensure_ascii=False), encoding="utf-8")
        return path

    p = run("-b", UNREACHABLE, "--timeout", "2s", "aggregate", "--file", write("with.json", with_big), *args,
            timeout=120)
    q = run("-b", UNREACHABLE, "--timeout", "2s", "aggregate", "--file", write("without.json", without), *args,
            timeout=120)
    assert p.returncode == 65, p.stderr[-3000:]
    assert q.returncode == 0, q.stderr[-3000:]
    size = len(dl.compact(big).encode("utf-8")) if shape == "ndjson" else len(
        json.dumps(big, indent=2, ensure_ascii=False).replace("\n", "\n  ").encode("utf-8"))
    if shape == "ndjson":
        line = at + 1
    else:  # after the '[' line, each element's lines
        line = 2 + sum(len(json.dumps(json.loads(x), indent=2).splitlines()) for x in with_big[:at])
    m = [x for x in p.stderr.splitlines() if x.startswith("sfcrime: record ")]
    assert m == ["sfcrime: record %d (line %d) skipped: %s" % (at + 1, line, reason(size))], p.stderr[-3000:]
    reports = so.progress_reports(p.stderr)
    assert sum(r["numInvalidRows"] for r in reports) == 1
    assert sum(r["numInputRows"] for r in reports) == len(with_big)
    assert sum(r["numLateRecords"] for r in reports) == sum(r["numLateRecords"] for r in so.progress_reports(q.stderr))
    # The answer: the oracle's for the input with that record invalid, and sfcrime's without it.
    expected = so.run(lines[:at] + ["not a record"] + lines[at:], so.Params(watermark="1h"))
    assert expected.invalid == 1
    d = so.diff_rows(so.final_view(so.json_rows(p.stdout), "append"), [so.project(r, ("original_crime_type_name",))
                                                                       for r in expected.rows])
    assert not d, d
    assert p.stdout == q.stdout
    assert expected.rows, "the check needs rows"
