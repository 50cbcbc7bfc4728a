#!/usr/bin/env python3
"""Independent batch recomputation of `sfcrime aggregate` (shares no code with sfcrime).

    python3 tests/oracle.py FILE [--window 30m] [--radio-codes radio_code.json] [--output json|table]

FILE is a JSON array (pretty-printed or compact) or newline-delimited JSON, optionally
xz-compressed (name ending in .xz); '-' reads standard input.

Tumbling windows of `size` seconds aligned to the epoch of the naive calendar: a record whose
call_date_time is t seconds after 1970-01-01T00:00:00 (the time read as if it were UTC, no zone
conversion: calendar.timegm) falls into the window [floor(t / size) * size, ... + size).
For each window and each original_crime_type_name in it, one row:

    {"window_start": "YYYY-MM-DDTHH:MM:SS", "window_end": "...", "original_crime_type_name": ...,
     "count": records of that type in the window,
     "usual_disposition": the most frequent `disposition` among them (a tie goes to the lexically
                          smallest code, comparing code points),
     "usual_disposition_description": its description from the radio codes file, or None,
     "window_total": records in the window, "window_distinct": distinct types in the window}

The rows have the shape of `sfcrime aggregate --output json` (without its extra keys).
As a module: `load_records(path)`, `load_radio_codes(path)`, `parse_window(text)`,
`aggregate(records, size_seconds, radio_codes)`, `compute(path, window, radio_codes_path)`.
"""
import argparse
import calendar
import collections
import datetime
import io
import json
import lzma
import re
import sys

_DT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_EPOCH = datetime.datetime(1970, 1, 1)


def _open_text(path):
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8")
    if str(path).endswith(".xz"):
        return lzma.open(path, "rt", encoding="utf-8")
    return open(path, "r", encoding="utf-8")


def parse_records_text(text):
    """Records from the text of a JSON array or of NDJSON (blank lines ignored)."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError("not a JSON array")
        return data
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def load_records(path):
    """All records of a JSON array or NDJSON file (optionally .xz), as parsed JSON values."""
    with _open_text(path) as f:
        return parse_records_text(f.read())


def load_radio_codes(path):
    """{disposition_code: description} from a radio_code.json-like file; {} for None."""
    if path is None:
        return {}
    with open(path, "r", encoding="utf-8") as f:
        return {o["disposition_code"]: o["description"] for o in json.load(f)}


def parse_window(text):
    """'30m' -> 1800; accepts a whole number with s, m, h or d, or a bare number of seconds."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", str(text))
    if not m:
        raise ValueError("bad window length %r" % text)
    size = int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if size <= 0:
        raise ValueError("window length must be positive")
    return size


def event_seconds(call_date_time):
    """Whole seconds since 1970-01-01T00:00:00 of a naive 'YYYY-MM-DDTHH:MM:SS[.fff]' (floored)."""
    m = _DT.fullmatch(call_date_time)
    if not m:
        raise ValueError("bad call_date_time %r" % (call_date_time,))
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    # Validates the calendar date (e.g. rejects 2018-02-30) without any time zone.
    datetime.datetime(y, mo, d, h, mi, s)
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))


def fmt_seconds(t):
    return (_EPOCH + datetime.timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S")


def aggregate(records, size, radio_codes=None):
    """Rows (list of dicts, see the module docstring), sorted by window start, then count
    descending, then type. `size` in seconds; `radio_codes` a {code: description} dict."""
    radio_codes = radio_codes or {}
    # window start -> type -> Counter of dispositions
    windows = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    for r in records:
        t = event_seconds(r["call_date_time"])
        start = (t // size) * size  # Python's // floors, also before 1970
        windows[start][r["original_crime_type_name"]][r["disposition"]] += 1
    rows = []
    for start in sorted(windows):
        types = windows[start]
        total = sum(sum(c.values()) for c in types.values())
        for ctype, dispositions in types.items():
            best = max(dispositions.values())
            usual = min(code for code, n in dispositions.items() if n == best)
            rows.append({
                "window_start": fmt_seconds(start),
                "window_end": fmt_seconds(start + size),
                "original_crime_type_name": ctype,
                "count": sum(dispositions.values()),
                "usual_disposition": usual,
                "usual_disposition_description": radio_codes.get(usual),
                "window_total": total,
                "window_distinct": len(types),
            })
    rows.sort(key=lambda r: (r["window_start"], -r["count"], r["original_crime_type_name"]))
    return rows


def compute(path, window="30m", radio_codes_path=None):
    return aggregate(load_records(path), parse_window(window), load_radio_codes(radio_codes_path))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", help="JSON array or NDJSON file (.xz allowed), '-' for stdin")
    ap.add_argument("-w", "--window", default="30m", help="window length (default 30m)")
    ap.add_argument("--radio-codes", help="radio_code.json with disposition descriptions")
    ap.add_argument("-o", "--output", choices=("json", "table"), default="json")
    a = ap.parse_args(argv)
    rows = compute(a.file, a.window, a.radio_codes)
    out = sys.stdout
    if a.output == "json":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        last = None
        for row in rows:
            if row["window_start"] != last:
                last = row["window_start"]
                out.write("\n%s .. %s  %d records, %d crime types\n" % (
                    row["window_start"], row["window_end"], row["window_total"],
                    row["window_distinct"]))
            out.write("  %7d  %-40s %s %s\n" % (row["count"], row["original_crime_type_name"],
                                                row["usual_disposition"],
                                                row["usual_disposition_description"] or "-"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. | head
        sys.stderr.close()
        sys.exit(0)
