"""What `sfcrime aggregate` says when its answer differs from the batch answer (issue 13, "No
silent loss"), through the real binary. Expected answers come from tests/oracle.py (the batch
oracle, no shared code) or from hand computations written next to the inputs; expected counts of
late records from how the inputs are built, never from the program's output.

  - test_late_warning_*: more than 1 % late records -> one stderr line with the count, the
    measured disorder and the two remedies; 1 % or fewer, or none -> no such line; the remedy it
    names (--watermark) gives the batch answer; real data in file order (newest first).
  - test_truncated_input_*: a file cut inside a record answers for the whole records before the
    cut (the batch oracle's answer over them), then exits 65 naming the cut.
  - test_by_field_*: a --by field no record has gets a warning naming the records' fields.
  - test_radio_codes_*: without --radio-codes the table makes no claim about a file; a missing
    file or a directory exits 66.
  - test_refused_exactly_once_creates_no_topic: --exactly-once refused for a missing output
    topic (exit 66) leaves no changelog topic behind (real broker).
"""
import json
import lzma
import re
import subprocess
import sys
import uuid

import pytest

from conftest import RADIO_CODES, REAL_FILE, ROOT, run

sys.path.insert(0, str(ROOT / "tests"))
import oracle  # noqa: E402

UNREACHABLE = "localhost:1"
WARNING = re.compile(r"^sfcrime aggregate: warning: (\d+) of (\d+) records \(([\d.]+) %\) were late", re.M)
SUMMARY = re.compile(r"sfcrime aggregate: (\d+) records, (\d+) late, (\d+) invalid")


def record(i, when, crime="Theft", disposition="CIT"):
    return {"crime_id": str(1000 + i), "original_crime_type_name": crime, "call_date_time": when,
            "disposition": disposition, "city": "San Francisco"}


def aggregate_file(path, *args):
    return run("-b", UNREACHABLE, "aggregate", "--file", path, *args)


