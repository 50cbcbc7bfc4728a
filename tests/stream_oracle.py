#!/usr/bin/env python3
"""Independent brute-force oracle of docs/streaming.md (the semantics of `sfcrime aggregate`).

Shares no code with sfcrime. It replays an ordered list of messages (the processing order) one by
one, the way the contract describes it, with plain Python containers:

    result = run(messages, Params(window="30m", slide="10m", watermark="1h", mode="update",
                                  max_records_per_trigger=100))
    result.rows              # on-time final rows: one per (window, group key), contract order
    result.late              # number of late records; result.is_late[i] per message index
    result.dropped           # (record, window) pairs skipped because the window was closed
    result.invalid, result.filtered
    result.batches           # per micro-batch (when the batch boundaries are known): input range,
                             # counters, watermark after the batch, rows emitted (mode-dependent)

`messages` are the raw message texts (str) in processing order, or already parsed JSON values.
Batch boundaries are known for a file source with `--max-records-per-trigger N` (batch k holds
messages [kN, (k+1)N); invalid and filtered messages count) and for a regular file with the
default trigger (one batch holding the whole file). The final batch ends with the watermark at
+infinity; whether it is a batch of its own without input or the batch during which the input
ended is `Params.final_batch` (the contract allows both readings; the tests accept either).

`merge_partitions(partitions)` gives the processing order of a complete static topic ("Input
order" in docs/streaming.md): repeatedly the head with the smallest event time among the
partitions' first unprocessed records, a tie to the lowest partition, a record without a valid
event time counting as the smallest.

Times are integers: milliseconds since 1970-01-01T00:00:00 of the naive calendar (no zone), the
fraction of a second truncated to milliseconds. Watermarks are floats -inf / +inf at the ends.

Choices where docs/streaming.md leaves room (see also the report of issue 3):
  - a group value that is a number or boolean gives its JSON text as a *string* ("7", "true");
    an object or array value is given as its compact JSON text too (the contract does not say;
    the tests never use one);
  - `eventTime.min/max` of a batch cover the records that passed steps 1-2 (valid and not
    filtered); `event_min_valid/event_max_valid` also keep the filtered ones;
  - with `--top K` in update mode, a changed row is emitted only when it is among the window's
    first K rows after the batch (the tests do not rely on this);
  - `numInputRows` counts every message of the batch (invalid and filtered ones too);
  - "At the end of input a final batch runs with the watermark at +infinity": either an extra
    batch without input, or the batch during which the end of the input was reached
    (Params.final_batch); the tests accept either, consistently over a run.
"""
import dataclasses
import datetime
import heapq
import json
import math
import re

NEG_INF = float("-inf")
POS_INF = float("inf")

_DT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
                 r"(?:\.([0-9]{1,9}))?")
_EPOCH = datetime.datetime(1970, 1, 1)
_UNITS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


# --------------------------------------------------------------------------- times and durations

def parse_duration_ms(text):
    """'30m' -> 1_800_000. A whole number >= 1 and one of s, m, h, d; an int is taken as ms."""
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"([0-9]+)([smhd])", text)
    if not m or int(m.group(1)) <= 0:
        raise ValueError("bad duration %r" % (text,))
    return int(m.group(1)) * _UNITS[m.group(2)]


def parse_time_ms(value):
    """ms since the naive epoch of 'YYYY-MM-DDTHH:MM:SS[.f{1,9}]' (a string), or None when the
    value is not such a string or not a real calendar date-time."""
    if not isinstance(value, str):
        return None
    m = _DT.fullmatch(value)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    try:
        dt = datetime.datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None
    frac = m.group(7) or ""
    ms = int((frac + "000")[:3])
    return (dt - _EPOCH) // datetime.timedelta(milliseconds=1) + ms


def parse_naive(text):
    """Parses a time as the program prints it ('YYYY-MM-DDTHH:MM:SS[.fff]', also with a space for
    the T, or '-infinity' / '+infinity'); ms, or +-inf. Raises ValueError otherwise."""
    if text in ("-infinity", "+infinity"):
        return NEG_INF if text[0] == "-" else POS_INF
    t = parse_time_ms(text.replace(" ", "T", 1) if isinstance(text, str) else text)
    if t is None:
        raise ValueError("not a naive date-time: %r" % (text,))
    return t


