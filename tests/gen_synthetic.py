#!/usr/bin/env python3
"""Deterministic, seeded generator of synthetic SF police calls for service.

    python3 tests/gen_synthetic.py --records N --seed S --format array|compact|ndjson --out FILE
                                   [--radio-codes-out FILE]

Every record has the same 14 keys as the real DataSF extract, all JSON strings. Every value is
invented here (crime types, addresses, ids, disposition codes and their descriptions): nothing is
copied from the real data. Records are sorted by call_date_time descending (newest first), like
the real file, so a producer sending them in file order feeds a stream whose event time runs
backwards.

Formats:
  array    pretty-printed JSON array, 2-space indent, raw UTF-8 (non-ASCII written as is)
  compact  one JSON array on one line, ASCII only (non-ASCII as \\uXXXX escapes, emoji as
           surrogate pairs), no spaces
  ndjson   one compact JSON object per line, raw UTF-8

Edge cases included on purpose (for N >= 50 or so; all of them for N >= 200):
  - crime types and addresses with escaped quotes, backslashes, slashes, non-ASCII ("Café"), emoji;
  - empty city and common_location strings (common_location is mostly empty, as in the real data);
  - a few duplicated crime_id values (one exact duplicate record, others with different content);
  - disposition codes absent from the synthetic radio codes file (and codes that are lexically
    tricky: a digit code, a code with a space, upper/lower case variants);
  - call_date_time exactly on 30-minute boundaries (and one millisecond before one);
  - ties between dispositions within one (30-minute window, type), where the lexically larger code
    comes first in file order; the times 01:00-01:59 of 2018-11-04 (ambiguous local time in San
    Francisco) and 02:00-02:59 of 2018-03-11 (non-existent local time): naive times must not move;
  - a few records far from the bulk (a leap day, 2000-01-01T00:00:00): old, late events.

Usable as a module: `generate(n, seed)` returns the records (list of dicts, sorted), and
`radio_codes(seed)` the radio code objects; `write_records(records, fmt, path)`.
"""
import argparse
import datetime as dt
import json
import random
import sys

KEYS = ("crime_id", "original_crime_type_name", "report_date", "call_date", "offense_date",
        "call_time", "call_date_time", "disposition", "address", "city", "state", "agency_id",
        "address_type", "common_location")

# Invented crime types (weights give a skewed distribution so windows hold repeats).
CRIME_TYPES = [
    ("Loud Parrot", 30),
    ("Suspicious Kite", 25),
    ("Skateboard Nuisance", 22),
    ("Fog Horn Misuse", 18),
    ("Sidewalk Chalk Dispute", 15),
    ("Unlicensed Busking", 14),
    ("Cable Car Surfing", 12),
    ("Sourdough Theft", 10),
    ("Hill Bomb / Speeding", 10),
    ("Café Dispute", 8),
    ('Fake "Gold" Nugget Sale', 6),
    ("Back\\slash Graffiti", 6),
    ("Stolen 🚲 Bicycle", 5),
    ("Ünïcödé Trespass — Ñandú", 4),
    ("Sea Lion Noise", 4),
    ("Drone Over Pier", 3),
    ("Foghorn / \"Sirens\" \\ Both", 2),
    ("Seagull Food Snatch", 2),
    ("Lost Tourist 迷子", 2),
    ("Misplaced Trolley", 1),
    ("Rooftop Goat", 1),
    ("Tide Pool Disturbance", 1),
]
# Types only the injected ties use (never drawn for the bulk, so the ties survive).
TIE_TYPES = ['Tied "Kite" Case', "Tied Café Case", "Tied \\ Goat Case", "Tied 🌊 Tide Case"]

# Invented disposition codes (weights) and their invented descriptions; None = absent from the
# radio codes file on purpose.
DISPOSITIONS = [
    ("QRT", 30, "Quietly Resolved Today"),
    ("MOP", 20, "Moved On Peacefully"),
    ("ZNA", 15, "Zone Not Applicable"),
    ("BKX", 12, "Booked Externally"),
    ("WRN", 10, "Warned"),
    ("Unlogged", 10, None),
    ("FLD", 8, "Filed"),
    ("07", 5, "Code Seven — \"Meal Break\""),
    ("KLP", 4, None),
    ("Mop", 3, "Mop (lower-case variant)"),
    ("YQZ", 3, None),
    ("DRT", 2, "Deferred To Tomorrow"),
    ("NO CODE", 1, None),
]

