#!/usr/bin/env python3
"""Benchmark peer: the 30-minute aggregation done by a Kafka Streams application (Java, kafka-streams 4.1.1).

What it measures: how fast the Kafka Streams DSL, tuned for throughput, counts a whole topic of SF
police calls per tumbling event-time window (call_date_time, naive, read as UTC) and
original_crime_type_name, with the topology a Kafka Streams user writes for it:
builder.stream(topic) -> groupBy(type) (a repartition topic) -> windowedBy(TimeWindows.
ofSizeAndGrace(window, grace)) -> count() (a window store and its changelog topic), the count
table's change stream collected into a map until the counts add up to --expected-records.
bench/peers/kstreams/src/main/java/sfcrime/bench/KStreamsAggregate.java has the details (JSON read
with Jackson's streaming parser; how the end is detected; the clean-up of its topics, group and
state). It is one of the peers bench/run.py can compare sfcrime with.

How it is run (after bench/peers/install-kstreams, which builds bench/.kstreams/; this launcher
needs the standard library only, any python3, and java 17+ on PATH):

    python3 bench/peers/kstreams_aggregate.py --bootstrap-servers localhost:9092 --topic T \
        [--window-minutes 30] [--watermark-minutes 60] [--expected-records N] [--dump-rows FILE] \
        [--guarantee at_least_once|exactly_once_v2] [--threads 2] [--timeout-s 600] ...

It runs `java -Xmx1g -XX:+UseParallelGC -jar bench/.kstreams/kstreams-aggregate.jar ...` (Kafka's
own log lines on stderr, at WARN) and prints the app's one JSON line on stdout with the launcher's
figures added. --watermark-minutes is the windows' grace period. --timeout-s bounds the run: the
app's own deadline is the time left less 5 s for its clean-up; past --timeout-s it is sent SIGTERM
(its shutdown hook closes it and deletes its topics) and SIGKILL 30 s later. The figures:

    records        records read from the topic
    total_count    the sum of the final counts; rows, windows: of the answer
    complete       the counts sum to --expected-records (without it: nothing was dropped). When
                   they do not, "missing" is the difference, and dropped_late the records Kafka
                   Streams dropped because their window had closed (task metric dropped-records-total)
    wall_s         from this script's start to the app's exit (JVM start and clean-up included)
    jvm_start_s    from starting java to KafkaStreams.start(): the JVM, class loading, the topic's
                   description (an Admin client) and building the topology
    first_record_s from KafkaStreams.start() to the first record read (the group's join, the
                   internal topics' creation, the first fetch)
    query_s        from KafkaStreams.start() to the answer complete (the last count update, flushed
                   at the commit after the last record)
    records_per_s  records / query_s
    cpu_s, jvm_peak_rss_mb   the JVM's user+system CPU seconds and peak RSS (rusage of the child)
    settings       every Streams, consumer and producer setting the app set; gc, heap

Exit 0 with an answer, complete or not (the runner shows "complete": false and "missing"); 1 on an
error (no broker, no topic, a stream thread died, the timeout), with the reason on stderr.

The grace and late records: Kafka Streams measures a window's close against each count task's
stream time, the largest event time its repartition partition has seen; the 6 source tasks write
into every repartition partition, each at its own pace (a fetch holds days of event time of one
partition), so a record is late as soon as another source task is more than the grace ahead of
its own. With --watermark-minutes 60, about 83% of the real data (165,000 of 199,999 records) is
dropped as late; the answer equals tests/oracle.py's with a grace longer than the data's span
(90.6 days: --watermark-minutes 1000000, say). max.task.idle.ms cannot help: each task reads one
partition.

What is tuned, and why. Sources: Apache Kafka's "Configuring a Streams Application"
(docs/streams/developer-guide/config-streams.html: num.stream.threads, commit.interval.ms,
statestore.cache.max.bytes, topology.optimization "recommended", the client settings Streams
overrides) and "Memory Management" (memory-mgmt.html: the record cache, flushed at each commit or
under cache pressure); Confluent's "Optimize Confluent Cloud Clients for Throughput"
(docs.confluent.io/cloud/current/client-apps/optimizing/throughput.html: batch.size 100000-200000,
linger.ms 10-100, compression lz4, fetch.min.bytes ~100000). Each default below is what measured
best on this 2-core machine, which also runs the broker (at_least_once, records/s = records /
query_s, 199,999 records, 6 partitions, grace longer than the data, median of 3 interleaved runs,
2026-12-07; the machine was shared, so the spread is wide): all defaults 38,500 records/s; Streams'
and the clients' own defaults (commit.interval.ms 100 kept) 31,500; each default undone alone:
  --threads 2                num.stream.threads, one per core (1 thread: -35%)
  --commit-interval-ms 100   the final counts wait up to one interval in the cache; Streams'
                             default is 30000 ms for at_least_once (the answer would wait up to
                             30 s), 100 ms for exactly_once_v2; 1000 ms measured no faster
  --cache-bytes 64 MiB       statestore.cache.max.bytes (Streams: 10 MiB): the 106,570 (window,
                             type) counts fit, fewer evictions and changelog writes (10 MiB: 36,000)
  --store memory             Stores.inMemoryWindowStore; RocksDB, the DSL's default: 32,700
  --max-poll-records 5000, --fetch-min-bytes 100000   (Streams: 1000; the client: 1): 33,800
  --batch-size 131072        the producer's, for the repartition and changelog topics (16384: 31,300)
  --linger-ms 100            Streams' own default, kept
  --compression none         lz4: 34,900 (the broker is local; CPU is what is short)
  --gc parallel              ParallelGC instead of G1 (G1: 32,200, and ~20% more CPU seconds)
  topology.optimization=all  set as the guide recommends; nothing to optimize in this topology
  --config KEY=VALUE         any other StreamsConfig / consumer. / producer. setting (repeatable)
With the machine busier (load 3-8), medians of 5: at_least_once 25,400, exactly_once_v2 24,700
(with Streams' defaults 19,800 and 17,700). jvm_start_s is 0.8-1.5 s, first_record_s ~0.5 s; the
JVM uses ~10-12 CPU seconds for the run (so both cores, about 5 s at best) and peaks at ~620 MB RSS.
"""