def fmt_ms(t):
    """'YYYY-MM-DDTHH:MM:SS' for whole seconds, with '.mmm' otherwise (window bounds are whole)."""
    dt = _EPOCH + datetime.timedelta(milliseconds=t)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if t % 1000:
        s += ".%03d" % (t % 1000)
    return s


def fmt_watermark(w):
    if w == NEG_INF:
        return "-infinity"
    if w == POS_INF:
        return "+infinity"
    return fmt_ms(w)


def windows_of(t, size, slide):
    """Starts (ascending) of the windows [s, s + size) holding t: s a multiple of slide,
    s <= t < s + size."""
    first = (t - size) // slide + 1  # smallest k with k * slide > t - size
    last = t // slide
    return [k * slide for k in range(first, last + 1)]


# --------------------------------------------------------------------------- one message

INVALID, FILTERED, VALID = "invalid", "filtered", "valid"


def _reject_constant(name):
    raise ValueError("not JSON: %s" % name)


def decode(message):
    """A message (str, bytes or an already parsed value) as a parsed JSON value; raises ValueError
    for a text that is not JSON (NaN and Infinity are not JSON)."""
    if isinstance(message, bytes):
        message = message.decode("utf-8")
    if isinstance(message, str):
        return json.loads(message, parse_constant=_reject_constant)
    return message


def event_time(message, time_field="call_date_time"):
    """The message's event time in ms, or None when it is invalid (step 1 of "Per record")."""
    try:
        value = decode(message)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return parse_time_ms(value.get(time_field))


def group_value(v):
    """Step 5: a string gives its text; a number or boolean its JSON text; missing or null: None."""
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def key_order(key):
    """Sort key of a group key tuple: field by field, null first, strings by code point (= UTF-8
    byte order)."""
    return tuple((0, "") if v is None else (1, v) for v in key)


# --------------------------------------------------------------------------- parameters

@dataclasses.dataclass
class Params:
    window: object = "30m"                  # duration text or ms
    slide: object = None                    # None: = window (tumbling)
    watermark: object = "1h"                # the delay
    by: tuple = ("original_crime_type_name",)
    filters: tuple = ()                     # ((field, (v1, v2, ...)), ...): all must hold
    time_field: str = "call_date_time"
    mode: str = "append"                    # append | update | complete
    top: object = None                      # None: every row
    max_records_per_trigger: object = None  # None: one batch holds every message
    radio_codes: dict = dataclasses.field(default_factory=dict)
    # Which batch is the final one (docs/streaming.md leaves it open, see the module docstring):
    # "separate": an extra batch without input after the last one that had input;
    # "with-last": the batch during which the input ends (the last batch, when it holds fewer than
    #              max_records_per_trigger messages or there is no such limit) is the final batch;
    #              after a full last batch, an extra batch without input.
    final_batch: str = "separate"

    def size_ms(self):
        return parse_duration_ms(self.window)

    def slide_ms(self):
        return self.size_ms() if self.slide is None else parse_duration_ms(self.slide)

    def delay_ms(self):
        return parse_duration_ms(self.watermark)


def parse_filter_option(text):
    """'FIELD=V1,V2' -> (FIELD, (V1, V2))."""
    field, sep, values = text.partition("=")
    if not sep or not field:
        raise ValueError("bad filter %r" % text)
    return field, tuple(values.split(","))


# --------------------------------------------------------------------------- the replay

@dataclasses.dataclass
class Batch:
    batch_id: int
    start: int                  # first message index
    end: int                    # one past the last message index
    final: bool                 # the final batch (no input, watermark +inf)
    late: int = 0
    dropped: int = 0
    invalid: int = 0
    filtered: int = 0
    event_min: object = None    # over records that passed steps 1-2 (None when none)
    event_max: object = None
    event_min_valid: object = None  # over records that passed step 1 (filtered ones included)
    event_max_valid: object = None
    watermark: float = NEG_INF  # after the batch
    max_event: float = NEG_INF  # after the batch
    rows: list = dataclasses.field(default_factory=list)  # emitted, in order
    num_rows_total: int = 0     # (window, group) rows held after the batch
    num_rows_updated: int = 0   # (window, group) rows whose count changed in the batch

    @property
    def num_input(self):
        return self.end - self.start