def write_ndjson(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def hours_apart(n, newest_first):
    """n records one hour apart from 2018-10-02T00:00, oldest first unless newest_first."""
    recs = [record(i, "2018-10-02T%02d:00:00" % i) for i in range(n)]
    return recs[::-1] if newest_first else recs


# --------------------------------------------------------------------------- late records

def test_late_warning_names_the_disorder_and_the_remedies(tmp_path):
    # 10 records an hour apart, newest first: the first (09:00) moves the watermark to 08:00,
    # so 08:00 is on time and the 8 older ones are late. Disorder: 9 hours.
    f = write_ndjson(tmp_path / "back.ndjson", hours_apart(10, newest_first=True))
    p = aggregate_file(f, "-o", "json")
    assert p.returncode == 0, p.stderr
    m = WARNING.search(p.stderr)
    assert m and m.groups() == ("8", "10", "80.0"), p.stderr
    line = p.stderr[m.start():].splitlines()[0]
    assert "out of event-time order by up to 9h (the newest record came first)" in line, line
    assert "sfcrime produce --order event-time" in line and "--watermark 9h" in line, line
    # The remedy it names gives the batch answer.
    p = aggregate_file(f, "-o", "json", "--watermark", "9h")
    assert p.returncode == 0 and not WARNING.search(p.stderr), p.stderr
    assert SUMMARY.search(p.stderr).group(2) == "0"
    rows = [json.loads(l) for l in p.stdout.splitlines()]
    assert len(rows) == 10 and all(r["count"] == 1 for r in rows)


def test_late_warning_only_above_one_percent(tmp_path):
    # 200 records in order, then 2 an hour and a half behind the largest: 2 of 202 late (<= 1 %).
    recs = [record(i, "2018-10-02T%02d:%02d:00" % (10 + i // 60, i % 60)) for i in range(200)]
    recs += [record(900, "2018-10-02T11:50:00"), record(901, "2018-10-02T11:51:00")]
    f = write_ndjson(tmp_path / "few.ndjson", recs)
    p = aggregate_file(f, "-o", "json")
    assert p.returncode == 0, p.stderr
    assert SUMMARY.search(p.stderr).group(2) == "2", p.stderr
    assert "warning" not in p.stderr, p.stderr
    # Three late of 203: more than 1 %.
    f = write_ndjson(tmp_path / "more.ndjson", recs + [record(902, "2018-10-02T11:52:00")])
    p = aggregate_file(f, "-o", "json")
    m = WARNING.search(p.stderr)
    assert m and m.groups()[:2] == ("3", "203"), p.stderr
    assert "newest record came first" not in p.stderr


def test_no_warning_for_an_input_in_order(tmp_path):
    f = write_ndjson(tmp_path / "fwd.ndjson", hours_apart(10, newest_first=False))
    p = aggregate_file(f, "-o", "json")
    assert p.returncode == 0 and "warning" not in p.stderr, p.stderr


@pytest.mark.realdata
def test_late_warning_on_the_real_file_in_its_own_order(tmp_path):
    """The real file runs newest first over some 90.6 days: with the default watermark nearly
    everything is late and the summary says so, with the measured disorder; with the watermark
    the warning proposes, the answer is tests/oracle.py's."""
    data = tmp_path / "calls.json"
    data.write_bytes(lzma.decompress(REAL_FILE.read_bytes()))
    p = aggregate_file(data, "-o", "csv")
    assert p.returncode == 0, p.stderr
    m = WARNING.search(p.stderr)
    assert m, p.stderr
    late, total = int(m.group(1)), int(m.group(2))
    assert total == 199_999 and late > 199_000, p.stderr
    assert SUMMARY.search(p.stderr).group(2) == str(late)
    line = p.stderr[m.start():].splitlines()[0]
    proposed = re.search(r"--watermark (\d+d)\)", line)
    assert proposed and "(the newest record came first)" in line, line
    p = aggregate_file(data, "-o", "json", "--watermark", proposed.group(1))
    assert p.returncode == 0 and "warning" not in p.stderr, p.stderr
    got = [json.loads(l) for l in p.stdout.splitlines()]
    want = oracle.aggregate(oracle.load_records(REAL_FILE), 1800)
    keys = ("window_start", "window_end", "original_crime_type_name", "count", "usual_disposition",
            "window_total", "window_distinct")
    assert sorted(tuple(r[k] for k in keys) for r in got) == sorted(tuple(r[k] for k in keys) for r in want)


# --------------------------------------------------------------------------- truncated input

def _rows(stdout):
    keys = ("window_start", "original_crime_type_name", "count", "usual_disposition", "window_total")
    return sorted(tuple(r[k] for k in keys) for r in map(json.loads, stdout.splitlines()))


def _oracle_rows(records):
    keys = ("window_start", "original_crime_type_name", "count", "usual_disposition", "window_total")
    return sorted(tuple(r[k] for k in keys) for r in oracle.aggregate(records, 1800))


@pytest.mark.parametrize("shape", ["ndjson", "array"])
def test_truncated_input_answers_for_the_whole_records(shape, tmp_path):
    recs = [record(i, "2018-10-02T%02d:%02d:00" % (i // 60, i % 60), crime="C%d" % (i % 3),
                   disposition="D%d" % (i % 2)) for i in range(300)]
    if shape == "ndjson":
        text = "".join(json.dumps(r) + "\n" for r in recs)
    else:
        text = "[\n" + ",\n".join(json.dumps(r, indent=2) for r in recs) + "\n]\n"
    cut = text.index(recs[250]["crime_id"])  # inside record 251
    f = tmp_path / ("cut." + shape)
    f.write_text(text[:cut])
    p = aggregate_file(f, "-o", "json")
    assert p.returncode == 65, p.stderr
    assert _rows(p.stdout) == _oracle_rows(recs[:250])
    if shape == "array":  # the array's framing breaks: the input ends there
        assert "the input ended early; the answer above covers the 250 records" in p.stderr, p.stderr
        assert re.search(r"sfcrime: error: truncated input: record 251 is cut off", p.stderr), p.stderr
    else:  # NDJSON: the cut line is one invalid record, reported and counted like any other
        assert "sfcrime: record 251 (line 251) skipped: invalid JSON" in p.stderr, p.stderr
        assert SUMMARY.search(p.stderr).groups() == ("251", "0", "1"), p.stderr


@pytest.mark.realdata
def test_truncated_real_file(tmp_path):
    """The first 50 MB of the real file: the whole records before the cut (89,008 of them) are
    answered for (the batch oracle's answer over them, with a watermark longer than the file's
    disorder), then exit 65."""
    raw = lzma.decompress(REAL_FILE.read_bytes())[:50_000_000]
    f = tmp_path / "head.json"
    f.write_bytes(raw)
    whole = json.loads(raw[:raw.rindex(b"\n    }") + 6].decode() + "]")
    p = aggregate_file(f, "-o", "json", "--watermark", "100d")
    assert p.returncode == 65, p.stderr[-2000:]
    assert SUMMARY.search(p.stderr).group(1) == str(len(whole)), p.stderr[-2000:]
    assert _rows(p.stdout) == _oracle_rows(whole)
    assert "truncated input: record %d is cut off" % (len(whole) + 1) in p.stderr


# --------------------------------------------------------------------------- --by, radio codes

def test_by_field_no_record_has_is_named(tmp_path):
    f = write_ndjson(tmp_path / "in.ndjson", hours_apart(3, newest_first=False))
    p = aggregate_file(f, "-o", "json", "--by", "dispositon")
    assert p.returncode == 0, p.stderr
    assert ("sfcrime aggregate: warning: --by field 'dispositon' is missing or null in every record "
            "of batch 0 (its rows show null); the first record has: crime_id, "
            "original_crime_type_name, call_date_time, disposition, city") in p.stderr, p.stderr
    p = aggregate_file(f, "-o", "json", "--by", "disposition")
    assert "warning" not in p.stderr, p.stderr


@pytest.mark.parametrize("by", ["window_start", "count", "final", "city,count", "city,city"])
def test_by_a_column_of_the_rows_or_twice_is_refused(by, tmp_path):
    # A --by field is a key of the JSON row: named like the row's own keys it would overwrite one
    # (window_start: null) or vanish (count); named twice it is one column twice.
    f = write_ndjson(tmp_path / "in.ndjson", hours_apart(2, newest_first=False))
    p = aggregate_file(f, "-o", "json", "--by", by)
    assert p.returncode == 64, p.stderr
    assert p.stdout == "" and "--by" in p.stderr


def test_radio_codes_no_claim_without_a_file(tmp_path):
    f = write_ndjson(tmp_path / "in.ndjson", [record(0, "2018-10-02T10:00:00", disposition="HAN")])
    p = aggregate_file(f)
    assert p.returncode == 0, p.stderr
    assert "HAN" in p.stdout and "radio codes" not in p.stdout, p.stdout
    p = aggregate_file(f, "--radio-codes", RADIO_CODES)
    assert "HAN" in p.stdout and "Handled" in p.stdout, p.stdout
    f2 = write_ndjson(tmp_path / "odd.ndjson", [record(0, "2018-10-02T10:00:00", disposition="ZZZ")])
    p = aggregate_file(f2, "--radio-codes", RADIO_CODES)
    assert "(not in radio codes)" in p.stdout, p.stdout


@pytest.mark.parametrize("where", ["missing", "directory"])
def test_radio_codes_that_are_not_a_file_exit_66(where, tmp_path):
    f = write_ndjson(tmp_path / "in.ndjson", hours_apart(2, newest_first=False))
    path = tmp_path / "nope.json" if where == "missing" else tmp_path
    p = aggregate_file(f, "--radio-codes", path)
    assert p.returncode == 66, p.stderr
    assert str(path) in p.stderr and p.stdout == ""


# --------------------------------------------------------------------------- a refused run

@pytest.mark.broker
def test_refused_exactly_once_creates_no_topic(sfcrime_bin, broker, topic):
    group = "diag-" + uuid.uuid4().hex[:10]
    missing = "missing-" + uuid.uuid4().hex[:10]
    p = run("-b", broker, "aggregate", "-t", topic, "-g", group, "--exactly-once", "--output-topic",
            missing, "-e")
    assert p.returncode == 66, p.stderr
    assert missing in p.stderr
    listed = run("-b", broker, "topic", "list", "-o", "json", check=True).stdout
    assert group not in listed, "a topic of group %s was created: %s" % (group, listed)
    p = run("-b", broker, "aggregate", "-t", topic, "-g", group, "--scale-out", "--late-topic",
            missing, "-e")
    assert p.returncode == 66, p.stderr
    listed = run("-b", broker, "topic", "list", "-o", "json", check=True).stdout
    assert group not in listed, "a topic of group %s was created: %s" % (group, listed)
