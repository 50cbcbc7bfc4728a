"""What the benchmark's peers (spark_aggregate.py, python_aggregate.py) share: the re-execution
under bench/.venv and the command-line interface bench/run.py calls them with."""

import argparse
import json
import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
NAME = Path(sys.argv[0]).stem  # the peer's name in its messages: spark_aggregate, python_aggregate


def log(msg):
    """One line on stderr, named after the peer (stdout carries only the answer)."""
    print(f"{NAME}: {msg}", file=sys.stderr, flush=True)


def die(msg):
    """Says why and exits 1."""
    log(f"error: {msg}")
    sys.exit(1)


def ensure_venv(module, t0):
    """Imports `module`, re-executing the calling script under bench/.venv's interpreter when it is
    missing here (the runner may start a peer with any python3; the pinned packages live in
    bench/.venv). `t0` (time.monotonic() at the peer's start) is handed over in the environment:
    CLOCK_MONOTONIC is system-wide on Linux, so it stays comparable. Dies when the module is
    nowhere to be found."""
    try:
        __import__(module)
        return
    except ImportError:
        pass
    venv_python = BENCH / ".venv" / "bin" / "python"
    if venv_python.exists() and not os.environ.get("SFCRIME_PEER_REEXEC"):
        os.environ["SFCRIME_PEER_REEXEC"] = "1"
        os.environ["SFCRIME_PEER_T0"] = repr(t0)
        script = Path(sys.argv[0]).resolve()
        os.execv(str(venv_python), [str(venv_python), str(script), *sys.argv[1:]])
    die(f"{module} is not installed for this interpreter and bench/.venv is missing: run bench/peers/install")


def topic_metadata(client, topic, timeout_s):
    """(the broker's metadata of every topic, that of `topic`), asked of a confluent-kafka Consumer
    or AdminClient (every topic: a broker that auto-creates topics does not create this one); dies
    when the broker does not answer within `timeout_s` or the topic is missing or empty."""
    from confluent_kafka import KafkaException

    try:
        md = client.list_topics(timeout=timeout_s)
    except KafkaException as e:
        die(f"cannot read the broker's metadata within {timeout_s:.0f} s ({e}); "
            "is Kafka running? see --bootstrap-servers")
    t = md.topics.get(topic)
    if t is None or t.error is not None or not t.partitions:
        die(f"topic '{topic}' does not exist or has no partitions ({t.error if t else 'absent'})")
    return md, t


def finish(args, answer, rows, records, out=None):
    """Ends a peer's run: writes --dump-rows (one JSON line per row, {"window_start", "type",
    "count"}, sorted; `rows` yields (window start text, type, count)), dies when --expected-records
    was given and `records` (read) differs, else prints `answer` as one JSON line on `out`
    (default stdout)."""
    if args.dump_rows:
        with open(args.dump_rows, "w") as f:
            for ws, t, n in sorted(rows, key=lambda r: (r[0] or "", r[1] or "")):
                f.write(json.dumps({"window_start": ws, "type": t, "count": n}) + "\n")
    if args.expected_records is not None and records != args.expected_records:
        log(json.dumps(answer))
        die(f"read {records} records from '{args.topic}', expected {args.expected_records}")
    out = out or sys.stdout
    out.write(json.dumps(answer) + "\n")
    out.flush()


def start_time(t0):
    """The peer's start: the first interpreter's, after a re-execution by ensure_venv()."""
    return float(os.environ.get("SFCRIME_PEER_T0", t0))


def arguments(description, watermark_help=None):
    """An argument parser with the options every peer takes (bench/README.md, "peers"); the caller
    adds its own, then parses."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--bootstrap-servers", required=True, metavar="HOST:PORT")
    p.add_argument("--topic", required=True)
    p.add_argument("--window-minutes", type=int, default=30)
    p.add_argument("--watermark-minutes", type=int, default=60, help=watermark_help)
    p.add_argument("--expected-records", type=int, metavar="N", help="fail unless exactly N records were read")
    p.add_argument("--dump-rows", metavar="FILE",
                   help='write the answer, one JSON line per row: {"window_start", "type", "count"}')
    p.add_argument("--timeout-s", type=float, default=600.0, help="fail when the whole run takes longer (default 600)")
    return p