@dataclasses.dataclass
class Result:
    params: Params
    rows: list                  # on-time final rows (no "final"/"batch_id"), contract order
    late: int
    dropped: int
    invalid: int
    filtered: int
    is_late: list               # per message index
    kinds: list                 # per message index: INVALID, FILTERED or VALID
    times: list                 # per message index: event time (None when invalid)
    late_indices: list
    late_watermarks: list       # the watermark when each late record was judged (ms)
    batches: list               # Batch, in order; the last is the final batch
    windows: dict               # window start -> {group key: Counter of dispositions}, on-time

    def late_messages(self, messages):
        return [messages[i] for i in self.late_indices]


class _Window:
    __slots__ = ("groups",)

    def __init__(self):
        self.groups = {}  # key tuple -> {disposition: n}

    def add(self, key, disposition):
        d = self.groups.setdefault(key, {})
        d[disposition] = d.get(disposition, 0) + 1

    def total(self):
        return sum(sum(d.values()) for d in self.groups.values())


def _usual(dispositions):
    best = max(dispositions.values())
    return min(code for code, n in dispositions.items() if n == best)


def _ranked_rows(start, w, p):
    """All rows of one window, in the contract's order (count descending, key ascending)."""
    size = p.size_ms()
    total = w.total()
    distinct = len(w.groups)
    rows = []
    for key, disp in w.groups.items():
        usual = _usual(disp)
        row = {"window_start": fmt_ms(start), "window_end": fmt_ms(start + size)}
        for field, v in zip(p.by, key):
            row[field] = v
        row.update({"count": sum(disp.values()), "usual_disposition": usual,
                    "usual_disposition_description": p.radio_codes.get(usual),
                    "window_total": total, "window_distinct": distinct})
        rows.append((key, row))
    rows.sort(key=lambda kr: (-kr[1]["count"], key_order(kr[0])))
    return rows


