#!/usr/bin/env python3
"""Benchmark peer: the 30-minute aggregation done by Quix Streams (PyPI quixstreams).

What it measures: how fast a Quix Streams application (the Python stream-processing library in the
style of Kafka Streams) reads a whole topic of SF police calls and counts the records per tumbling
event-time window (on call_date_time) and original_crime_type_name:

    app = Application(broker_address=B, consumer_group=<fresh per run>, auto_offset_reset="earliest")
    topic = app.topic(T, value_deserializer="json", timestamp_extractor=<call_date_time as epoch ms>)
    sdf = app.dataframe(topic)[["original_crime_type_name"]].group_by("original_crime_type_name")
    sdf = sdf.tumbling_window(timedelta(minutes=W), grace_ms=timedelta(minutes=G)).count()
    sdf = sdf.current()    # or .final() with --emit final
    sdf.update(<keep the latest count of each (window, type)>)

call_date_time ("2018-12-31T23:57:00.000") is a naive wall-clock time taken as UTC, as the oracle
(tests/oracle.py) and the other peers take it. group_by() re-keys the stream through an internal
repartition topic (as many partitions as the input), so every record is consumed twice: from the
input, and from the repartition topic, where the window runs.

How it is run (after bench/peers/install-quix, which makes bench/.venv-quix; started with another
interpreter, the script re-executes itself with bench/.venv-quix/bin/python):

    python3 bench/peers/quix_aggregate.py --bootstrap-servers localhost:9092 --topic T \\
        [--window-minutes 30] [--watermark-minutes 60] [--expected-records N] [--dump-rows FILE] \\
        [--emit current|final] [--closing-strategy key|partition] [--timeout-s S]

--watermark-minutes is the windows' grace. The run ends when every record of the topic (the sum of
its partitions' high - low watermarks at start) has gone through the window: on_message_processed
counts the repartition topic's messages and calls app.stop() at the last one. query_s is from
Application() to that moment (topic creation and the group join included, ~1.5 s: start_s);
wall_s from the script's start (interpreter and imports included); records_per_s = records / query_s.

Emission. .final() emits a window only when it closes, when the stream time passes its end + grace,
so the last windows of a finite topic never close and their records are missing. With the closing
strategy "key" (Quix's default) the stream time is per key (crime type), so every type's last
windows stay open (3,501 rows, 3,583 records here). .current() emits the window's count at every
update; the peer keeps the latest one, which includes the open windows. current is the default,
for the reason spark_aggregate.py uses update mode and not append: it is the only answer that can
hold every record of a finite topic. Both cost the same (see below). The JSON says what the answer
misses: `late` (the window's on_late callback), `open_rows`/`open_windows`/`open_records` (windows
that reached the window and emitted nothing, counted next to the window by the peer), and
`rows_short` (emitted rows whose count is not the records that reached them in time: 0).

Late records: with a 60-minute grace, Quix drops about 76% of this topic's records as late.
Quix has no watermark across partitions: the event time is the largest timestamp seen (per key, or
per partition with "partition"), in processing order. The topic is written by `sfcrime produce
--order event-time` in record batches of ~1 MB (~2,330 records, ~6 days of event time of one
partition), the broker hands out whole batches (max.partition.fetch.bytes 4 KiB did not help),
and the consumer processes ~6 days of one partition, then ~6 days of the next: a type's stream time
runs days ahead of the other partitions. With --watermark-minutes 43200 (30 days) nothing is late:
the final() rows equal the oracle's and the current() answer is the oracle's, but at less than half
the speed (7,900 against 17,600 records/s: the windows stay in the state store 30 days longer).

The repartition topic copies the input's retention.ms (Kafka's 7 days), but its messages carry the
event time (2018) as their timestamp: the broker's retention check (every 5 minutes) deleted them
during a run, and the consumer reset to the new start and never finished. The peer sets
retention.ms=-1 in the broker config Quix derives the repartition topic from.

Tuned, as Quix Streams' docs advise (https://quix.io/docs/quix-streams/ configuration.html,
advanced/checkpointing.html, advanced/stateful-processing.html; windows: windowing.html; read in the
docs/ folder of github.com/quixio/quix-streams).
On a 2-core machine (shared: load 2-4), 199,999 records in 6 partitions, --emit final, median of 5
interleaved runs: Quix's defaults 14,100 records/s; + use_changelog_topics=False 16,100; +
commit_interval=30 17,500; + the projection 17,400 (the same, and peak RSS 240 -> 214 MiB).
--emit current with all three: 17,600 (Quix's defaults: 12,400).
  - use_changelog_topics=False ("Disabling Changelog Topics"): no changelog topic, no changelog
    message per updated window at each checkpoint; the state lives in a temporary state_dir only
    (a run never recovers). --changelog turns it back on.
  - commit_interval=30 (Quix's 5 s; "Configuring the Checkpointing": longer intervals flush the
    state and the producer less often): no checkpoint during a run of ~10 s but the final one.
  - the projection to original_crime_type_name before group_by: the repartition topic carries
    {"original_crime_type_name": ...} instead of the whole record (the event time travels as the
    message timestamp). --no-projection re-keys the whole record.
  - processing_guarantee="at-least-once", Quix's default (--exactly-once adds transactions).
  Not set, as it bought nothing: consumer fetch.wait.max.ms=10 (the repartition topic is fed
  while it is read), max.partition.fetch.bytes (see above). The profile is Quix's per-message
  Python path (deserialize, context, state transaction, produce, poll), twice per record.

Output: one JSON line on stdout (peer, records, rows, windows, total_count, complete, late,
open_rows, open_windows, open_records, wall_s, query_s, records_per_s, version, settings, ...);
logs on stderr; exit 0 when the run finished (also when the answer misses records: "complete":
false), 1 on failure (no broker, no topic, timeout, a record count that is not --expected-records).
The run deletes what it made, also on failure or SIGTERM: the topics new since its start whose
name holds its consumer group (listed with the Admin API before and after), the consumer group and
the state directory.
"""