STREETS = ["Zephyr St", "Quillfeather Av", "Moonbeam Bl", "Tamarack Wy", "Lumen St",
           "Periwinkle Av", "Ostrander Ct", "Vexley St", "Brambleworth Av", "Corvid Ln",
           "Halcyon Tr", "Nimbus Wy", "Ember St", "Kestrel Av", "Juniperhill Bl"]
ODD_STREETS = ['The "Nook" Alley', "Back\\Slash Pl", "Café Olé Wy", "🚲 Bikeway", "Straße Ct",
               "Él Niño Av"]
COMMON_LOCATIONS = ["Moonbeam Plaza, Sf", "Zephyr Rec Center, Sf", "Pier 99½, Sf",
                    'Quill "Q" Tower, Sf', "Kestrel Library \\ Annex, Sf"]
CITIES = ["San Francisco"] * 20 + ["", "", "Treasure Isle", "Sausalitö"]
ADDRESS_TYPES = ["Premise Address", "Intersection", "Common Location", "Geo-Override"]

# The bulk of the records falls in this naive range; it contains the 2018-11-04 DST fall-back
# hour. Records after the bulk's newest second are the injected edge cases.
BULK_END = dt.datetime(2018, 11, 5, 23, 59)
STRINGENT_TIMES = [  # naive times that a time-zone conversion would shift or reject
    dt.datetime(2018, 11, 4, 1, 0), dt.datetime(2018, 11, 4, 1, 30), dt.datetime(2018, 11, 4, 1, 59),
    dt.datetime(2018, 3, 11, 2, 0), dt.datetime(2018, 3, 11, 2, 30),
    dt.datetime(2016, 2, 29, 23, 30), dt.datetime(2000, 1, 1, 0, 0),
]


def _fmt_dt(t, ms=0):
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03d" % ms


def _pick(rng, pairs):
    names = [p[0] for p in pairs]
    weights = [p[1] for p in pairs]
    return rng.choices(names, weights=weights, k=1)[0]


def _address(rng):
    kind = rng.random()
    streets = STREETS + (ODD_STREETS if rng.random() < 0.15 else [])
    if kind < 0.5:
        return "%d Block Of %s" % (rng.randrange(1, 50) * 100, rng.choice(streets)), "Premise Address"
    if kind < 0.9:
        a, b = rng.sample(streets, 2)
        return "%s/%s" % (a, b[0].lower() + b[1:]), "Intersection"
    return rng.choice(streets), rng.choice(ADDRESS_TYPES)


def _record(rng, crime_id, t, ms=0, ctype=None, disposition=None):
    date = t.replace(hour=0, minute=0, second=0)
    report = date + dt.timedelta(days=1) if rng.random() < 0.05 else date
    address, address_type = _address(rng)
    common = rng.choice(COMMON_LOCATIONS) if rng.random() < 0.1 else ""
    if common:
        address_type = "Common Location"
    return {
        "crime_id": crime_id,
        "original_crime_type_name": ctype if ctype is not None else _pick(rng, CRIME_TYPES),
        "report_date": _fmt_dt(report),
        "call_date": _fmt_dt(date),
        "offense_date": _fmt_dt(date),
        "call_time": t.strftime("%H:%M"),
        "call_date_time": _fmt_dt(t, ms),
        "disposition": disposition if disposition is not None else _pick(rng, DISPOSITIONS),
        "address": address,
        "city": rng.choice(CITIES),
        "state": "CA",
        "agency_id": rng.choice(["1", "1", "1", "2"]),
        "address_type": address_type,
        "common_location": common,
    }