import time

T0 = time.monotonic()  # the peer's start (wall_s counts from here)

import common  # bench/peers/common.py
from common import die, log
import json
import os
import resource
import shutil
import signal
import subprocess

PEER = "kstreams"
JAR = common.BENCH / ".kstreams" / "kstreams-aggregate.jar"
# The app's own deadline is --timeout-s less CLEANUP_S (its clean-up after an answer or at its
# deadline: closing Kafka Streams, deleting its topics), so it normally ends within --timeout-s. Past
# --timeout-s it is sent SIGTERM (its shutdown hook closes it and deletes its topics), and SIGKILL
# KILL_AFTER_S later.
CLEANUP_S = 5.0
KILL_AFTER_S = 30.0


def parse_args():
    p = common.arguments(__doc__.split("\n\n")[0],
                         watermark_help="the grace period of the windows (TimeWindows.ofSizeAndGrace)")
    p.add_argument("--guarantee", choices=("at_least_once", "exactly_once_v2"), default="at_least_once",
                   help="processing.guarantee (default at_least_once)")
    p.add_argument("--threads", type=int, default=2, help="num.stream.threads (default 2: one per core)")
    p.add_argument("--store", choices=("memory", "rocksdb"), default="memory",
                   help="the window store (default memory)")
    p.add_argument("--commit-interval-ms", type=int, default=100,
                   help="commit.interval.ms (default 100 for both guarantees; Streams' own is 30000 for "
                        "at_least_once)")
    p.add_argument("--cache-bytes", type=int, default=64 * 1024 * 1024,
                   help="statestore.cache.max.bytes (default 64 MiB; Streams' own is 10 MiB)")
    p.add_argument("--max-poll-records", type=int, default=5000,
                   help="consumer max.poll.records (default 5000; Streams' own is 1000)")
    p.add_argument("--fetch-min-bytes", type=int, default=100000,
                   help="consumer fetch.min.bytes (default 100000; the client's own is 1)")
    p.add_argument("--linger-ms", type=int, default=100, help="producer linger.ms (default 100, Streams' own)")
    p.add_argument("--batch-size", type=int, default=131072,
                   help="producer batch.size (default 131072; the client's own is 16384)")
    p.add_argument("--compression", default="none", choices=("none", "lz4", "snappy", "zstd", "gzip"),
                   help="producer compression.type (default none)")
    p.add_argument("--idle-ms", type=int, default=None,
                   help="end when nothing was read and no count changed this long "
                        "(default max(3 x commit interval, 2000))")
    p.add_argument("--heap", default="1g", help="the JVM's -Xmx (default 1g)")
    p.add_argument("--gc", choices=("parallel", "g1"), default="parallel",
                   help="the JVM's garbage collector (default parallel; the JVM's own is G1)")
    p.add_argument("--java-option", action="append", default=[], metavar="OPTION",
                   help="another JVM option, e.g. --java-option=-XX:StartFlightRecording=filename=k.jfr "
                        "(repeatable)")
    p.add_argument("--log-level", default="warn", help="Kafka's log level on stderr (default warn)")
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                   help="any other Kafka Streams, consumer. or producer. setting (repeatable)")
    a = p.parse_args()
    if (a.window_minutes <= 0 or a.watermark_minutes < 0 or a.timeout_s <= 0 or a.threads <= 0
            or a.commit_interval_ms <= 0):
        p.error("--window-minutes, --threads, --commit-interval-ms and --timeout-s must be positive, "
                "--watermark-minutes not negative")
    if a.idle_ms is None:
        a.idle_ms = max(3 * a.commit_interval_ms, 2000)
    return a