import time

T0 = time.monotonic()  # the peer's start, before any import that costs (wall_s counts from here)

import common  # bench/peers/common.py
from common import die, log
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
from datetime import datetime, timedelta

PEER = "quix"
VENV_PYTHON = common.BENCH / ".venv-quix" / "bin" / "python"
EPOCH = datetime(1970, 1, 1)
MS = timedelta(milliseconds=1)


def ensure_quix_venv(t0):
    """common.ensure_venv for bench/.venv-quix: import quixstreams here, or re-execute this script
    under bench/.venv-quix's interpreter (once), handing over the start time."""
    try:
        import quixstreams  # noqa: F401
        return
    except ImportError:
        pass
    if VENV_PYTHON.exists() and not os.environ.get("SFCRIME_PEER_REEXEC"):
        os.environ["SFCRIME_PEER_REEXEC"] = "1"
        os.environ["SFCRIME_PEER_T0"] = repr(t0)
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), os.path.abspath(sys.argv[0]), *sys.argv[1:]])
    die("quixstreams is not installed for this interpreter and bench/.venv-quix is missing: "
        "run bench/peers/install-quix")


def parse_args():
    p = common.arguments(__doc__.split("\n\n")[0], watermark_help="the windows' grace (default 60)")
    p.add_argument("--emit", choices=("current", "final"), default="current",
                   help="current(): the latest count of every window (default); final(): closed windows only")
    p.add_argument("--closing-strategy", choices=("key", "partition"), default="key",
                   help="what moves the stream time that closes windows (Quix's default: key)")
    p.add_argument("--commit-interval", type=float, default=30.0, metavar="S",
                   help="Application(commit_interval=S) (default 30; Quix's is 5)")
    p.add_argument("--changelog", action="store_true",
                   help="use_changelog_topics=True (Quix's default; here off)")
    p.add_argument("--no-projection", action="store_true",
                   help="re-key the whole record, not only original_crime_type_name")
    p.add_argument("--exactly-once", action="store_true", help='processing_guarantee="exactly-once"')
    a = p.parse_args()
    if a.window_minutes <= 0 or a.watermark_minutes < 0 or a.timeout_s <= 0 or a.commit_interval < 0:
        p.error("--window-minutes and --timeout-s must be positive, "
                "--watermark-minutes and --commit-interval not negative")
    return a


def topic_ends(admin, consumer_conf, topic, timeout_s):
    """(every topic name on the broker, records in `topic` = sum of high - low watermarks)."""
    from confluent_kafka import Consumer, TopicPartition

    md, t = common.topic_metadata(admin, topic, timeout_s)
    c = Consumer(consumer_conf)
    try:
        total = 0
        for p in t.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s, cached=False)
            total += high - low
    finally:
        c.close()
    return set(md.topics), total