def generate(n, seed):
    """Returns n synthetic records (dicts with the 14 string keys), sorted newest first."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    # About 800 records a day, at least one day: windows of 30 minutes hold ~17 records.
    span_minutes = max(24 * 60, n * 24 * 60 // 800)
    start = BULK_END - dt.timedelta(minutes=span_minutes)
    next_id = [970000000 + rng.randrange(0, 1000) * 1000]

    def new_id():
        next_id[0] += rng.randrange(1, 9)
        return str(next_id[0])

    records = []

    def add(rec):
        if len(records) < n:
            records.append(rec)

    # 1. Edge cases first (so a small n still gets the most important ones).
    # Ties within one (30-minute window, type): the larger code first in file order (the file is
    # sorted descending, so the larger code gets the later time).
    tie_base = BULK_END - dt.timedelta(hours=3)  # 20:59 -> window [20:30, 21:00)
    tie_base = tie_base.replace(minute=30)
    for ctype, codes in zip(TIE_TYPES, (("ZNA", "QRT"), ("MOP", "Mop"), ("KLP", "07"),
                                        ("YQZ", "NO CODE"))):
        big, small = max(codes), min(codes)
        add(_record(rng, new_id(), tie_base + dt.timedelta(minutes=20), ctype=ctype, disposition=big))
        add(_record(rng, new_id(), tie_base + dt.timedelta(minutes=19), ctype=ctype, disposition=big))
        add(_record(rng, new_id(), tie_base + dt.timedelta(minutes=5), ctype=ctype, disposition=small))
        add(_record(rng, new_id(), tie_base, ctype=ctype, disposition=small))
        tie_base -= dt.timedelta(minutes=30)
    # Exactly on 30-minute boundaries, and one millisecond / one second before one.
    b = BULK_END.replace(minute=0) - dt.timedelta(hours=7)
    add(_record(rng, new_id(), b, ctype="Sea Lion Noise"))
    add(_record(rng, new_id(), b - dt.timedelta(seconds=1), ms=999, ctype="Sea Lion Noise"))
    add(_record(rng, new_id(), b + dt.timedelta(minutes=30), ctype="Sea Lion Noise"))
    add(_record(rng, new_id(), b + dt.timedelta(minutes=29, seconds=59), ctype="Sea Lion Noise"))
    # Naive times a zone conversion would break, and far-away (late) events.
    for t in STRINGENT_TIMES:
        add(_record(rng, new_id(), t))
    # Every crime type and every disposition at least once.
    for i, (ctype, _) in enumerate(CRIME_TYPES):
        add(_record(rng, new_id(), start + dt.timedelta(minutes=37 * i + 11), ctype=ctype))
    for i, (code, _, _) in enumerate(DISPOSITIONS):
        add(_record(rng, new_id(), start + dt.timedelta(minutes=41 * i + 7), disposition=code))
    # Empty city and common_location for sure.
    r = _record(rng, new_id(), start + dt.timedelta(minutes=3))
    r["city"] = ""
    r["common_location"] = ""
    add(r)

    n_edge = len(records)

    # 2. The bulk: uniform random minutes in the span, some exactly on :00 and :30.
    while len(records) < n:
        m = rng.randrange(0, span_minutes)
        t = start + dt.timedelta(minutes=m)
        if rng.random() < 0.05:
            t = t.replace(minute=rng.choice((0, 30)))
        add(_record(rng, new_id(), t))

    # 3. Duplicated crime_id values: one exact duplicate record, a few reused ids.
    # Only bulk records are touched, so the edge cases above stay as they are.
    dups = max(1, min(4, n // 500))
    if n - n_edge >= 2 * dups + 2:
        v = rng.sample(range(n_edge, n), 2 * dups + 2)
        records[v[0]] = dict(records[v[1]])  # an exact duplicate record
        for i in range(dups):  # the same id with different content
            records[v[2 + 2 * i]]["crime_id"] = records[v[3 + 2 * i]]["crime_id"]

    # Newest first; ties broken by crime_id descending, then the whole record (deterministic).
    records.sort(key=lambda r: (r["call_date_time"], r["crime_id"],
                                json.dumps(r, sort_keys=True)), reverse=True)
    return records


def radio_codes(seed=0):
    """The synthetic radio codes: most (not all) of the codes used, with invented descriptions."""
    rng = random.Random(seed)
    items = [{"disposition_code": c, "description": d} for c, _, d in DISPOSITIONS if d is not None]
    # Codes nobody uses, too.
    items.append({"disposition_code": "XYZ", "description": "Never Used"})
    items.append({"disposition_code": "OLD", "description": "Obsolete Code"})
    rng.shuffle(items)
    return items


def write_records(records, fmt, path):
    if fmt == "array":
        text = json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "compact":
        text = json.dumps(records, separators=(",", ":"), ensure_ascii=True)
    elif fmt == "ndjson":
        text = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n"
                       for r in records)
    else:
        raise ValueError("unknown format %r" % fmt)
    write_text(text, path)


def write_text(text, path):
    """Writes `text` to `path` ('-': standard output) as UTF-8 with LF line ends."""
    if path == "-":
        sys.stdout.write(text)
    else:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, required=True, help="number of records")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--format", choices=("array", "compact", "ndjson"), default="array")
    ap.add_argument("--out", default="-", help="output file, '-' for standard output")
    ap.add_argument("--radio-codes-out", help="also write a synthetic radio codes file here")
    a = ap.parse_args(argv)
    if a.records < 0:
        ap.error("--records must be >= 0")
    write_records(generate(a.records, a.seed), a.format, a.out)
    if a.radio_codes_out:
        with open(a.radio_codes_out, "w", encoding="utf-8") as f:
            json.dump(radio_codes(a.seed), f, indent=2, ensure_ascii=False)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
