#!/usr/bin/env python3
"""Benchmark peer: the 30-minute aggregation done by PySpark Structured Streaming from Kafka.

What it measures: the query of the Udacity "SF Crime Statistics with Spark Streaming" project,
which sfcrime replaces, run over a whole topic of SF police calls: count the records per 30-minute
tumbling event-time window (on call_date_time) and original_crime_type_name. It is one of the
peers bench/run.py compares sfcrime with. Spark runs in local mode on 2 cores (local[2]), reads
Kafka with the spark-sql-kafka-0-10 connector jars that bench/peers/install resolved into
bench/.jars (spark.jars; no `--packages`, no Ivy download at run time), startingOffsets earliest,
trigger(availableNow=True): everything in the topic when the query starts, then stop.

How it is run (after bench/peers/install, which makes bench/.venv; started with another
interpreter, the script re-executes itself with bench/.venv/bin/python):

    python3 bench/peers/spark_aggregate.py --bootstrap-servers localhost:9092 --topic T \
        [--window-minutes 30] [--watermark-minutes 60] [--expected-records N] [--dump-rows FILE] \
        [--max-offsets-per-trigger N]

It prints one JSON line to stdout: records, rows, windows, total_count, wall_s (from the peer's
start, JVM and SparkSession start-up included), query_s (the streaming query alone: from building
the query to its termination), records_per_s = records / query_s, processedRowsPerSecond (Spark's
own figure over the whole run: total numInputRows / total durationMs.triggerExecution of every
micro-batch), progress (per micro-batch [numInputRows, processedRowsPerSecond]), spark_version,
output_mode, ... Logs and errors go to stderr (the JVM's stdout too); exit 0 on success, 1 on failure.
"""

import time

T0 = time.monotonic()  # the peer's start, before any import that costs (wall_s counts from here)

import common  # bench/peers/common.py
from common import die, log
import glob
import json
import os
import resource
import shutil
import signal
import tempfile
from pathlib import Path

PEER = "spark"
BENCH = Path(__file__).resolve().parents[1]
JARS_DIR = BENCH / ".jars"

# The Udacity project's schema: every field of a call is a string in the JSON value.
FIELDS = ("crime_id", "original_crime_type_name", "report_date", "call_date", "offense_date",
          "call_time", "call_date_time", "disposition", "address", "city", "state", "agency_id",
          "address_type", "common_location")

# Update, not append: with append mode a window is emitted only once the watermark (the largest
# event time seen minus --watermark-minutes) passes its end, and the watermark only moves between
# micro-batches, so with availableNow the last windows (at least the final hour of event time) are
# never emitted and the answer would be short. Update mode emits every changed (window, type) row
# with its running count in each micro-batch; the latest value per key is the final count.
OUTPUT_MODE = "update"


def parse_args():
    p = common.arguments(__doc__.split("\n\n")[0])
    p.add_argument("--max-offsets-per-trigger", type=int, metavar="N",
                   help="the Kafka source's maxOffsetsPerTrigger (default: none, so availableNow "
                        "reads the topic in one micro-batch)")
    p.add_argument("--shuffle-partitions", type=int, default=2, metavar="N",
                   help="spark.sql.shuffle.partitions (default 2: one per core)")
    p.add_argument("--driver-memory", default="1g",
                   help="spark.driver.memory, the heap of the local-mode JVM (default 1g, Spark's)")
    a = p.parse_args()
    if a.window_minutes <= 0 or a.watermark_minutes < 0 or a.timeout_s <= 0 or a.shuffle_partitions <= 0:
        p.error("--window-minutes, --shuffle-partitions and --timeout-s must be positive, "
                "--watermark-minutes not negative")
    if a.max_offsets_per_trigger is not None and a.max_offsets_per_trigger <= 0:
        p.error("--max-offsets-per-trigger must be positive")
    return a


def connector_jars(spark_version):
    """The jars bench/peers/install resolved; the connector must be the PySpark release."""
    jars = sorted(glob.glob(str(JARS_DIR / "*.jar")))
    want = f"spark-sql-kafka-0-10_2.13-{spark_version}.jar"
    if not any(os.path.basename(j) == want for j in jars):
        die(f"'{JARS_DIR}' has no {want} (PySpark is {spark_version}): run bench/peers/install")
    return jars


def field(progress, name):
    """A StreamingQueryProgress field: an attribute in PySpark 4, a dict key before."""
    return progress[name] if isinstance(progress, dict) else getattr(progress, name)