def run(messages, params=None):
    """Replays `messages` (processing order) under `params`; returns a Result."""
    p = params or Params()
    size, slide, delay = p.size_ms(), p.slide_ms(), p.delay_ms()
    if not (0 < slide <= size):
        raise ValueError("need 0 < slide <= window")
    if p.mode not in ("append", "update", "complete"):
        raise ValueError("bad mode %r" % p.mode)
    filters = [(f, frozenset(vs)) for f, vs in p.filters]
    n = len(messages)
    per = p.max_records_per_trigger
    if per is None:
        bounds = [(0, n)] if n else []
    else:
        bounds = [(s, min(s + per, n)) for s in range(0, n, per)]

    held = {}        # window start -> _Window (the engine's state, mode-dependent freeing)
    everything = {}  # window start -> _Window (every on-time record; never freed)
    max_event = NEG_INF
    wm = NEG_INF
    is_late = [False] * n
    kinds = [None] * n
    times = [None] * n
    late_indices, late_wms = [], []
    totals = {"late": 0, "dropped": 0, "invalid": 0, "filtered": 0}
    batches = []

    def end_batch(b, final):
        nonlocal wm
        if final:
            wm = POS_INF
        b.watermark = wm
        b.max_event = max_event
        emitted = []
        closed = sorted(s for s in held if s + size <= wm)
        if p.mode == "append":
            for s in closed:
                emitted.extend(_emit_rows(s, held[s], p, b.batch_id, True, None))
        elif p.mode == "update":
            for s in sorted(held):
                changed = {k for (ws, k) in b._changed if ws == s}
                if changed:
                    emitted.extend(_emit_rows(s, held[s], p, b.batch_id, s + size <= wm, changed))
        else:
            for s in sorted(held):
                emitted.extend(_emit_rows(s, held[s], p, b.batch_id, s + size <= wm, None))
        if p.mode != "complete":
            for s in closed:
                del held[s]
        b.rows = emitted
        b.num_rows_total = sum(len(w.groups) for w in held.values())
        b.num_rows_updated = len(b._changed)
        del b._changed
        batches.append(b)

    merge_last = (p.final_batch == "with-last" and bounds
                  and (per is None or bounds[-1][1] - bounds[-1][0] < per))
    for bid, (lo, hi) in enumerate(bounds):
        is_final = bool(merge_last) and bid == len(bounds) - 1
        b = Batch(bid, lo, hi, is_final)
        b._changed = set()
        for i in range(lo, hi):
            try:
                rec = decode(messages[i])
            except ValueError:
                rec = None
            t = parse_time_ms(rec.get(p.time_field)) if isinstance(rec, dict) else None
            if t is None:
                kinds[i] = INVALID
                b.invalid += 1
                continue
            times[i] = t
            b.event_min_valid = t if b.event_min_valid is None else min(b.event_min_valid, t)
            b.event_max_valid = t if b.event_max_valid is None else max(b.event_max_valid, t)
            if not all(isinstance(rec.get(f), str) and rec[f] in vs for f, vs in filters):
                kinds[i] = FILTERED
                b.filtered += 1
                continue
            kinds[i] = VALID
            b.event_min = t if b.event_min is None else min(b.event_min, t)
            b.event_max = t if b.event_max is None else max(b.event_max, t)
            max_event = max(max_event, t)
            wm = max_event - delay
            starts = windows_of(t, size, slide)
            open_starts = [s for s in starts if s + size > wm]
            b.dropped += len(starts) - len(open_starts)
            if not open_starts:
                is_late[i] = True
                b.late += 1
                late_indices.append(i)
                late_wms.append(wm)
                continue
            key = tuple(group_value(rec.get(f)) for f in p.by)
            disp = rec.get("disposition")
            disp = disp if isinstance(disp, str) else ""
            for s in open_starts:
                held.setdefault(s, _Window()).add(key, disp)
                everything.setdefault(s, _Window()).add(key, disp)
                b._changed.add((s, key))
        end_batch(b, is_final)
        for k in totals:
            totals[k] += getattr(b, k)
    if not merge_last:
        fb = Batch(len(bounds), n, n, True)
        fb._changed = set()
        end_batch(fb, True)

    rows = []
    for s in sorted(everything):
        rows.extend(r for _, r in _ranked_rows(s, everything[s], p))
    return Result(p, rows, totals["late"], totals["dropped"], totals["invalid"],
                  totals["filtered"], is_late, kinds, times, late_indices, late_wms, batches,
                  everything)


def _emit_rows(start, w, p, batch_id, final, changed):
    ranked = _ranked_rows(start, w, p)
    if p.top is not None:
        ranked = ranked[:p.top]
    out = []
    for key, row in ranked:
        if changed is not None and key not in changed:
            continue
        row = dict(row)
        row["final"] = final
        row["batch_id"] = batch_id
        out.append(row)
    return out


# --------------------------------------------------------------------------- derived views

def row_key(row, by=("original_crime_type_name",)):
    """(window_start, key values...) of a row."""
    return (row["window_start"],) + tuple(row.get(f) for f in by)


def last_versions(emitted_rows, by=("original_crime_type_name",)):
    """{(window_start, keys...): the last emitted row} for update/complete outputs."""
    out = {}
    for row in emitted_rows:
        out[row_key(row, by)] = row
    return out


def apply_top(rows, k):
    """The final rows with only each window's first k rows (window_total/distinct unchanged)."""
    if k is None:
        return list(rows)
    out, seen = [], {}
    for r in rows:
        seen[r["window_start"]] = seen.get(r["window_start"], 0) + 1
        if seen[r["window_start"]] <= k:
            out.append(r)
    return out


# --------------------------------------------------------------------------- input order