def main():
    args = parse_args()
    t0 = common.start_time(T0)
    java = shutil.which("java")
    if java is None:
        die("'java' not found: the Kafka Streams peer needs Java 17 or later on PATH")
    if not JAR.exists():
        die(f"'{JAR}' is missing: run bench/peers/install-kstreams")

    left = args.timeout_s - (time.monotonic() - t0)
    cmd = [java, f"-Xmx{args.heap}", "-XX:+UseParallelGC" if args.gc == "parallel" else "-XX:+UseG1GC",
           *args.java_option,
           "-Dorg.slf4j.simpleLogger.defaultLogLevel=" + args.log_level,
           # A record in a closed window is logged at WARN, one line each: counted instead.
           "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.streams.kstream.internals=error",
           # At start, one WARN per thread and retry while the leader creates the internal topics.
           "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.NetworkClient=error",
           # exactly_once_v2: a produce right after a commit meets the previous transaction still
           # ending (CONCURRENT_TRANSACTIONS, then OUT_OF_ORDER_SEQUENCE_NUMBER for the batches
           # behind it): retried, one WARN per partition and retry.
           "-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients.producer.internals.Sender=error",
           "-jar", str(JAR),
           "--bootstrap-servers", args.bootstrap_servers, "--topic", args.topic,
           "--guarantee", args.guarantee, "--threads", str(args.threads), "--store", args.store,
           "--window-minutes", str(args.window_minutes), "--grace-minutes", str(args.watermark_minutes),
           "--commit-interval-ms", str(args.commit_interval_ms), "--cache-bytes", str(args.cache_bytes),
           "--max-poll-records", str(args.max_poll_records), "--fetch-min-bytes", str(args.fetch_min_bytes),
           "--linger-ms", str(args.linger_ms), "--batch-size", str(args.batch_size),
           "--compression", args.compression, "--idle-ms", str(args.idle_ms),
           "--timeout-s", f"{max(1.0, left - CLEANUP_S):.3f}"]
    if args.expected_records is not None:
        cmd += ["--expected-records", str(args.expected_records)]
    if args.dump_rows:
        cmd += ["--dump-rows", os.path.abspath(args.dump_rows)]
    for kv in args.config:
        cmd += ["--config", kv]
    cmd += ["--launched-at-ms", str(int(time.time() * 1000))]

    # stdout: the app's one JSON line; stderr: passed through (Kafka's logs, the app's errors).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    # Stopped from outside (the runner's own timeout, Ctrl-C): the JVM gets the signal too, and its
    # shutdown hook removes what the run made; then this script says the app failed.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=max(1.0, left))
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.send_signal(signal.SIGTERM)  # its shutdown hook closes it and deletes its topics
        try:
            out, _ = proc.communicate(timeout=KILL_AFTER_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            log(f"the app did not stop within {KILL_AFTER_S:.0f} s of SIGTERM: killed; its topics "
                "(sfcrime-bench-kstreams-*) may be left on the broker")
    wall_s = time.monotonic() - t0
    if timed_out:
        die(f"no answer within {args.timeout_s:.0f} s")
    if proc.returncode != 0:
        die(f"the Kafka Streams app failed (exit {proc.returncode}; its error is above)")
    lines = out.decode("utf-8", "replace").strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        die(f"the app printed no JSON line (stdout: {out[-500:]!r})")

    result["peer"] = PEER
    result["wall_s"] = round(wall_s, 3)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # the JVM, the only child
    result["cpu_s"] = round(ru.ru_utime + ru.ru_stime, 3)
    result["jvm_peak_rss_mb"] = round(ru.ru_maxrss / 1024, 1)
    result["heap"] = args.heap
    result["gc"] = args.gc
    result["watermark_minutes"] = args.watermark_minutes
    if not result.get("complete", False):
        log(f"incomplete answer: counts sum to {result.get('total_count')}"
            + (f", expected {args.expected_records} ({result.get('missing')} missing, "
               f"{result.get('dropped_late')} dropped as late)" if args.expected_records is not None else ""))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
