#!/usr/bin/env python3
"""Benchmark peer: the 30-minute aggregation done by a plain Python script with confluent-kafka.

What it measures: how fast "a plain Python script doing the same aggregation" (what the Kafka
course projects write next to their Spark job) reads a whole topic of SF police calls and counts
records per 30-minute tumbling event-time window and original_crime_type_name. It is one of the
peers bench/run.py compares sfcrime with.

How it is run (after bench/peers/install, which makes bench/.venv; started with another
interpreter, the script re-executes itself with bench/.venv/bin/python):

    python3 bench/peers/python_aggregate.py --bootstrap-servers localhost:9092 --topic T \
        [--window-minutes 30] [--watermark-minutes 60] [--expected-records N] [--dump-rows FILE]

It assigns every partition from OFFSET_BEGINNING, reads each one up to the high watermark taken at
start (get_watermark_offsets), parses each value with json.loads and call_date_time with datetime
(a naive wall-clock time, taken as UTC: no time-zone conversion), and keys a dict by (window start,
crime type); windows are [start, end) aligned to the epoch, as Spark's window() makes them.
It prints one JSON line to stdout (records, rows, windows, total_count, wall_s, query_s,
records_per_s, client, ...); logs and errors go to stderr; exit 0 on success, 1 on failure.
"""

import time

T0 = time.monotonic()  # the peer's start, before any import that costs (wall_s counts from here)

import common  # bench/peers/common.py
from common import die, log
import json
import os
import resource
import sys
from datetime import datetime, timedelta

PEER = "python"


def parse_args():
    # --watermark-minutes is accepted for the common interface and echoed, not applied: the read is
    # bounded and complete, and every record is counted, as Spark's update mode does for records
    # that are not late (the runner's topics are produced in event-time order, so none is).
    p = common.arguments(__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=1000, metavar="N",
                   help="messages per Consumer.consume() call (1: one poll() per message, as the "
                        "course projects do)")
    a = p.parse_args()
    if a.window_minutes <= 0 or a.watermark_minutes < 0 or a.batch <= 0 or a.timeout_s <= 0:
        p.error("--window-minutes and --batch must be positive, --watermark-minutes not negative")
    return a


def high_watermarks(consumer, topic, timeout_s):
    """{partition: high watermark} of the topic now, i.e. the end this run reads up to."""
    from confluent_kafka import KafkaException, TopicPartition

    _md, t = common.topic_metadata(consumer, topic, timeout_s)
    ends = {}
    for p in sorted(t.partitions):
        try:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s,
                                                        cached=False)
        except KafkaException as e:
            die(f"cannot read the offsets of partition {p} of '{topic}' ({e})")
        ends[p] = high
    return ends


def main():
    args = parse_args()
    common.ensure_venv("confluent_kafka", T0)
    import confluent_kafka
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    t0 = common.start_time(T0)
    deadline = t0 + args.timeout_s
    window = timedelta(minutes=args.window_minutes)
    epoch = datetime(1970, 1, 1)

    q0 = time.monotonic()  # the query: from the client's creation to the finished answer
    fatal, seen = [], set()

    def on_error(err):
        # librdkafka retries most errors itself: say each kind once, remember the fatal ones.
        if err.code() not in seen:
            seen.add(err.code())
            log(f"kafka: {err}")
        if err.fatal() or err.code() == KafkaError._ALL_BROKERS_DOWN:
            fatal.append(err)

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap_servers,
        # assign() needs no group, but the client wants a group.id; nothing is committed.
        "group.id": f"sfcrime-bench-python-{os.getpid()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "error_cb": on_error,
    })
    try:
        ends = high_watermarks(consumer, args.topic, min(30.0, args.timeout_s))
        remaining = {p: high for p, high in ends.items() if high > 0}
        consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in remaining])

        counts = {}  # (window index since the epoch, crime type) -> records
        records = unparsed = 0
        while remaining:
            if fatal:
                die(f"the Kafka client gave up: {fatal[0]}")
            if time.monotonic() > deadline:
                die(f"not at the end of '{args.topic}' after {args.timeout_s:.0f} s "
                    f"({records} records read, partitions left: {sorted(remaining)})")
            if args.batch == 1:
                m = consumer.poll(1.0)
                msgs = [m] if m is not None else []
            else:
                msgs = consumer.consume(num_messages=args.batch, timeout=1.0)
            if not msgs:
                # The last offsets of a partition may be transaction markers, which are never
                # delivered: the position (next offset to fetch) still moves past them.
                for tp in consumer.position([TopicPartition(args.topic, p) for p in remaining]):
                    if tp.offset >= remaining.get(tp.partition, 0):
                        del remaining[tp.partition]
                continue
            for m in msgs:
                err = m.error()
                if err is not None:
                    if err.fatal() or not err.retriable():
                        die(f"consuming '{args.topic}': {err}")
                    log(f"kafka: {err}")
                    continue
                p, off = m.partition(), m.offset()
                end = remaining.get(p)
                if end is None or off >= end:
                    continue  # written after we started: not part of this run's input
                if off + 1 >= end:
                    del remaining[p]
                    consumer.pause([TopicPartition(args.topic, p)])
                records += 1
                # Same meaning as the Spark query: a value that is not JSON, or a call_date_time
                # that does not parse, lands in a window of None (Spark's null window).
                rec = None
                try:
                    rec = json.loads(m.value())
                    crime_type = rec.get("original_crime_type_name")
                    key = ((datetime.fromisoformat(rec["call_date_time"]) - epoch) // window,
                           crime_type)
                except (ValueError, TypeError, KeyError, AttributeError):
                    unparsed += 1
                    crime_type = rec.get("original_crime_type_name") if isinstance(rec, dict) else None
                    key = (None, crime_type)
                counts[key] = counts.get(key, 0) + 1
    finally:
        consumer.close()
    query_s = time.monotonic() - q0

    def window_start(k):
        return None if k is None else (epoch + k * window).strftime("%Y-%m-%dT%H:%M:%S")

    rows = [(window_start(k), t, n) for (k, t), n in counts.items()]
    answer = {
        "peer": PEER,
        "records": records,
        "rows": len(rows),
        "windows": len({k for k, _ in counts}),
        "total_count": sum(counts.values()),
        "wall_s": round(time.monotonic() - t0, 3),
        "query_s": round(query_s, 3),
        "records_per_s": round(records / query_s, 1) if query_s > 0 else None,
        "client": f"confluent-kafka {confluent_kafka.__version__}",
        "librdkafka": confluent_kafka.libversion()[0],
        "python": sys.version.split()[0],
        "partitions": len(ends),
        "batch": args.batch,
        "unparsed": unparsed,
        "window_minutes": args.window_minutes,
        "watermark_minutes": args.watermark_minutes,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    common.finish(args, answer, rows, records)


if __name__ == "__main__":
    main()