def merge_partitions(partitions, time_field="call_date_time"):
    """The processing order of a complete static topic.

    `partitions`: {partition number: [message, ...] in offset order} (or a list indexed by
    partition number). Returns [(partition, position in that partition, message), ...]: at each
    step the head with the smallest event time among the partitions' first unprocessed messages,
    a tie going to the lowest partition number, a message without a valid event time counting as
    the smallest."""
    if not isinstance(partitions, dict):
        partitions = dict(enumerate(partitions))
    heads = []
    for part, msgs in partitions.items():
        if msgs:
            heads.append((_merge_time(msgs[0], time_field), part, 0))
    heapq.heapify(heads)
    out = []
    while heads:
        _, part, pos = heapq.heappop(heads)
        msgs = partitions[part]
        out.append((part, pos, msgs[pos]))
        if pos + 1 < len(msgs):
            heapq.heappush(heads, (_merge_time(msgs[pos + 1], time_field), part, pos + 1))
    return out


def _merge_time(message, time_field):
    t = event_time(message, time_field)
    return NEG_INF if t is None else t


# --------------------------------------------------------------------------- command line

def main(argv=None):
    """python3 tests/stream_oracle.py FILE|- [--window 30m] [--slide D] [--watermark 1h]
    [--output-mode M] [--by F,...] [--filter F=V,...]... [--time-field F] [--top K]
    [--max-records-per-trigger N] [--radio-codes FILE] [--final-batch separate|with-last]

    Prints the rows `sfcrime aggregate --file FILE --output json` should emit (NDJSON lines, one
    message a line), batch after batch, and a summary on stderr."""
    import argparse
    import sys
    ap = argparse.ArgumentParser(description="Replays docs/streaming.md over an NDJSON file.")
    ap.add_argument("file")
    ap.add_argument("--window", default="30m")
    ap.add_argument("--slide")
    ap.add_argument("--watermark", default="1h")
    ap.add_argument("--output-mode", default="append", choices=("append", "update", "complete"))
    ap.add_argument("--by", default="original_crime_type_name")
    ap.add_argument("--filter", action="append", default=[])
    ap.add_argument("--time-field", default="call_date_time")
    ap.add_argument("--top", type=int)
    ap.add_argument("--max-records-per-trigger", type=int)
    ap.add_argument("--radio-codes")
    ap.add_argument("--final-batch", default="separate", choices=("separate", "with-last"))
    a = ap.parse_args(argv)
    f = sys.stdin if a.file == "-" else open(a.file, encoding="utf-8")
    with f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    codes = {}
    if a.radio_codes:
        with open(a.radio_codes, encoding="utf-8") as rc:
            codes = {o["disposition_code"]: o["description"] for o in json.load(rc)}
    params = Params(window=a.window, slide=a.slide, watermark=a.watermark, mode=a.output_mode,
                    by=tuple(a.by.split(",")), filters=tuple(map(parse_filter_option, a.filter)),
                    time_field=a.time_field, top=a.top,
                    max_records_per_trigger=a.max_records_per_trigger, radio_codes=codes,
                    final_batch=a.final_batch)
    r = run(lines, params)
    for b in r.batches:
        for row in b.rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stderr.write("%d messages, %d batches, %d late, %d (record, window) pairs dropped, "
                     "%d invalid, %d filtered, %d on-time rows in %d windows\n" % (
                         len(lines), len(r.batches), r.late, r.dropped, r.invalid, r.filtered,
                         len(r.rows), len(r.windows)))
    return 0


# --------------------------------------------------------------------------- sanity

def _selftest():
    assert windows_of(parse_time_ms("2018-10-02T09:05:00"), 1_800_000, 600_000) == [
        parse_time_ms("2018-10-02T08:40:00"), parse_time_ms("2018-10-02T08:50:00"),
        parse_time_ms("2018-10-02T09:00:00")]
    assert parse_time_ms("1969-12-31T23:59:59.5") == -500
    assert parse_time_ms("2018-02-30T00:00:00") is None
    assert parse_time_ms("2018-10-02 09:00:00") is None
    assert math.isinf(parse_naive("-infinity"))


_selftest()


# --------------------------------------------------------------------------- reading sfcrime's output
# (helpers for the tests: they parse what the program printed; nothing here computes an answer)

ON_TIME_KEYS = ("window_start", "window_end", "count", "usual_disposition",
                "usual_disposition_description", "window_total", "window_distinct")


