#!/usr/bin/env python3
"""bench/scale_data.py - the real data N times over, later and later in event time, as NDJSON.

Writes the records of the real data (../shared/data/police-department-calls-for-service.json.xz:
199,999 records, newest first, 2018-10-02 09:11 to 2018-12-31 23:57) --copies times as NDJSON: one
compact JSON record a line (json.dumps with separators=(',', ':'), the keys in the file's order),
in ascending event time (call_date_time) overall.

Copy k (0-based) is the data shifted later in event time by k * 91 days: 13 whole weeks, so every
record keeps its weekday and its time of day, and since the data spans about 90.6 days the copies
never overlap and their concatenation stays in order. Every date field is shifted by the same days
and keeps its format exactly (call_date_time, call_date, offense_date, report_date: only the leading
YYYY-MM-DD of each value changes; call_time, a time of day, does not change). crime_id stays a
string: copy 0 keeps the original ids, copy k > 0 gets the suffix '-k' ('1000001-3'), so ids are
unique across copies as far as they are within one. Each copy is sorted by call_date_time ascending
with a stable sort (records with equal times keep their order in the file), so --copies 1 is the
real data re-sorted, nothing else changed.

Options:
  --copies N        how many copies (default 10)
  --output PATH|-   where to write (default '-': standard output)
  --data PATH       the input: a JSON array or NDJSON file, .json or .json.xz (default the real data)
  --records N       only the first N records of the file (for quick runs)

Output is written as it is made (blocks of lines, never one giant string). A reader that goes away
(`| head`) ends it quietly, exit status 0. One summary line goes to stderr: records written, copies,
the first and last call_date_time, bytes. Exit 1 when the input cannot be read or holds a record
without a usable call_date_time.

Standard library only (Python 3.11). See bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import lzma
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REAL_DATA = REPO.parent / "shared" / "data" / "police-department-calls-for-service.json.xz"
SHIFT_DAYS = 91                 # 13 weeks: weekdays kept, the 90.6-day data never overlaps itself
TIME_FIELD = "call_date_time"
DATE_FIELDS = ("call_date_time", "call_date", "offense_date", "report_date")
LEADING_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
BLOCK = 2000                    # lines per write


class Bad(Exception):
    """The input cannot be used; the message says why."""


def load_records(path: Path, limit: int | None) -> list[dict]:
    """The records of a JSON array or NDJSON file (.xz decompressed), the first `limit` of them if given."""
    opener = lzma.open if path.suffix == ".xz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            head = f.read(1 << 16)
            first = head.lstrip()[:1]
            if first == "[":
                records = json.loads(head + f.read())
            else:
                records = []
                for line in (head + f.read()).splitlines():
                    if line.strip():
                        records.append(json.loads(line))
                        if limit is not None and len(records) >= limit:
                            break
    except (OSError, lzma.LZMAError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise Bad(f"cannot read '{path}': {e}")
    if not isinstance(records, list):
        raise Bad(f"'{path}' is neither a JSON array of records nor NDJSON")
    records = records[:limit] if limit is not None else records
    for i, r in enumerate(records, 1):
        if not isinstance(r, dict) or not isinstance(r.get(TIME_FIELD), str) \
                or not LEADING_DATE.match(r[TIME_FIELD]):
            raise Bad(f"record {i} of '{path}' has no {TIME_FIELD} of the form YYYY-MM-DD...")
    return records


class Shifter:
    """Shifts the leading YYYY-MM-DD of a value by whole days, keeping the rest of the value as it is.
    The data holds about 90 distinct dates, so each shifted date is computed once (cached)."""

    def __init__(self, days: int):
        self.delta = dt.timedelta(days=days)
        self.cache: dict[str, str] = {}

    def __call__(self, value):
        if not isinstance(value, str) or not LEADING_DATE.match(value):
            return value        # an empty or odd value is left alone, as the engine would see it
        d = value[:10]
        s = self.cache.get(d)
        if s is None:
            s = self.cache[d] = (dt.date.fromisoformat(d) + self.delta).isoformat()
        return s + value[10:]


def copy_pairs(records: list[dict], k: int):
    """(crime_id, compact JSON line) of each record of copy k (records already in ascending event
    time); crime_id is '' when a record has none. bench/run.py writes its keyed file from these."""
    shift, suffix = (Shifter(k * SHIFT_DAYS), f"-{k}") if k else (None, "")
    for r in records:
        s = r
        if k:
            s = dict(r)         # a copy keeps the key order
            for f in DATE_FIELDS:
                if f in s:
                    s[f] = shift(s[f])
            if "crime_id" in s:
                s["crime_id"] = f"{s['crime_id']}{suffix}"
        yield str(s.get("crime_id", "")), json.dumps(s, separators=(",", ":"), ensure_ascii=False)


def copy_lines(records: list[dict], k: int):
    """The compact JSON lines of copy k (records already in ascending event time)."""
    for _key, line in copy_pairs(records, k):
        yield line


def write_copies(records: list[dict], copies: int, out) -> tuple[int, int, str, str]:
    """Writes every copy to the binary stream out in blocks; (lines, bytes, first time, last time)."""
    lines = nbytes = 0
    first = last = ""
    for k in range(copies):
        block: list[str] = []
        for line in copy_lines(records, k):
            block.append(line)
            if len(block) >= BLOCK:
                nbytes += out.write(("\n".join(block) + "\n").encode())
                lines += len(block)
                block = []
        if block:
            nbytes += out.write(("\n".join(block) + "\n").encode())
            lines += len(block)
        if records:
            if k == 0:
                first = records[0][TIME_FIELD]
            last = Shifter(k * SHIFT_DAYS)(records[-1][TIME_FIELD])
    out.flush()
    return lines, nbytes, first, last


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="bench/scale_data.py",
        description="Write the real data N times as NDJSON in ascending event time, copy k shifted later by "
                    "k*91 days with crime_id suffixed '-k'. See bench/README.md.")
    ap.add_argument("--copies", type=int, default=10, metavar="N", help="how many copies (default 10)")
    ap.add_argument("--output", "-o", default="-", metavar="PATH|-", help="output file (default '-': stdout)")
    ap.add_argument("--data", metavar="PATH", default=str(REAL_DATA),
                    help="input JSON array or NDJSON, .json or .json.xz (default the real data)")
    ap.add_argument("--records", type=int, metavar="N", help="only the first N records of the file")
    a = ap.parse_args(argv)
    if a.copies < 1 or (a.records is not None and a.records < 1):
        ap.error("--copies and --records must be positive")
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    try:
        records = load_records(Path(a.data), a.records)
    except Bad as e:
        print(f"scale_data: error: {e}", file=sys.stderr)
        return 1
    records.sort(key=lambda r: r[TIME_FIELD])     # stable: equal times keep the file's order
    out = None
    try:
        out = sys.stdout.buffer if a.output == "-" else open(a.output, "wb")
        lines, nbytes, first, last = write_copies(records, a.copies, out)
    except BrokenPipeError:
        # The reader went away: stop quietly, and keep Python from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        print(f"scale_data: error: cannot write '{a.output}': {e}", file=sys.stderr)
        return 1
    finally:
        if out is not None and a.output != "-":
            out.close()
    print(f"scale_data: {lines} records written ({a.copies} x {len(records)}), call_date_time {first} to {last}, "
          f"{nbytes / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