def peak_rss_mb(pid):
    """The peak resident set (VmHWM) of a live process, in MB, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def main():
    args = parse_args()
    common.ensure_venv("pyspark", T0)
    t0 = common.start_time(T0)

    # Every wait is bounded, the JVM's start-up included: past the limit, say so and leave.
    # (The py4j gateway JVM exits by itself when its parent's pipe closes.)
    checkpoint = None

    def on_alarm(_sig, _frame):
        log(f"error: no answer after {args.timeout_s:.0f} s (is Kafka running? see --bootstrap-servers)")
        if checkpoint:
            shutil.rmtree(checkpoint, ignore_errors=True)
        os._exit(1)  # not sys.exit: py4j may be blocked in a call that would swallow it
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, int(args.timeout_s - (time.monotonic() - t0))))

    # stdout carries the one JSON line only. The JVM inherits our fd 1 and may print to it, so
    # keep a private copy of stdout for the answer and point fd 1 at stderr.
    answer_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    # Local mode talks to itself only: bind the driver to the loopback address, rather than the
    # address the hostname resolves to (Spark warns about that and picks eth0's otherwise).
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    import pyspark
    from pyspark.errors import StreamingQueryException
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    jars = connector_jars(pyspark.__version__)
    spark = (
        SparkSession.builder
        .master("local[2]")
        .appName("sfcrime-bench-spark-peer")
        .config("spark.jars", ",".join(jars))
        .config("spark.driver.memory", args.driver_memory)
        # 2 shuffle partitions for 2 cores. The aggregation after the shuffle runs one task per
        # shuffle partition in every micro-batch, each loading and committing its own state store
        # (the running counts). Spark's default of 200 means 100 small tasks per core per batch,
        # where scheduling and state-store files dominate; here it made the data batch ~1.3x as
        # slow and the trailing no-data batch 8.7 s instead of 1-3 s. 2 keeps both cores busy.
        .config("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
        # call_date_time is a naive wall-clock time: parse and print it as UTC, with no shift.
        .config("spark.sql.session.timeZone", "UTC")
        # Adaptive query execution does not apply to streaming queries: Spark turns it off for
        # them with a WARN per query. Off here already, the log stays quiet.
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.ui.enabled", "false")  # nothing looks at it; saves start-up time and a port
        .config("spark.ui.showConsoleProgress", "false")
        # Keep every micro-batch's progress report (Spark keeps the last 100 by default).
        .config("spark.sql.streaming.numRecentProgressUpdates", "1000000")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    log(f"Spark {spark.version} up after {time.monotonic() - t0:.1f} s "
        f"(local[2], {len(jars)} connector jars)")

    checkpoint = tempfile.mkdtemp(prefix="sfcrime-spark-peer-")
    try:
        q0 = time.monotonic()  # the query: from building it to its termination
        schema = StructType([StructField(name, StringType(), True) for name in FIELDS])
        reader = (
            spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", args.bootstrap_servers)
            .option("subscribe", args.topic)
            .option("startingOffsets", "earliest")
        )
        if args.max_offsets_per_trigger is not None:
            reader = reader.option("maxOffsetsPerTrigger", str(args.max_offsets_per_trigger))
        calls = (
            reader.load()
            .select(F.from_json(F.col("value").cast("string"), schema).alias("call"))
            .select("call.*")
            .withColumn("call_date_time", F.col("call_date_time").cast("timestamp"))
        )
        counts = (
            calls.withWatermark("call_date_time", f"{args.watermark_minutes} minutes")
            .groupBy(F.window("call_date_time", f"{args.window_minutes} minutes"),
                     "original_crime_type_name")
            .count()
        )

        answer = {}  # (window start "YYYY-MM-DDTHH:MM:SS" or None, crime type) -> count

        def collect(batch, _batch_id):
            # Format the window start in Spark (session time zone UTC): collect() would turn
            # timestamps into datetimes in the Python process's local time zone.
            rows = batch.select(
                F.date_format("window.start", "yyyy-MM-dd'T'HH:mm:ss").alias("window_start"),
                "original_crime_type_name", "count").collect()
            for r in rows:
                # Update mode: a row carries the key's running count; a re-run batch overwrites.
                answer[(r["window_start"], r["original_crime_type_name"])] = r["count"]

        query = (
            counts.writeStream.outputMode(OUTPUT_MODE)
            .foreachBatch(collect)
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )
        remaining = args.timeout_s - (time.monotonic() - t0)
        try:
            finished = query.awaitTermination(max(1.0, remaining))
        except StreamingQueryException as e:
            # e.g. the topic does not exist (UnknownTopicOrPartitionException after the Kafka
            # source's retries); Spark has logged the whole trace above.
            die(f"the query failed: {str(e).splitlines()[0]}")
        if not finished:
            query.stop()
            die(f"the query did not finish within {args.timeout_s:.0f} s")
        query_s = time.monotonic() - q0
        wall_s = time.monotonic() - t0

        progress = query.recentProgress
        batches = [(int(field(p, "numInputRows")), float(field(p, "processedRowsPerSecond")),
                    int(field(p, "durationMs").get("triggerExecution", 0))) for p in progress]
        for p in progress:
            log(f"batch {field(p, 'batchId')}: {field(p, 'numInputRows')} rows, "
                f"durationMs {json.dumps(field(p, 'durationMs'), sort_keys=True)}")
        records = sum(n for n, _, _ in batches)
        trigger_ms = sum(ms for _, _, ms in batches)
        jvm_pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
        jvm_rss = peak_rss_mb(jvm_pid)
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)

    result = {
        "peer": PEER,
        "records": records,
        "rows": len(answer),
        "windows": len({w for w, _ in answer}),
        "total_count": sum(answer.values()),
        "wall_s": round(wall_s, 3),
        "query_s": round(query_s, 3),
        "records_per_s": round(records / query_s, 1) if query_s > 0 else None,
        "processedRowsPerSecond": round(records / (trigger_ms / 1000), 1) if trigger_ms else None,
        "progress": [[n, round(rps, 1)] for n, rps, _ in batches],
        "batches": len(batches),
        "trigger_execution_s": round(trigger_ms / 1000, 3),
        "spark_version": spark.version,
        "output_mode": OUTPUT_MODE,
        "shuffle_partitions": args.shuffle_partitions,
        "max_offsets_per_trigger": args.max_offsets_per_trigger,
        "window_minutes": args.window_minutes,
        "watermark_minutes": args.watermark_minutes,
        "jvm_peak_rss_mb": jvm_rss,
        "python_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    spark.stop()
    signal.alarm(0)

    common.finish(args, result, ((ws, t, n) for (ws, t), n in answer.items()), records, answer_out)


if __name__ == "__main__":
    main()