def cleanup(admin, before, group, state_dir):
    """Deletes the topics this run made (new since `before` and named after its group), the group
    and the state directory; says what it could not delete."""
    shutil.rmtree(state_dir, ignore_errors=True)
    if admin is None:
        return []
    try:
        made = sorted(t for t in set(admin.list_topics(timeout=10).topics) - before if group in t)
        for t, f in admin.delete_topics(made, operation_timeout=10).items():
            f.result()
        for g, f in admin.delete_consumer_groups([group], request_timeout=10).items():
            f.result()
        return made
    except Exception as e:  # a leftover is worth a message, not a failed measurement
        log(f"warning: cleanup incomplete ({e}); topics named after {group} may be left")
        return []


def main():
    args = parse_args()
    ensure_quix_venv(T0)
    import quixstreams
    from confluent_kafka.admin import AdminClient
    from quixstreams import Application

    t0 = common.start_time(T0)
    deadline = t0 + args.timeout_s
    group = f"sfcrime-bench-quix-{os.getpid()}-{int(time.time())}"
    window = timedelta(minutes=args.window_minutes)
    grace = timedelta(minutes=args.watermark_minutes)
    settings = {
        "emit": args.emit, "closing_strategy": args.closing_strategy,
        "commit_interval": args.commit_interval, "use_changelog_topics": args.changelog,
        "processing_guarantee": "exactly-once" if args.exactly_once else "at-least-once",
        "projection": not args.no_projection,
    }

    admin = AdminClient({"bootstrap.servers": args.bootstrap_servers})
    before, target = topic_ends(admin, {"bootstrap.servers": args.bootstrap_servers, "group.id": group},
                                args.topic, min(30.0, args.timeout_s))
    if target == 0:
        die(f"topic '{args.topic}' is empty")
    state_dir = tempfile.mkdtemp(prefix="sfcrime-quix-state-")

    n = {"input": 0, "windowed": 0, "late": 0, "unparsed": 0, "max_ts": None}
    entered = {}  # (window start ms, type) -> records that reached the window and were not late
    emitted = {}     # (window start ms, type) -> count: the answer
    t_first, t_done = [None], [None]
    app = None

    def extract(value, headers, timestamp, timestamp_type):
        return (datetime.fromisoformat(value["call_date_time"]) - EPOCH) // MS

    def on_consumer_error(exc, message, logger):
        # A value that is not JSON or has no valid call_date_time: counted, left out of the answer.
        if message is not None and message.topic() == args.topic:
            n["unparsed"] += 1
            count_input(None)
            return True
        return False

    def count_input(_value):
        if not n["input"]:
            t_first[0] = time.monotonic()
        n["input"] += 1

    window_ms = window // MS

    def enter(value, key, timestamp, headers):
        k = (timestamp - timestamp % window_ms, key)
        entered[k] = entered.get(k, 0) + 1
        if n["max_ts"] is None or timestamp > n["max_ts"]:
            n["max_ts"] = timestamp

    def on_late(value, key, timestamp_ms, late_by_ms, start, end, name, topic, partition, offset):
        n["late"] += 1
        entered[(start, key)] -= 1
        return False  # counted, not logged one by one

    def collect(value, key, timestamp, headers):
        emitted[(value["start"], key)] = value["value"]

    def on_processed(topic, partition, offset):
        if topic != args.topic:  # a repartitioned record went through the window
            n["windowed"] += 1
            if n["windowed"] + n["unparsed"] >= target and t_done[0] is None:
                t_done[0] = time.monotonic()
                app.stop()

    timed_out = threading.Event()

    def on_timeout():
        timed_out.set()
        if app is not None:
            app.stop()

    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), on_timeout)
    watchdog.daemon = True
    watchdog.start()
    q0 = time.monotonic()  # the query: from the Application's creation to every record windowed
    try:
        app = Application(
            broker_address=args.bootstrap_servers,
            consumer_group=group,
            auto_offset_reset="earliest",
            auto_create_topics=True,  # the repartition topic (the input is checked to exist above)
            state_dir=state_dir,
            use_changelog_topics=args.changelog,
            commit_interval=args.commit_interval,
            processing_guarantee=settings["processing_guarantee"],
            on_consumer_error=on_consumer_error,
            on_message_processed=on_processed,
            loglevel="WARNING",
        )
        topic = app.topic(args.topic, value_deserializer="json", timestamp_extractor=extract)
        # The repartition topic copies the input's retention.ms (here Kafka's 7 days), but its
        # messages carry the event time (2018) as their timestamp: the broker's retention check
        # (every 5 min) deleted them mid-run, and the consumer skipped to the new start. No limit:
        config = topic.broker_config
        config.extra_config["retention.ms"] = "-1"
        topic.broker_config = config
        sdf = app.dataframe(topic)
        sdf = sdf.update(count_input)
        if not args.no_projection:
            sdf = sdf[["original_crime_type_name"]]
        sdf = sdf.group_by("original_crime_type_name")
        sdf = sdf.update(enter, metadata=True)
        w = sdf.tumbling_window(window, grace_ms=grace, on_late=on_late).count()
        sdf = w.final(args.closing_strategy) if args.emit == "final" else w.current(args.closing_strategy)
        sdf.update(collect, metadata=True)
        app.run()
    except Exception as e:
        cleanup(admin, before, group, state_dir)
        die(f"Quix Streams failed: {type(e).__name__}: {e}")
    finally:
        watchdog.cancel()
    run_s = time.monotonic() - q0
    deleted = cleanup(admin, before, group, state_dir)
    if t_done[0] is None:
        why = f"within {args.timeout_s:.0f} s" if timed_out.is_set() else "(stopped by a signal)"
        die(f"not every record of '{args.topic}' was processed {why} "
            f"({n['input']} read, {n['windowed']} windowed of {target})")
    query_s = t_done[0] - q0

    def fmt(ms):
        return (EPOCH + ms * MS).strftime("%Y-%m-%dT%H:%M:%S")

    records = n["input"]
    total = sum(emitted.values())
    open_keys = {k: c for k, c in entered.items() if c > 0 and k not in emitted}
    answer = {
        "peer": PEER,
        "records": records,
        "rows": len(emitted),
        "windows": len({s for s, _ in emitted}),
        "total_count": total,
        "complete": total == records,
        "why_incomplete": None if total == records else "; ".join(x for x in (
            n["late"] and f"{n['late']} records late (beyond the {args.watermark_minutes}-minute grace: "
                          "Quix's event time runs in processing order, which reads partitions days apart)",
            open_keys and f"{sum(open_keys.values())} records in {len(open_keys)} rows of windows that never "
                          "closed (final())",
            n["unparsed"] and f"{n['unparsed']} records not parsed") if x),
        "late": n["late"],
        "dropped": n["late"],  # the name bench/run.py reads
        "unparsed": n["unparsed"],
        # Emitted rows whose count is not the records that reached the window in time (0: each
        # emitted row holds exactly its records that were not late).
        "rows_short": sum(1 for k, c in emitted.items() if c != entered.get(k)),
        # (window, type) rows with records in time of which nothing was emitted: windows that
        # never closed; "at end": those whose end + grace is after the last event time (the others
        # stayed open because their key, with closing strategy "key", had no later record).
        "open_rows": len(open_keys),
        "open_rows_at_end": sum(1 for s, _ in open_keys if s + window_ms + grace // MS > n["max_ts"]),
        "open_windows": len({s for s, _ in open_keys}),
        "open_records": sum(open_keys.values()),
        "open_from": fmt(min(s for s, _ in open_keys)) if open_keys else None,
        "last_event_time": fmt(n["max_ts"]) if n["max_ts"] is not None else None,
        "wall_s": round(time.monotonic() - t0, 3),
        "query_s": round(query_s, 3),
        "start_s": round(t_first[0] - q0, 3),  # to the first record: topic creation, group join
        "run_s": round(run_s, 3),  # app.run() to its return: query_s + the stop (final checkpoint)
        "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 3),
        "records_per_s": round(records / query_s, 1) if query_s > 0 else None,
        "version": f"quixstreams {quixstreams.__version__}",
        "client": f"confluent-kafka {__import__('confluent_kafka').__version__}",
        "python": sys.version.split()[0],
        "settings": settings,
        "window_minutes": args.window_minutes,
        "grace_minutes": args.watermark_minutes,
        "topics_deleted": deleted,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    common.finish(args, answer, ((fmt(s), t, c) for (s, t), c in emitted.items()), records)


if __name__ == "__main__":
    main()
