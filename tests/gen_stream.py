#!/usr/bin/env python3
"""Seeded generator of *streams* of calls for service: NDJSON lines in arrival (processing) order,
with out-of-order, late and invalid records, for the streaming tests of `sfcrime aggregate`.

    python3 tests/gen_stream.py --records N --seed S [--out FILE] [--no-invalid] [--no-far]
                                [--order arrival|event-time]

Records are those of tests/gen_synthetic.py (the 14 string fields, invented values) plus two
fields of this generator: `priority` ("A", "B", "C"; missing on some records) and
`dispatch_date_time` (a second event time for --time-field tests: the call time plus up to 40
minutes; missing or not a date-time on a few records). Some records miss
`original_crime_type_name` or have it null (a null group key), some miss `disposition` or have a
number there (counted as "").

Arrival order: a clock runs forward (0 to 3 minutes a record, now and then a jump of hours) and
each record's event time is the clock minus a lag: most lags are 0 (in order, often the very same
time as the previous record), some minutes, some around one hour (the default watermark delay),
a few hours to days ("far behind the max event time"); some times sit exactly on window boundaries
(multiples of 10 minutes) or 1 ms before one. About 1.5 % of the lines are invalid: not JSON, JSON
that is not an object, no call_date_time, a call_date_time that is a number or not a real date-time.

As a module: `generate_lines(n, seed, invalid=True, far=True)` -> list of NDJSON lines (no newline),
`generate(...)` -> the same as parsed values (None for a line that is not JSON),
`write_lines(lines, path)`, `event_order(lines)` -> the lines stably sorted by call_date_time
(invalid ones first, as `produce --order event-time` would not send them at all).
"""
import argparse
import datetime as dt
import json
import random
import sys

import gen_synthetic

START = dt.datetime(2018, 10, 2, 9, 0, 0)

INVALID_LINES = [
    "not json at all",
    '{"crime_id": "1", "call_date_time": ',  # truncated JSON
    "[1, 2, 3]",
    '"just a string"',
    "42",
    "null",
    '{"crime_id": "2", "original_crime_type_name": "No Time"}',
    '{"crime_id": "3", "call_date_time": 1538470800}',
    '{"crime_id": "4", "call_date_time": "2018-13-45T99:00:00"}',
    '{"crime_id": "5", "call_date_time": "2018-02-30T10:00:00.000"}',
    '{"crime_id": "6", "call_date_time": "yesterday"}',
    '{"crime_id": "7", "call_date_time": "2018-10-02T09:00:00Z"}',
    '{"crime_id": "8", "call_date_time": "2018-10-02T09:00"}',
    '{"crime_id": "9", "call_date_time": null}',
]


def _fmt(t):
    ms = t.microsecond // 1000
    base = t.strftime("%Y-%m-%dT%H:%M:%S")
    return base + ".%03d" % ms


def _lag(rng, far):
    """A lag (timedelta) of a record behind the clock."""
    u = rng.random()
    if u < 0.55:
        return dt.timedelta(0)
    if u < 0.75:
        return dt.timedelta(seconds=rng.randrange(0, 600))
    if u < 0.85:
        return dt.timedelta(seconds=rng.randrange(600, 3600))
    if u < 0.95:
        return dt.timedelta(seconds=rng.randrange(3300, 3900))  # around 1 h
    if far:
        return dt.timedelta(minutes=rng.randrange(120, 3 * 24 * 60))
    return dt.timedelta(seconds=rng.randrange(0, 1800))


def generate_lines(n, seed, invalid=True, far=True):
    """n NDJSON lines (without newlines) in arrival order; see the module docstring."""
    rng = random.Random(seed)
    clock = START + dt.timedelta(minutes=rng.randrange(0, 30))
    prev = None
    lines = []
    next_id = 180000000 + rng.randrange(0, 1000) * 1000
    for i in range(n):
        if invalid and rng.random() < 0.015:
            lines.append(rng.choice(INVALID_LINES))
            continue
        # the clock
        u = rng.random()
        if u < 0.01:
            clock += dt.timedelta(hours=rng.randrange(2, 7))
        elif u < 0.35:
            pass  # the same clock (equal times when the lag is 0)
        else:
            clock += dt.timedelta(seconds=rng.choice((30, 60, 60, 90, 120, 180)))
        # the event time
        v = rng.random()
        if v < 0.04 and prev is not None:
            t = prev  # exactly the previous record's time
        elif v < 0.08:
            back = clock - dt.timedelta(minutes=rng.randrange(0, 90))
            t = back.replace(minute=back.minute - back.minute % 10, second=0, microsecond=0)
            if rng.random() < 0.4:
                t -= dt.timedelta(milliseconds=1)  # 1 ms before a boundary
        else:
            t = clock - _lag(rng, far)
        prev = t
        next_id += rng.randrange(1, 9)
        rec = gen_synthetic._record(rng, str(next_id), t.replace(microsecond=0),
                                    ms=t.microsecond // 1000)
        rec["call_date_time"] = _fmt(t) if rng.random() < 0.9 else t.strftime("%Y-%m-%dT%H:%M:%S")
        if t.microsecond:
            rec["call_date_time"] = _fmt(t)
        # the generator's own fields
        if rng.random() < 0.9:
            rec["priority"] = rng.choice("AABBC")
        w = rng.random()
        if w < 0.03:
            pass  # no dispatch_date_time
        elif w < 0.04:
            rec["dispatch_date_time"] = "soon"
        else:
            rec["dispatch_date_time"] = _fmt(t + dt.timedelta(seconds=rng.randrange(0, 2400)))
        x = rng.random()
        if x < 0.02:
            del rec["original_crime_type_name"]
        elif x < 0.03:
            rec["original_crime_type_name"] = None
        y = rng.random()
        if y < 0.02:
            del rec["disposition"]
        elif y < 0.03:
            rec["disposition"] = 7
        lines.append(json.dumps(rec, ensure_ascii=False, separators=(",", ":")))
    return lines


def generate(n, seed, invalid=True, far=True):
    out = []
    for line in generate_lines(n, seed, invalid, far):
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append(None)
    return out


def _sort_time(line):
    try:
        v = json.loads(line)
        t = v.get("call_date_time") if isinstance(v, dict) else None
        return dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f" if "." in t else "%Y-%m-%dT%H:%M:%S")
    except (ValueError, TypeError, AttributeError):
        return dt.datetime.min


def event_order(lines):
    """The lines stably sorted by call_date_time (equal times keep their order; lines without a
    valid one come first)."""
    return sorted(lines, key=_sort_time)


def write_lines(lines, path):
    gen_synthetic.write_text("".join(line + "\n" for line in lines), path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, required=True, help="number of lines")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-")
    ap.add_argument("--no-invalid", action="store_true", help="no invalid lines")
    ap.add_argument("--no-far", action="store_true", help="no records days behind the clock")
    ap.add_argument("--order", choices=("arrival", "event-time"), default="arrival")
    a = ap.parse_args(argv)
    lines = generate_lines(a.records, a.seed, not a.no_invalid, not a.no_far)
    if a.order == "event-time":
        lines = event_order(lines)
    write_lines(lines, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