def json_rows(stdout):
    """One JSON object per non-empty line of stdout."""
    rows = []
    for i, line in enumerate(stdout.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                raise AssertionError("stdout line %d is not JSON (%s): %r" % (i, e, line[:300]))
    return rows


def progress_reports(stderr):
    """The `--progress json` objects among the lines of stderr (other lines are diagnostics)."""
    out = []
    for line in stderr.splitlines():
        s = line.strip()
        if s.startswith("{") and '"batchId"' in s:
            out.append(json.loads(s))
    return out


def project(row, by):
    """A row restricted to the keys the on-time rows have."""
    keys = ON_TIME_KEYS[:2] + tuple(by) + ON_TIME_KEYS[2:]
    missing = [k for k in keys if k not in row]
    if missing:
        raise AssertionError("row lacks %s: %r" % (missing, row))
    return {k: row[k] for k in keys}


def final_view(emitted, mode, by=("original_crime_type_name",)):
    """The answer an output shows in the end, as a list of projected rows:
    append: every emitted row (each (window, key) must be emitted once);
    complete: the rows of the last batch (every row held; with --top the first K of each window);
    update: the last emitted version of each (window, key), with window_total and window_distinct taken from the window's last emitted
    row (an unchanged row keeps the totals of the batch that last changed it)."""
    if mode == "append":
        seen = {}
        for r in emitted:
            k = row_key(r, by)
            if k in seen:
                raise AssertionError("append mode emitted %r twice: %r and %r" % (k, seen[k], r))
            seen[k] = r
        return [project(r, by) for r in emitted]
    if mode == "complete":
        # The last batch (the final one, when the input ended) emits every window held.
        if not emitted:
            return []
        newest = max(r["batch_id"] for r in emitted)
        return [project(r, by) for r in emitted if r["batch_id"] == newest]
    last = last_versions(emitted, by)
    out = [project(r, by) for r in last.values()]
    if mode == "update":
        newest = {}
        for r in emitted:
            ws = r["window_start"]
            if ws not in newest or r["batch_id"] >= newest[ws]["batch_id"]:
                newest[ws] = r
        for r in out:
            n = newest[r["window_start"]]
            r["window_total"], r["window_distinct"] = n["window_total"], n["window_distinct"]
    return out


def diff_rows(actual, expected, by=("original_crime_type_name",), limit=6):
    """'' when the two lists of rows hold the same rows (by (window, key), order ignored),
    else a short description of the differences."""
    def keyed(rows, what):
        out = {}
        for r in rows:
            k = row_key(r, by)
            if k in out:
                return None, "%s has two rows for %r" % (what, k)
            out[k] = r
        return out, ""
    a, err = keyed(actual, "sfcrime")
    if err:
        return err
    e, err = keyed(expected, "oracle")
    if err:
        return err
    problems = []
    only_e = sorted(set(e) - set(a), key=repr)
    only_a = sorted(set(a) - set(e), key=repr)
    if only_e:
        problems.append("%d rows missing, e.g. %r" % (len(only_e), [e[k] for k in only_e[:limit]]))
    if only_a:
        problems.append("%d unexpected rows, e.g. %r" % (len(only_a), [a[k] for k in only_a[:limit]]))
    differ = [k for k in sorted(set(a) & set(e), key=repr) if a[k] != e[k]]
    if differ:
        problems.append("%d rows differ, e.g.\n  %s" % (len(differ), "\n  ".join(
            "%r: sfcrime %r, oracle %r" % (k, {f: a[k].get(f) for f in e[k] if a[k].get(f) != e[k][f]},
                                           {f: e[k][f] for f in e[k] if a[k].get(f) != e[k][f]})
            for k in differ[:limit])))
    if problems:
        return "(%d rows vs %d expected) " % (len(actual), len(expected)) + "\n".join(problems)
    return ""


def state_bound(result, watermark, max_event):
    """An upper bound of the rows an append/update engine may hold after a batch, from the
    on-time answer alone: over the windows between the watermark and max_event (end > watermark,
    start <= max_event), the number of groups each has in the end."""
    size = result.params.size_ms()
    bound = 0
    for s, w in result.windows.items():
        if s + size > watermark and s <= max_event:
            bound += len(w.groups)
    return bound


if __name__ == "__main__":
    raise SystemExit(main())
