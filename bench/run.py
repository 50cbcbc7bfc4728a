#!/usr/bin/env python3
"""bench/run.py - sfcrime side by side with kcat, Kafka's producer perf test, Spark, Kafka Streams,
Quix Streams and plain Python.

One command (issues 5 and 14) measures, on the real data (../shared/data/police-department-calls-for-
service.json.xz: 199,999 records, 112 MB pretty JSON, ~82 MB as compact JSON), or with --scale N on
N copies of it (bench/scale_data.py: copy k shifted k*91 days later, crime_id suffixed '-k', all in
event-time order, written as calls.ndjson), against a running Kafka broker:

1. produce: each tool sends every record into a fresh topic of 6 partitions (replication factor 1,
   created with `sfcrime topic create`), and the topic must then hold every record (sum of the high
   watermarks, `sfcrime inspect --output json`):
     sfcrime produce --file calls.json          the pretty file as a user runs it (calls.ndjson at
                                                --scale N > 1); acks=all, idempotent, key crime_id
     kcat -P -l -K '\\t' calls.keyed.ndjson       the same records as compact NDJSON, "crime_id<TAB>json"
                                                lines, -X enable.idempotence=true (the comparison)
     kcat -P -l calls.ndjson                    kcat as is: no key, librdkafka's defaults (acks=all)
     kafka-producer-perf-test                   org.apache.kafka.tools.ProducerPerformance from the
                                                broker's jars, --payload-file calls.ndjson (payloads
                                                drawn at random from the file's lines), no key,
                                                acks=all enable.idempotence=true
2. aggregate: over one topic filled once (untimed) by `sfcrime produce --order event-time`:
     sfcrime aggregate --window 30m --from-beginning --exit-at-end --output json
                                                rows must sum to every record, 0 late, and at 1x
                                                equal tests/oracle.py's answer
     kcat -C -o beginning -e > /dev/null        the transport ceiling, as is and with
                                                -X fetch.wait.max.ms=10
     the peers in bench/peers (PEERS below; installed by bench/peers/install): Spark Structured
     Streaming, Kafka Streams (at_least_once, exactly_once_v2), Quix Streams, plain Python. Each
     prints one JSON line and writes its rows (--dump-rows); at 1x the rows are compared with
     tests/oracle.py's and the table says how and why a peer's answer differs.
3. latency: `sfcrime aggregate --output-mode update --output json --progress json` (default trigger,
   as soon as possible) runs on a fresh topic while `sfcrime produce --order event-time --rate R
   --limit N` feeds it, for each rate R of --latency-rate (5,000 and 50,000 records/s; N: 10 s
   worth). Each line aggregate prints is stamped with time.time() when this script reads it. A record at (partition p, offset o) was processed in the first batch whose progress
   report has endOffset[p] > o; its latency is the time its batch's progress line was read minus the
   record's CreateTime (set by the producer's librdkafka when the record was handed to it, read back
   with `kcat -J`). The progress line is printed after the batch's rows were written and flushed
   (commands/aggregate.cpp run_batch: engine.end_batch -> sink.end_batch -> fflush(stdout), then the
   progress line, then fflush(stderr)). As a cross-check, the time the row of the record's
   (batch, window, crime type) was read on stdout gives a second, row-level latency. aggregate is
   known to be ready when it reports the batch of one warm-up record (left out of the figures).
4. peak RSS of every timed process: ru_maxrss from os.wait4, taken by a small launcher that forks
   the command (see LAUNCHER: a child of this script would inherit its peak); for the peers, which
   start other processes (Spark's JVM), the peak of the process tree's summed RSS sampled every
   50 ms when that is larger.
5. a table with the ratios of issue 14's targets, printed, and the whole as JSON in
   bench/results/<UTC time>-<host>[-xN].json and bench/results/latest.json.

Each timed measurement runs --repeat times (default 3), interleaved (one round of every tool, then
the next round), and the table gives the median with the min-max spread. Wall time is from the
fork of the process to its exit as seen by os.wait4; records/s and MB/s are computed from
that wall time and the compact JSON bytes of the records (what each tool sends), whatever the tools
print themselves (kept in the JSON too).

Standard library only (Python 3.11). See bench/README.md.
"""
from __future__ import annotations

import argparse
import bisect
import datetime as dt
import hashlib
import json
import lzma
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
PARTITIONS = 6
MB = 1_000_000          # throughput in MB/s: 10^6 bytes, as sfcrime's summary prints
REAL_DATA = REPO.parent / "shared" / "data" / "police-department-calls-for-service.json.xz"
SMOKE_RECORDS = 20_000
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))
import scale_data  # noqa: E402  bench/scale_data.py: the data N times over
import oracle  # noqa: E402  tests/oracle.py: the independent batch answer

# The peers (bench/peers, installed by bench/peers/install): key, name (for --peers), table label,
# script, extra arguments, settings, and what must exist under bench/ for it to run. Each takes the
# arguments of bench/peers/common.py and prints one JSON line (bench/README.md, "peers").
PEERS = [
    ("aggregate.spark", "spark", "Spark", "spark_aggregate.py", [],
     "Spark Structured Streaming, local[2], availableNow, 30m window, 1h watermark", ".venv"),
    ("aggregate.kstreams", "kstreams", "Kafka Streams", "kstreams_aggregate.py", ["--guarantee", "at_least_once"],
     "Kafka Streams 4.1.1, at_least_once, TimeWindows.ofSizeAndGrace(30m, 1h).count()", ".kstreams"),
    ("aggregate.kstreams_eos", "kstreams", "Kafka Streams", "kstreams_aggregate.py",
     ["--guarantee", "exactly_once_v2"],
     "Kafka Streams 4.1.1, exactly_once_v2, TimeWindows.ofSizeAndGrace(30m, 1h).count()", ".kstreams"),
    ("aggregate.quix", "quix", "Quix Streams", "quix_aggregate.py", ["--emit", "final"],
     "Quix Streams 3.28.1, tumbling_window(30m, grace 1h).count().final()", ".venv-quix"),
    ("aggregate.python", "python", "python peer", "python_aggregate.py", [],
     "plain Python: confluent-kafka consumer, dict of windows", ".venv"),
]
PEER_BY_KEY = {p[0]: p for p in PEERS}
PEER_NAMES = tuple(dict.fromkeys(p[1] for p in PEERS))


class Failed(Exception):
    """A command the benchmark needs failed: the message names it and carries its stderr tail."""


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def tail(text: str, n: int = 12) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join("    " + ln for ln in lines[-n:])


def show_cmd(cmd: list[str]) -> str:
    return " ".join(c if re.fullmatch(r"[\w@%+=:,./-]+", c) else repr(c) for c in cmd)


def run(cmd: list[str], timeout: float, what: str | None = None, ok=(0,), env=None) -> subprocess.CompletedProcess:
    """Runs an untimed helper command; raises Failed (command, exit status, stderr tail) on failure."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise Failed(f"{what or 'command'} timed out after {timeout:.0f} s: {show_cmd(cmd)}\n{tail(err)}")
    except OSError as e:
        raise Failed(f"{what or 'command'} could not start: {show_cmd(cmd)}: {e}")
    if p.returncode not in ok:
        raise Failed(f"{what or 'command'} failed (exit {p.returncode}): {show_cmd(cmd)}\n{tail(p.stderr)}")
    return p


# ------------------------------------------------------------------------------------------------
# Timed processes: wall time and peak RSS

def _ppid_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        rest = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(rest[1]), []).append(int(name))
    return children


def tree_usage(root: int) -> tuple[int, dict[int, int]]:
    """Of root's descendants (not root itself), now: the summed VmRSS (KiB) and each one's CPU time
    so far (user + system, clock ticks)."""
    children = _ppid_map()
    total, ticks, stack = 0, {}, list(children.get(root, []))
    while stack:
        p = stack.pop()
        if p in ticks:
            continue
        ticks[p] = 0
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                st = f.read()
            fields = st[st.rfind(b")") + 2:].split()
            ticks[p] = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(p, []))
    return total, ticks


# Peak RSS needs care: Linux keeps a process's ru_maxrss across exec, and a child forked from this
# script starts with this script's memory (hundreds of MB once the data is loaded), so os.wait4 on a
# direct child reports at least that. Every timed command therefore runs under this small launcher
# (a fresh `python3 -I -S`, about 5-7 MiB): it forks the command, waits for it with os.wait4 and
# writes its ru_maxrss and the wall time from fork to exit to a file. A figure can then not be below
# the launcher's own size (the "RSS floor", measured at start and kept in the JSON). The launcher
# passes SIGINT, SIGTERM and SIGHUP on to the command and exits with its status (128 + N when
# killed by signal N).
LAUNCHER = r"""
import os, signal, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
pid = 0
def forward(signum, frame):
    if pid:
        try:
            os.kill(pid, signum)
        except OSError:
            pass
sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
for s in sigs:
    signal.signal(s, forward)
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    for s in sigs:
        signal.signal(s, signal.SIG_DFL)
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        os.write(2, ("bench: cannot run %s: %s\n" % (cmd[0], e)).encode())
    os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as f:
    f.write("%d %r %r\n" % (ru.ru_maxrss, wall, ru.ru_utime + ru.ru_stime))
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


class Launched:
    """A command started under LAUNCHER, in its own process group."""

    def __init__(self, cmd: list[str], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, sample_tree=False):
        fd, self.res = tempfile.mkstemp(prefix="sfcrime-bench-rusage-")
        os.close(fd)
        self.cmd = cmd
        self.t0 = time.perf_counter()
        try:
            self.p = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER, self.res, *cmd],
                                      stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True)
        except OSError as e:
            os.unlink(self.res)
            raise Failed(f"could not start {show_cmd(cmd)}: {e}")
        self.pid = self.p.pid
        self.tree_kb = 0
        self.tree_ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._sampler = None
        if sample_tree:
            def sample():
                while not self._stop.wait(0.05):
                    kb, ticks = tree_usage(self.pid)
                    self.tree_kb = max(self.tree_kb, kb)
                    self.tree_ticks.update(ticks)
            self._sampler = threading.Thread(target=sample, daemon=True)
            self._sampler.start()

    def signal(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except OSError:
            pass

    def kill_group(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def wait(self, timeout: float) -> tuple[int, float, int, bool, float | None]:
        """(exit status, wall s, ru_maxrss KiB, timed out, CPU s (user + system)); kills the process group
        after timeout s."""
        timed_out = False
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            self.kill_group()
            rc = self.p.wait()
        wall = time.perf_counter() - self.t0
        self._stop.set()
        if self._sampler:
            self._sampler.join()
        self.kill_group()  # whatever the command left behind in its group (a JVM, ...)
        tree_cpu = sum(self.tree_ticks.values()) / os.sysconf("SC_CLK_TCK")
        maxrss, cpu = 0, None
        try:
            with open(self.res) as f:
                parts = f.read().split()
            maxrss, wall, cpu = int(parts[0]), float(parts[1]), max(float(parts[2]), tree_cpu)
        except (OSError, IndexError, ValueError):
            pass
        finally:
            try:
                os.unlink(self.res)
            except OSError:
                pass
        return rc, wall, maxrss, timed_out, cpu


class Timed:
    """One finished timed process: exit status, wall seconds, peak RSS, stderr text."""

    def __init__(self, cmd, rc, wall, maxrss_kb, tree_kb, stderr, timed_out, cpu):
        self.cmd, self.rc, self.wall, self.timed_out, self.cpu = cmd, rc, wall, timed_out, cpu
        self.maxrss_kb, self.tree_kb, self.stderr = maxrss_kb, tree_kb, stderr

    @property
    def rss_mib(self) -> float:
        return max(self.maxrss_kb, self.tree_kb) / 1024


def run_timed(cmd: list[str], timeout: float, stdout=None, sample_tree=False) -> Timed:
    """Runs cmd once under the launcher: wall time from fork to exit, peak RSS, stderr."""
    with tempfile.TemporaryFile() as err:
        out = open(stdout, "wb") if stdout else subprocess.DEVNULL
        try:
            lp = Launched(cmd, stdout=out, stderr=err, sample_tree=sample_tree)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        rc, wall, maxrss, timed_out, cpu = lp.wait(timeout)
        err.seek(0)
        text = err.read().decode(errors="replace")
    return Timed(cmd, rc, wall, maxrss, lp.tree_kb, text, timed_out, cpu)


def rss_floor_kib() -> int:
    """The launcher's own contribution to a figure: ru_maxrss of `true` run under it."""
    lp = Launched(["true"])
    return lp.wait(30)[2]


def check_exit(t: Timed, what: str, ok=(0,)) -> None:
    if t.timed_out:
        raise Failed(f"{what} timed out (killed): {show_cmd(t.cmd)}\n{tail(t.stderr)}")
    if t.rc not in ok:
        raise Failed(f"{what} failed (exit {t.rc}): {show_cmd(t.cmd)}\n{tail(t.stderr)}")


# ------------------------------------------------------------------------------------------------
# Figures

def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing (a measurement that did not run) or b is 0."""
    return a / b if a is not None and b else None


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[k - 1]


def spread(values: list[float]) -> dict:
    vs = [v for v in values if v is not None]
    if not vs:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(vs), "min": min(vs), "max": max(vs)}


class Measurement:
    """One line of the table: a tool doing one thing, run --repeat times."""

    def __init__(self, key, section, tool, what, settings, records, nbytes):
        self.key, self.section, self.tool, self.what, self.settings = key, section, tool, what, settings
        self.records, self.bytes = records, nbytes
        self.runs: list[dict] = []
        self.status = "ok"        # ok | failed | skipped
        self.note = ""

    def add(self, wall: float, rss_mib: float, cpu_s: float | None = None, **extra) -> dict:
        r = {"wall_s": wall, "cpu_s": cpu_s, "records_per_s": self.records / wall if wall > 0 else None,
             "mb_per_s": self.bytes / MB / wall if self.bytes and wall > 0 else None, "peak_rss_mib": rss_mib}
        r.update(extra)
        r["loadavg_1m_after"] = os.getloadavg()[0]
        self.runs.append(r)
        return r

    def fail(self, msg: str) -> None:
        self.status = "failed"
        self.note = (self.note + "; " if self.note else "") + msg.splitlines()[0]
        self.runs.append({"error": msg})

    def skip(self, why: str) -> None:
        self.status, self.note = "skipped", f"skipped: {why}"

    def ok_runs(self) -> list[dict]:
        return [r for r in self.runs if "error" not in r]

    def stat(self, field: str) -> dict:
        return spread([r.get(field) for r in self.ok_runs()])

    def to_json(self) -> dict:
        d = {k: getattr(self, k) for k in ("key", "section", "tool", "what", "settings", "records", "bytes",
                                           "status", "note")}
        d["runs"] = self.runs
        base = ("wall_s", "cpu_s", "records_per_s", "mb_per_s", "peak_rss_mib")
        for f in base:
            d[f] = self.stat(f)
        extra = sorted({k for r in self.ok_runs() for k, v in r.items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool)} - set(base))
        for f in extra:
            d[f] = self.stat(f)
        return d


# ------------------------------------------------------------------------------------------------
# The benchmark

class Bench:
    def __init__(self, args):
        self.args = args
        self.sf = args.sfcrime
        self.b = args.bootstrap_servers
        self.tmp = Path(tempfile.mkdtemp(prefix="sfcrime-bench-"))
        self.run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S") + f"-{os.getpid()}"
        self.topics: list[str] = []
        self.m: dict[str, Measurement] = {}
        self.order: list[str] = []
        self.latency: list[dict] = []
        self.errors: list[str] = []
        self.data_info: dict = {}
        self.rss_floor_kib = rss_floor_kib()
        self.synthetic = False

    # --- helpers ---------------------------------------------------------------------------------

    def sfc(self, *a: str) -> list[str]:
        return [self.sf, "-b", self.b, *a]

    def measurement(self, key, *a) -> Measurement:
        if key not in self.m:
            self.m[key] = Measurement(key, *a)
            self.order.append(key)
        return self.m[key]

    def new_topic(self, what: str) -> str:
        name = f"bench-{self.run_id}-{what}"
        run(self.sfc("topic", "create", name, "--partitions", str(PARTITIONS), "--replication-factor", "1"),
            60, f"creating topic '{name}'")
        self.topics.append(name)
        return name

    def drop_topic(self, name: str) -> None:
        if self.args.keep_topics:
            return
        try:
            run(self.sfc("topic", "delete", name), 60, f"deleting topic '{name}'")
            self.topics.remove(name)
        except Failed as e:
            log(str(e))

    def topic_count(self, name: str) -> int:
        p = run(self.sfc("inspect", "--topic", name, "--output", "json"), 60, f"inspecting topic '{name}'")
        doc = json.loads(p.stdout)
        return sum(t["messages"] for t in doc["topics"] if t["name"] == name)

    def wait_count(self, name: str, want: int, limit: float = 10) -> int:
        """The topic's message count, asked again for up to `limit` s while it is short of want."""
        end = time.monotonic() + limit
        while True:
            n = self.topic_count(name)
            if n >= want or time.monotonic() > end:
                return n
            time.sleep(0.2)

    # --- the broker ------------------------------------------------------------------------------

    def broker_answers(self) -> bool:
        try:
            p = subprocess.run(["kcat", "-b", self.b, "-L", "-m", "5"], capture_output=True, text=True, timeout=15)
        except (subprocess.TimeoutExpired, OSError):
            return False
        return p.returncode == 0 and " broker" in p.stdout

    def ensure_broker(self) -> None:
        if self.broker_answers():
            return
        if not self.args.start_broker:
            raise Failed(f"no Kafka broker answers at '{self.b}' (start one with scripts/kafka up, or pass "
                         f"--start-broker; see --bootstrap-servers)")
        env = dict(os.environ)
        m = re.fullmatch(r"(?:localhost|127\.0\.0\.1):(\d+)", self.b)
        if not m:
            raise Failed(f"--start-broker starts a local broker only; '{self.b}' is not localhost:PORT")
        env["SFCRIME_KAFKA_PORT"] = m.group(1)
        log(f"no broker at {self.b}: scripts/kafka up")
        p = run([str(REPO / "scripts" / "kafka"), "up"], 600, "scripts/kafka up", env=env)
        if not self.broker_answers():
            raise Failed(f"scripts/kafka up ended but no broker answers at '{self.b}'\n{tail(p.stderr)}")
        log(f"started a broker at {self.b}; it keeps running (scripts/kafka down stops it)")

    # --- data ------------------------------------------------------------------------------------

    def prepare_data(self) -> None:
        a = self.args
        src = Path(a.data) if a.data else REAL_DATA
        synthetic = False
        pretty = self.tmp / "calls.json"
        if a.synthetic or not src.exists():
            if not (a.smoke or a.synthetic):
                raise Failed(f"the data file '{src}' does not exist (give --data PATH, or --smoke for a "
                             f"synthetic sample)")
            n = a.records or SMOKE_RECORDS
            log(f"{'--synthetic' if a.synthetic else f'no {src}'}: a synthetic sample of {n} records "
                f"(tests/gen_synthetic.py)")
            run([sys.executable, str(REPO / "tests" / "gen_synthetic.py"), "--records", str(n), "--seed", "1",
                 "--format", "array", "--out", str(pretty)], 300, "generating synthetic data")
            synthetic, src_desc = True, f"tests/gen_synthetic.py --records {n} --seed 1 --format array"
        else:
            src_desc = str(src.resolve())
            if src.suffix == ".xz":
                with lzma.open(src, "rb") as fi, open(pretty, "wb") as fo:
                    shutil.copyfileobj(fi, fo, 1 << 20)
            else:
                shutil.copyfile(src, pretty)
        with open(pretty, "rb") as f:
            records = json.load(f)
        if not isinstance(records, list):
            raise Failed(f"'{src}' is not a JSON array of records")
        if a.records and a.records < len(records) and not synthetic:
            records = records[: a.records]
            with open(pretty, "w", encoding="utf-8") as f:  # the same shape as the real file, fewer records
                json.dump(records, f, indent=2, ensure_ascii=False)
        nd, keyed = self.tmp / "calls.ndjson", self.tmp / "calls.keyed.ndjson"
        scale = a.scale
        if scale > 1:
            # bench/scale_data.py's copies, in ascending event time (its docstring); sfcrime produce then
            # reads calls.ndjson, as there is no pretty file of that size to read.
            records.sort(key=lambda r: str(r.get("call_date_time", "")))
            times = [str(r.get("call_date_time", ""))[:10] for r in (records[0], records[-1])] if records else []
            try:
                span = (dt.date.fromisoformat(times[1]) - dt.date.fromisoformat(times[0])).days if times else 0
            except ValueError:
                raise Failed(f"--scale needs a call_date_time in every record ('{src_desc}')")
            if span >= scale_data.SHIFT_DAYS:
                raise Failed(f"--scale needs data that spans less than {scale_data.SHIFT_DAYS} days (the shift between "
                             f"copies), or the copies overlap in event time; '{src_desc}' spans {span} days")
            pairs = (kv for k in range(scale) for kv in scale_data.copy_pairs(records, k))
        else:
            pairs = ((str(r.get("crime_id", "")), json.dumps(r, separators=(",", ":"), ensure_ascii=False))
                     for r in records)
        nbytes = n = 0
        # kafka-producer-perf-test holds its whole --payload-file in its heap (512 MiB): at scale it
        # gets the first copy, from which it draws its payloads at random as it does at 1x.
        self.payload = nd if scale == 1 else self.tmp / "calls.payload.ndjson"
        with open(nd, "wb") as f, open(keyed, "wb") as g, open(self.payload if scale > 1 else os.devnull, "wb") as pl:
            for key_s, line_s in pairs:
                line, key = line_s.encode(), key_s.encode()
                nbytes += len(line)
                n += 1
                if scale > 1 and n <= len(records):
                    pl.write(line + b"\n")
                if b"\t" in key or b"\n" in key:
                    raise Failed("a crime_id holds a tab or a newline: cannot write calls.keyed.ndjson")
                f.write(line + b"\n")
                g.write(key + b"\t" + line + b"\n")
        if scale > 1:
            pretty.unlink()
            pretty = nd
            src_desc += f" x {scale} (bench/scale_data.py: copy k shifted by k*{scale_data.SHIFT_DAYS} days)"
        # The oracle's answer {(window start, crime type): count}, at 1x only (it holds every record).
        self.oracle_rows = None
        if scale == 1:
            try:
                self.oracle_rows = {(r["window_start"], r["original_crime_type_name"]): r["count"]
                                    for r in oracle.aggregate(records, 1800)}
            except (ValueError, KeyError, TypeError) as e:
                raise Failed(f"tests/oracle.py cannot answer for '{src_desc}': {e!r}")
        # The latency run's warm-up record: the earliest event time, so it makes nothing late.
        first = min(records, key=lambda r: str(r.get("call_date_time", "")))
        (self.tmp / "warmup.ndjson").write_text(json.dumps(first, separators=(",", ":"), ensure_ascii=False) + "\n")
        self.n = n
        self.nbytes = nbytes
        self.pretty, self.nd, self.keyed = pretty, nd, keyed
        self.synthetic = synthetic
        self.data_info = {"source": src_desc, "synthetic": synthetic, "records": self.n, "scale": scale,
                          "pretty_json_bytes": pretty.stat().st_size, "compact_json_bytes": nbytes,
                          "ndjson_bytes": nd.stat().st_size}
        log(f"data: {self.n} records, " + (f"{pretty.stat().st_size / MB:.1f} MB pretty JSON, " if scale == 1 else "")
            + f"{nbytes / MB:.1f} MB compact JSON ({src_desc}); temp dir {self.tmp}")

    # --- 1. produce ------------------------------------------------------------------------------

    def produce_section(self) -> None:
        n, nb = self.n, self.nbytes
        jars = REPO / ".kafka" / "jars"
        tools = [
            ("produce.sfcrime", "sfcrime", "produce calls.json (pretty array)" if self.args.scale == 1
             else f"produce calls.ndjson (x{self.args.scale})",
             "acks=all, idempotent, key crime_id, linger.ms=5 (sfcrime's defaults)",
             lambda t: self.sfc("produce", "--topic", t, "--file", str(self.pretty))),
            ("produce.kcat_keyed", "kcat", "produce -P -l -K '\\t' calls.keyed.ndjson",
             "acks=all, idempotent (-X enable.idempotence=true), key crime_id, librdkafka defaults",
             lambda t: ["kcat", "-b", self.b, "-t", t, "-P", "-l", "-K", "\t", "-X", "enable.idempotence=true",
                        str(self.keyed)]),
            ("produce.kcat", "kcat", "produce -P -l calls.ndjson (as is)",
             "acks=all (librdkafka default), not idempotent, no key",
             lambda t: ["kcat", "-b", self.b, "-t", t, "-P", "-l", str(self.nd)]),
        ]
        perf_ok = jars.is_dir() and any(jars.glob("kafka-tools-*.jar"))
        perf = ("produce.perf_test", "kafka-producer-perf-test", "ProducerPerformance --payload-file calls.ndjson",
                "acks=all, idempotent, no key, payloads drawn at random from the lines"
                + (" of the first copy" if self.args.scale > 1 else "") + ", JVM -Xmx512M",
                lambda t: ["java", "-Xmx512M", "-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                           "-XX:InitiatingHeapOccupancyPercent=35", "-Djava.awt.headless=true",
                           "-cp", f"{jars}/*", "org.apache.kafka.tools.ProducerPerformance", "--topic", t,
                           "--num-records", str(n), "--payload-file", str(self.payload), "--payload-delimiter", "\n",
                           "--throughput", "-1", "--producer-props", f"bootstrap.servers={self.b}", "acks=all",
                           "enable.idempotence=true"])
        tools.append(perf)
        for key, tool, what, settings, _ in tools:
            m = self.measurement(key, "produce", tool, what, settings, n, nb)
            if key == "produce.perf_test" and not perf_ok:
                m.skip(f"no kafka-tools jar in {jars} (scripts/kafka up resolves them)")
        for rep in range(self.args.repeat):
            for key, tool, what, settings, make in tools:
                m = self.m[key]
                if m.status == "skipped":
                    continue
                topic = None
                try:
                    topic = self.new_topic(f"{key.split('.')[1].replace('_', '-')}-{rep}")
                    log(f"produce {rep + 1}/{self.args.repeat}: {tool} {what}")
                    t = run_timed(make(topic), timeout=self.args.timeout)
                    check_exit(t, f"{tool} produce")
                    extra = self.parse_produce(key, t.stderr)
                    got = self.wait_count(topic, n)
                    if got != n:
                        raise Failed(f"{tool} produce: topic '{topic}' holds {got} messages, expected {n}")
                    r = m.add(t.wall, t.rss_mib, t.cpu, topic_messages=got, **extra)
                    log(f"  {t.wall:.2f} s, {r['records_per_s']:,.0f} records/s, {t.rss_mib:.0f} MiB")
                except Failed as e:
                    m.fail(str(e))
                    self.errors.append(str(e))
                    log(str(e))
                finally:
                    if topic:
                        self.drop_topic(topic)

    @staticmethod
    def parse_produce(key: str, stderr: str) -> dict:
        if key == "produce.sfcrime":
            m = re.search(r"(\d+) read, (\d+) sent, (\d+) rejected, (\d+) failed, ([\d.]+) MB, ([\d.]+) s, "
                          r"(\d+) records/s", stderr)
            if not m:
                raise Failed(f"sfcrime produce printed no summary line\n{tail(stderr)}")
            read, sent, rej, failed = map(int, m.groups()[:4])
            if rej or failed or sent != read:
                raise Failed(f"sfcrime produce: {read} read, {sent} sent, {rej} rejected, {failed} failed")
            return {"own_sent": sent, "own_mb": float(m[5]), "own_s": float(m[6]),
                    "own_records_per_s": float(m[7])}
        if key == "produce.perf_test":
            m = re.search(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
                          r"([\d.]+) ms max latency", stderr)
            if not m:
                return {}
            return {"own_sent": int(m[1]), "own_records_per_s": float(m[2]), "own_mb_per_s_mib": float(m[3]),
                    "own_avg_latency_ms": float(m[4]), "own_max_latency_ms": float(m[5])}
        return {}

    # --- 2. aggregate ----------------------------------------------------------------------------

    def aggregate_section(self) -> None:
        n, nb = self.n, self.nbytes
        topic = None
        try:
            topic = self.new_topic("agg")
            # At scale the NDJSON is in event-time order already (bench/scale_data.py): no sort needed.
            order = ["--order", "event-time"] if self.args.scale == 1 else []
            log(f"filling '{topic}' (untimed): sfcrime produce {' '.join(order) or '(file in event-time order)'}")
            t = run_timed(self.sfc("produce", "--topic", topic, "--file", str(self.pretty), *order),
                          timeout=self.args.timeout)
            check_exit(t, "filling the aggregate topic")
            got = self.wait_count(topic, n)
            if got != n:
                raise Failed(f"the aggregate topic '{topic}' holds {got} messages, expected {n}")
        except Failed as e:
            self.errors.append(str(e))
            log(str(e))
            m = self.measurement("aggregate.sfcrime", "aggregate", "sfcrime", "aggregate", "", n, nb)
            m.fail(str(e))
            if topic:
                self.drop_topic(topic)
            return
        peer_args = ["--bootstrap-servers", self.b, "--topic", topic, "--window-minutes", "30",
                     "--watermark-minutes", "60", "--expected-records", str(n),
                     "--timeout-s", str(self.args.peer_timeout)]
        rows = self.tmp / "rows.json"
        peer_rows = self.tmp / "peer-rows.jsonl"
        tools = [
            ("aggregate.sfcrime", "sfcrime", "aggregate --window 30m -e --output json",
             "from the broker, rows to a file; sfcrime's consumer defaults",
             lambda: self.sfc("aggregate", "--topic", topic, "--window", "30m", "--from-beginning", "--exit-at-end",
                              "--output", "json"), rows),
            ("consume.kcat", "kcat", "consume -C -o beginning -e > /dev/null (as is)",
             "fetch.wait.max.ms=500 (default): an idle fetch wait at each partition's end",
             lambda: ["kcat", "-b", self.b, "-C", "-t", topic, "-o", "beginning", "-e"], None),
            ("consume.kcat_fw10", "kcat", "consume ... -X fetch.wait.max.ms=10 > /dev/null",
             "fetch.wait.max.ms=10: without the idle wait",
             lambda: ["kcat", "-b", self.b, "-C", "-t", topic, "-o", "beginning", "-e", "-X", "fetch.wait.max.ms=10"],
             None),
        ]
        for key, name, tool, script, extra_args, settings, _needs in PEERS:
            path = BENCH / "peers" / script
            tools.append((key, tool, f"bench/peers/{script} {' '.join(extra_args)}".rstrip(), settings,
                          (lambda p=path, x=extra_args: [sys.executable, str(p), *peer_args, *x,
                                                          "--dump-rows", str(peer_rows)]), None))
        for key, tool, what, settings, _, _ in tools:
            m = self.measurement(key, "aggregate", tool, what, settings, n, nb)
            peer = PEER_BY_KEY.get(key)
            if peer:
                name, script, needs = peer[1], BENCH / "peers" / peer[3], BENCH / peer[6]
                if name not in self.args.peers:
                    m.skip(f"not in --peers" if not self.args.smoke else f"--smoke (add --peers {name})")
                elif not script.exists():
                    m.skip(f"{script.relative_to(REPO)} does not exist")
                elif not needs.exists():
                    m.skip(f"{needs.relative_to(REPO)} missing (run bench/peers/install, or --install-peers)")
        try:
            for rep in range(self.args.repeat):
                for key, tool, what, settings, make, out in tools:
                    m = self.m[key]
                    peer = key in PEER_BY_KEY
                    if m.status == "skipped" or (peer and rep >= self.args.peer_repeat):
                        continue
                    log(f"aggregate {rep + 1}/{self.args.repeat}: {tool} {what}")
                    try:
                        peer_rows.unlink(missing_ok=True)
                        t = run_timed(make(), timeout=self.args.peer_timeout + 60 if peer else self.args.timeout,
                                      stdout=out or (self.tmp / "peer.out" if peer else None), sample_tree=peer)
                        check_exit(t, f"{tool} {what}")
                        if key == "aggregate.sfcrime":
                            extra = self.check_sfcrime_aggregate(t, rows)
                        elif key.startswith("consume."):
                            extra = self.check_kcat_consume(t)
                        else:
                            extra = self.check_peer(key, t, self.tmp / "peer.out", peer_rows)
                        r = m.add(t.wall, t.rss_mib, t.cpu, **extra)
                        log(f"  {t.wall:.2f} s, {r['records_per_s']:,.0f} records/s, {t.rss_mib:.0f} MiB"
                            + (f"; query {extra['query_s']:.2f} s" if "query_s" in extra else "")
                            + (f"; oracle: {extra['oracle']}" if "oracle" in extra else ""))
                    except Failed as e:
                        m.fail(str(e))
                        self.errors.append(str(e))
                        log(str(e))
        finally:
            self.drop_topic(topic)

    def check_sfcrime_aggregate(self, t: Timed, rows: Path) -> dict:
        m = re.search(r"sfcrime aggregate: (\d+) records, (\d+) late, (\d+) invalid, (\d+) filtered, (\d+) batches, "
                      r"(\d+) rows out, ([\d.]+) s, (\d+) records/s", t.stderr)
        if not m:
            raise Failed(f"sfcrime aggregate printed no summary line\n{tail(t.stderr)}")
        recs, late, invalid, _, batches, rows_out = map(int, m.groups()[:6])
        total, nrows, answer = 0, 0, {}
        with open(rows, "rb") as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    total += row["count"]
                    nrows += 1
                    if self.oracle_rows is not None:
                        answer[(row["window_start"], row["original_crime_type_name"])] = row["count"]
        if recs != self.n or late or invalid or total != self.n or nrows != rows_out:
            raise Failed(f"sfcrime aggregate: {recs} records, {late} late, {invalid} invalid; rows' counts sum to "
                         f"{total} over {nrows} rows ({rows_out} reported); expected {self.n} records, 0 late")
        extra = {"rows": nrows, "total_count": total, "late": late, "batches": batches,
                 "own_s": float(m[7]), "own_records_per_s": float(m[8])}
        if self.oracle_rows is not None:
            verdict = self.compare_with_oracle(answer)
            if verdict != "equal":
                raise Failed(f"sfcrime aggregate: the rows differ from tests/oracle.py's: {verdict}")
            extra["oracle"] = verdict
        return extra

    def compare_with_oracle(self, answer: dict) -> str:
        """'equal', or how `answer` ({(window start, crime type): count}) differs from the oracle's
        rows: rows missing (and the records they hold), rows extra, counts that differ."""
        want = self.oracle_rows
        missing = [k for k in want if k not in answer]
        extra = [k for k in answer if k not in want]
        wrong = [k for k in want if k in answer and answer[k] != want[k]]
        if not (missing or extra or wrong):
            return "equal"
        parts = []
        if missing:
            parts.append(f"{len(missing)} of {len(want)} rows missing ({sum(want[k] for k in missing)} records"
                         f", windows from {min(k[0] for k in missing)})")
        if extra:
            parts.append(f"{len(extra)} rows not in the oracle's")
        if wrong:
            parts.append(f"{len(wrong)} counts differ (sum {sum(answer[k] for k in wrong)} vs "
                         f"{sum(want[k] for k in wrong)})")
        return "differs: " + ", ".join(parts)

    def check_kcat_consume(self, t: Timed) -> dict:
        # Without -q kcat says where it reached each partition's end: from offset 0, the records read.
        ends = {int(p): int(o) for p, o in re.findall(r"Reached end of topic \S+ \[(\d+)\] at offset (\d+)", t.stderr)}
        if len(ends) != PARTITIONS or sum(ends.values()) != self.n:
            raise Failed(f"kcat consume reached the end of {len(ends)} partitions at offsets summing to "
                         f"{sum(ends.values())}, expected {PARTITIONS} and {self.n}\n{tail(t.stderr)}")
        return {"end_offsets_sum": sum(ends.values())}

    def check_peer(self, key: str, t: Timed, out: Path, rows: Path) -> dict:
        """The peer's JSON line checked: its total_count must be every record unless the peer says its
        answer is incomplete ("complete": false, with why); at 1x its rows are compared with the oracle's."""
        lines = [ln for ln in out.read_text(errors="replace").splitlines() if ln.strip()]
        try:
            doc = json.loads(lines[-1])
        except (IndexError, ValueError):
            raise Failed(f"{key}: no JSON line on stdout\n{tail(t.stderr)}")
        complete = doc.get("complete", True)
        if complete and doc.get("total_count") != self.n:
            raise Failed(f"{key}: total_count {doc.get('total_count')} (records {doc.get('records')}), "
                         f"expected {self.n}")
        if doc.get("records") is not None and doc["records"] != self.n:
            raise Failed(f"{key}: read {doc['records']} records, expected {self.n}")
        extra = {k: doc[k] for k in ("records", "rows", "windows", "total_count", "wall_s", "query_s", "jvm_start_s",
                                     "records_per_s", "processedRowsPerSecond", "open_windows", "dropped")
                 if isinstance(doc.get(k), (int, float)) and not isinstance(doc.get(k), bool)}
        extra = {("own_" + k if k in ("wall_s", "records_per_s") else k): v for k, v in extra.items()}
        if "query_s" in extra and extra["query_s"] > 0:
            extra["query_records_per_s"] = self.n / extra["query_s"]
        for k in ("spark_version", "client", "version", "kafka_streams_version", "guarantee", "settings", "store",
                  "complete", "why_incomplete", "dropped_late", "missing"):
            if k in doc:
                extra[k] = doc[k]
        if not complete and not extra.get("why_incomplete") and doc.get("dropped_late"):
            extra["why_incomplete"] = (f"{doc['dropped_late']} of {self.n} records dropped as later than the grace "
                                       f"(stream time runs per task after the repartition)")
        if "progress" in doc:
            extra["progress"] = doc["progress"]
        if self.oracle_rows is not None:
            if not rows.exists():
                raise Failed(f"{key}: wrote no --dump-rows file")
            answer = {}
            for line in rows.read_text().splitlines():
                if line.strip():
                    r = json.loads(line)
                    answer[(r["window_start"], r["type"])] = r["count"]
            extra["oracle"] = self.compare_with_oracle(answer)
            if extra["oracle"] != "equal" and complete:
                raise Failed(f"{key}: says its answer is complete but it differs from tests/oracle.py's: "
                             f"{extra['oracle']}")
        extra["tree_rss_mib"] = t.tree_kb / 1024
        extra["maxrss_mib"] = t.maxrss_kb / 1024
        return extra

    # --- 3. latency ------------------------------------------------------------------------------

    def latency_section(self) -> None:
        for rate in self.args.latency_rates:
            self.latency_at(rate)

    def latency_at(self, rate: int) -> None:
        """--repeat latency runs at `rate` records/s: --latency-records, or 10 s worth of records."""
        n = min(self.args.latency_records or rate * 10, self.n)
        m = self.measurement(f"latency.{rate}", "latency", "sfcrime",
                             f"aggregate --output-mode update, fed by produce --rate {rate}",
                             "default trigger (as soon as possible); latency = progress line read - CreateTime",
                             n, None)
        for rep in range(self.args.repeat):
            log(f"latency {rep + 1}/{self.args.repeat}: {n} records at {rate}/s")
            try:
                r = self.latency_run(rep, n, rate)
                r["rate"] = rate
                self.latency.append(r)
                m.add(r["produce_wall_s"], r["aggregate_rss_mib"], r["aggregate_cpu_s"], **{k: v for k, v in r.items()
                                                                       if isinstance(v, (int, float))})
                m.runs[-1]["records_per_s"] = r["produce_records_per_s"]
                log(f"  p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms over "
                    f"{r['records']} records in {r['batches']} batches (rows: p50 {r['row_p50_ms']:.1f}, "
                    f"p99 {r['row_p99_ms']:.1f} ms)")
            except Failed as e:
                m.fail(str(e))
                self.errors.append(str(e))
                log(str(e))

    def latency_run(self, rep: int, n: int, rate: int) -> dict:
        topic = self.new_topic(f"lat-{rate}-{rep}")
        out_lines: list[tuple[float, bytes]] = []
        err_lines: list[tuple[float, bytes]] = []
        progress: list[tuple[float, dict]] = []
        lock = threading.Lock()

        def reader(stream, sink, is_err):
            for line in iter(stream.readline, b""):
                stamp = time.time()
                with lock:
                    sink.append((stamp, line))
                    if is_err and line.startswith(b"{"):
                        try:
                            progress.append((stamp, json.loads(line)))
                        except ValueError:
                            pass

        # --from-beginning on a fresh topic changes nothing but removes a start-up race.
        cmd = self.sfc("aggregate", "--topic", topic, "--window", "30m", "--output-mode", "update", "--output", "json",
                       "--progress", "json", "--from-beginning")
        lp = Launched(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        agg = lp.p
        threads = [threading.Thread(target=reader, args=(agg.stdout, out_lines, False), daemon=True),
                   threading.Thread(target=reader, args=(agg.stderr, err_lines, True), daemon=True)]
        for th in threads:
            th.start()
        stopped = False

        def errtext():
            with lock:
                return b"".join(l for _, l in err_lines).decode(errors="replace")

        def wait_until(cond, limit, what):
            end = time.monotonic() + limit
            while time.monotonic() < end:
                if agg.poll() is not None:
                    raise Failed(f"sfcrime aggregate exited ({agg.returncode}) {what}: {show_cmd(cmd)}\n{tail(errtext())}")
                with lock:
                    if cond():
                        return
                time.sleep(0.01)
            raise Failed(f"sfcrime aggregate: {what} did not happen within {limit:.0f} s: {show_cmd(cmd)}\n"
                         f"{tail(errtext())}")

        try:
            # Ready = it has processed a record: one warm-up record (the earliest event time, so it
            # makes nothing late), and its batch's progress report.
            run(self.sfc("produce", "--topic", topic, "--file", str(self.tmp / "warmup.ndjson")), 60,
                "producing the warm-up record")
            wait_until(lambda: len(progress) >= 1, 30, "reporting the warm-up record's batch")
            with lock:
                warm_batches = len(progress)
            order = ["--order", "event-time"] if self.args.scale == 1 else []  # scaled data: in order already
            ptimed = run_timed(self.sfc("produce", "--topic", topic, "--file", str(self.nd), *order,
                                        "--rate", str(rate), "--limit", str(n)),
                               timeout=n / rate * 3 + 60)
            check_exit(ptimed, "sfcrime produce --rate")
            sent = re.search(r"(\d+) read, (\d+) sent", ptimed.stderr)
            if not sent or int(sent[2]) != n:
                raise Failed(f"sfcrime produce --rate sent {sent[2] if sent else '?'} records, expected {n}\n"
                             f"{tail(ptimed.stderr)}")

            def processed():
                if not progress:
                    return 0
                ends = progress[-1][1]["sources"][0]["endOffset"].get(topic, {})
                return sum(max(0, int(v)) for v in ends.values())

            wait_until(lambda: processed() >= n + 1, 60, f"processing all {n + 1} records")
            lp.signal(signal.SIGINT)
            stopped = True
            rc, _, agg_rss_kb, timed_out, agg_cpu = lp.wait(30)
            for th in threads:
                th.join(10)
            if timed_out or rc != 130:
                raise Failed(f"sfcrime aggregate did not stop with exit 130 on SIGINT (exit {rc}"
                             f"{', killed after 30 s' if timed_out else ''})\n{tail(errtext())}")
            # Every record's partition, offset and CreateTime.
            p = run(["kcat", "-b", self.b, "-C", "-t", topic, "-o", "beginning", "-e", "-J"], 120,
                    "reading the latency topic back with kcat -J")
            msgs = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
            r = self.latencies(topic, msgs, progress, out_lines, warm_batches, n, ptimed, agg_rss_kb)
            r["aggregate_cpu_s"] = agg_cpu
            return r
        finally:
            if not stopped:
                lp.kill_group()
                lp.wait(10)
            self.drop_topic(topic)

    def latencies(self, topic, msgs, progress, out_lines, warm_batches, n, ptimed, agg_rss_kb) -> dict:
        if any(mm.get("tstype") != "create" for mm in msgs):
            raise Failed(f"topic '{topic}' has messages without a CreateTime timestamp")
        # Per partition: the batches' end offsets (ascending) and the time each progress line was read.
        ends: dict[int, list[int]] = {}
        stamps: dict[int, list[tuple[float, int]]] = {}
        for stamp, doc in progress:
            src = doc["sources"][0]
            for p, end in src["endOffset"].get(topic, {}).items():
                p, end = int(p), int(end)
                if end < 0:
                    continue
                lst = ends.setdefault(p, [])
                if lst and end <= lst[-1]:
                    continue  # nothing of p in this batch
                lst.append(end)
                stamps.setdefault(p, []).append((stamp, doc["batchId"]))
        # Rows: when the row of (batch, window, crime type) was read.
        row_seen: dict[tuple, float] = {}
        for stamp, line in out_lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            k = (row.get("batch_id"), row.get("window_start"), row.get("original_crime_type_name"))
            row_seen.setdefault(k, stamp)
        warm_ids = {doc["batchId"] for _, doc in progress[:warm_batches]}
        lat, row_lat, batches, unmatched, warm, row_missing = [], [], set(), 0, 0, 0
        per_batch: dict[int, list[float]] = {}
        for mm in msgs:
            p, o, ts = mm["partition"], mm["offset"], mm["ts"]
            i = bisect.bisect_right(ends.get(p, []), o)
            if i >= len(ends.get(p, [])):
                unmatched += 1
                continue
            stamp, batch = stamps[p][i]
            if batch in warm_ids:
                warm += 1
                continue
            batches.add(batch)
            lat.append(stamp * 1000 - ts)
            per_batch.setdefault(batch, []).append(stamp * 1000 - ts)
            try:
                rec = json.loads(mm["payload"])
                cdt = rec["call_date_time"]
                ws = f"{cdt[:14]}{int(cdt[14:16]) // 30 * 30:02d}:00"
                rs = row_seen.get((batch, ws, rec.get("original_crime_type_name")))
            except (ValueError, KeyError, TypeError):
                rs = None
            if rs is None:
                row_missing += 1
            else:
                row_lat.append(rs * 1000 - ts)
        if unmatched or warm != 1 or len(lat) != n:
            raise Failed(f"latency: {len(lat)} records matched to a batch, expected {n} ({unmatched} in no reported "
                         f"batch, {warm} in the warm-up batch, expected 1; {len(msgs)} messages in '{topic}')")
        lat.sort()
        row_lat.sort()
        total_in = sum(doc.get("numInputRows", 0) for _, doc in progress)
        late = sum(doc.get("numLateRecords", 0) for _, doc in progress)
        sizes = sorted(doc.get("numInputRows", 0) for _, doc in progress[warm_batches:])
        # The batches that make the tail (a record at or above the p99), for reading what it is made of:
        # when the progress line was read (s after the first record's CreateTime), the input, the
        # batch's own duration, and its records' smallest and largest latency.
        t_first = min(mm["ts"] for mm in msgs) / 1000
        p99 = percentile(lat, 99)
        tail_batches = [{"batch": doc["batchId"], "read_at_s": round(stamp - t_first, 4),
                         "input": doc.get("numInputRows"),
                         "trigger_ms": doc.get("durationMs", {}).get("triggerExecution"),
                         "min_ms": round(min(per_batch[doc["batchId"]]), 2),
                         "max_ms": round(max(per_batch[doc["batchId"]]), 2)}
                        for stamp, doc in progress
                        if doc["batchId"] in per_batch and max(per_batch[doc["batchId"]]) >= p99]
        last = progress[-1][1]
        last_batch = {"batch": last["batchId"], "input": last.get("numInputRows"),
                      "trigger_ms": last.get("durationMs", {}).get("triggerExecution")}
        return {
            "records": len(lat), "batches": len(batches), "p50_ms": percentile(lat, 50),
            "p90_ms": percentile(lat, 90), "p99_ms": percentile(lat, 99), "max_ms": lat[-1], "min_ms": lat[0],
            "mean_ms": statistics.fmean(lat), "row_records": len(row_lat), "row_missing": row_missing,
            "row_p50_ms": percentile(row_lat, 50), "row_p99_ms": percentile(row_lat, 99),
            "row_max_ms": row_lat[-1] if row_lat else float("nan"),
            "batch_records_median": statistics.median(sizes) if sizes else 0, "batch_records_max": sizes[-1] if sizes else 0,
            "progress_input_rows": total_in, "late": late,
            "produce_wall_s": ptimed.wall, "produce_records_per_s": n / ptimed.wall,
            "produce_rss_mib": ptimed.rss_mib, "aggregate_rss_mib": agg_rss_kb / 1024,
            "tail_batches": tail_batches, "last_batch": last_batch,
        }

    # --- peers' install --------------------------------------------------------------------------

    def install_peers(self) -> None:
        inst = BENCH / "peers" / "install"
        if not inst.exists():
            log(f"--install-peers: {inst.relative_to(REPO)} does not exist; the peers will be skipped")
            return
        log("bench/peers/install")
        p = subprocess.run([str(inst)], stdin=subprocess.DEVNULL, timeout=3600)
        if p.returncode != 0:
            raise Failed(f"bench/peers/install failed (exit {p.returncode})")

    # --- report ----------------------------------------------------------------------------------

    def med(self, key: str, field: str = "records_per_s") -> float | None:
        """The median of a field over a measurement's good runs; None when it did not run."""
        m = self.m.get(key)
        return m.stat(field)["median"] if m and m.status == "ok" else None

    def peer_rate(self, *keys: str) -> float | None:
        """A peer's records/s over its query alone (query_s: from its start of processing to its
        answer, the JVM's or interpreter's start left out); the best of `keys` (its configurations)."""
        rates = [r for r in (self.med(k, "query_records_per_s") for k in keys) if r]
        return max(rates) if rates else None

    def targets(self) -> list[dict]:
        """Issue 14's targets, each with its value (None when not measured) and met or not. They are
        meant at 10x (--scale 10), medians of 3; at other sizes they are printed as information."""
        med = self.med
        agg = med("aggregate.sfcrime")
        t = [
            ("aggregate records/s, sfcrime / kcat -C -e fetch.wait.max.ms=10", ratio(agg, med("consume.kcat_fw10")),
             ">=", 0.8, "x"),
            ("aggregate peak RSS, sfcrime (MiB)", med("aggregate.sfcrime", "peak_rss_mib"), "<", 128, " MiB"),
            ("produce records/s, sfcrime / kcat -P (keyed, idempotent)",
             ratio(med("produce.sfcrime"), med("produce.kcat_keyed")), ">=", 0.95, "x"),
            ("produce peak RSS, sfcrime (MiB)", med("produce.sfcrime", "peak_rss_mib"), "<", 64, " MiB"),
            ("aggregate records/s, sfcrime / Kafka Streams (query)",
             ratio(agg, self.peer_rate("aggregate.kstreams", "aggregate.kstreams_eos")), ">=", 5, "x"),
            ("aggregate records/s, sfcrime / Spark (query)", ratio(agg, self.peer_rate("aggregate.spark")),
             ">=", 10, "x"),
            ("aggregate records/s, sfcrime / Quix Streams (query)", ratio(agg, self.peer_rate("aggregate.quix")),
             ">=", 20, "x"),
            ("end-to-end latency p99 at 5,000 records/s (ms)", med("latency.5000", "p99_ms"), "<", 10.0, " ms"),
            ("end-to-end latency p99 at 50,000 records/s (ms)", med("latency.50000", "p99_ms"), "<", 50.0, " ms"),
        ]
        out = []
        for name, value, op, goal, unit in t:
            met = None if value is None else (value >= goal if op == ">=" else value < goal)
            out.append({"target": name, "value": value, "op": op, "goal": goal, "unit": unit, "met": met})
        return out

    def info_ratios(self) -> list[tuple[str, float | None]]:
        med = self.med
        agg = med("aggregate.sfcrime")
        return [
            ("produce sfcrime / kcat as is (no key, not idempotent)", ratio(med("produce.sfcrime"), med("produce.kcat"))),
            ("produce sfcrime / kafka-producer-perf-test", ratio(med("produce.sfcrime"), med("produce.perf_test"))),
            ("aggregate sfcrime / kcat consume as is", ratio(agg, med("consume.kcat"))),
            ("aggregate sfcrime / Kafka Streams exactly_once_v2 (query)",
             ratio(agg, self.peer_rate("aggregate.kstreams_eos"))),
            ("aggregate sfcrime / Spark (wall, JVM start included)", ratio(agg, med("aggregate.spark"))),
            ("aggregate sfcrime / Kafka Streams (wall, JVM start included)", ratio(agg, med("aggregate.kstreams"))),
            ("aggregate sfcrime / Quix Streams (wall)", ratio(agg, med("aggregate.quix"))),
            ("aggregate sfcrime / plain Python peer (wall)", ratio(agg, med("aggregate.python"))),
        ]

    def table(self) -> str:
        k = self.args.repeat

        def fmt(v, spec):
            return "-" if v is None else format(v, spec)

        def cell(m, field, spec, spread_too=False):
            s = m.stat(field)
            if s["median"] is None:
                return "-"
            txt = fmt(s["median"], spec)
            if spread_too and len(m.ok_runs()) > 1:
                txt += f" [{fmt(s['min'], spec)}-{fmt(s['max'], spec)}]"
            return txt

        head = ["tool", "what", "records", "wall s" + (f" (median [min-max] of {k})" if k > 1 else ""), "CPU s",
                "records/s", "MB/s", "RSS MiB", "settings / notes"]
        rows = [head]
        for key in self.order:
            m = self.m[key]
            if m.status == "skipped":
                rows.append([m.tool, m.what, "", "", "", "", "", "", m.note])
                continue
            note = m.settings
            if key.startswith("latency.") and m.ok_runs():
                note = (f"p50 {cell(m, 'p50_ms', '.1f', True)} ms, p99 {cell(m, 'p99_ms', '.1f', True)} ms, "
                        f"max {cell(m, 'max_ms', '.1f')} ms, {cell(m, 'batches', '.0f')} batches, {cell(m, 'late', '.0f')} late; "
                        f"wall, records/s: the producer's; CPU, RSS: aggregate's")
            elif key in ("produce.sfcrime", "aggregate.sfcrime") and m.ok_runs():
                note = (f"own summary: {cell(m, 'own_s', '.2f')} s, {cell(m, 'own_records_per_s', ',.0f')} records/s; "
                        + m.settings + (f"; oracle: {m.ok_runs()[-1]['oracle']}" if "oracle" in m.ok_runs()[-1] else ""))
            elif key in PEER_BY_KEY and m.ok_runs():
                last = m.ok_runs()[-1]
                note = (f"query {cell(m, 'query_s', '.2f')} s = {cell(m, 'query_records_per_s', ',.0f')} records/s"
                        + (f", JVM start {cell(m, 'jvm_start_s', '.2f')} s" if "jvm_start_s" in last else "")
                        + (f", processedRowsPerSecond {cell(m, 'processedRowsPerSecond', ',.0f')}"
                           if "processedRowsPerSecond" in last else "")
                        + (f"; oracle: {last['oracle']}" if "oracle" in last else "")
                        + (f" ({last['why_incomplete']})" if last.get("why_incomplete") else "")
                        + "; " + m.settings)
            if m.status == "failed":
                note = "FAILED: " + m.note
            rows.append([m.tool, m.what, str(m.records), cell(m, "wall_s", ".2f", True), cell(m, "cpu_s", ".2f"),
                         cell(m, "records_per_s", ",.0f"), cell(m, "mb_per_s", ".1f") if m.bytes else "-",
                         cell(m, "peak_rss_mib", ".0f"), note])
        widths = [max(len(r[i]) for r in rows) for i in range(len(head) - 1)]
        lines = []
        for j, r in enumerate(rows):
            lines.append("  ".join(c.ljust(widths[i]) if i < len(widths) else c for i, c in enumerate(r)).rstrip())
            if j == 0:
                lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 16)
        return "\n".join(lines)

    def machine(self) -> dict:
        def cmd_out(cmd, timeout=30):
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
                return (p.stdout + p.stderr).strip()
            except (OSError, subprocess.TimeoutExpired):
                return None

        cpu = None
        try:
            cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), None)
        except OSError:
            pass
        mem = None
        try:
            mem = next((int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), None)
        except OSError:
            pass
        kcat_v = cmd_out(["kcat", "-V"]) or ""
        kv = re.search(r"Version (\S+)", kcat_v)
        lv = re.search(r"librdkafka (\S+)", kcat_v)
        sfv = cmd_out([self.sf, "--version"])
        jars = REPO / ".kafka" / "jars"
        kafka_v = sorted({m[1] for j in (jars.glob("kafka-clients-*.jar") if jars.is_dir() else [])
                          if (m := re.match(r"kafka-clients-(.+)\.jar", j.name))})
        sha = None
        try:
            sha = hashlib.sha256(Path(self.sf).read_bytes()).hexdigest()
        except OSError:
            pass
        commit = cmd_out(["git", "-C", str(REPO), "rev-parse", "HEAD"])
        dirty = cmd_out(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
        return {
            "hostname": socket.gethostname(), "nproc": os.cpu_count(), "cpu_model": cpu, "memory_bytes": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "sfcrime": self.sf, "sfcrime_version": sfv, "sfcrime_sha256": sha,
            "sfcrime_mtime": dt.datetime.fromtimestamp(Path(self.sf).stat().st_mtime, dt.timezone.utc).isoformat()
            if Path(self.sf).exists() else None,
            "librdkafka_version": (re.search(r"librdkafka (\S+?)[,)]", sfv or "") or lv or [None, None])[1],
            "kcat_version": kv[1] if kv else None, "kafka_version": kafka_v[0] if len(kafka_v) == 1 else kafka_v,
            "java": (cmd_out(["java", "-version"]) or "").splitlines()[:1],
            "git_commit": commit, "git_dirty": bool(dirty), "bootstrap_servers": self.b,
            "rss_floor_mib": self.rss_floor_kib / 1024,
        }

    def report(self, started: float, load_start) -> int:
        print()
        print(self.table())
        print(f"(MB = 10^6 bytes of compact JSON; RSS = peak resident set in MiB, which cannot show less than "
              f"the {self.rss_floor_kib / 1024:.1f} MiB of the launcher that measures it)")
        tg = self.targets()
        print()
        head = "targets (issue 14, meant at --scale 10)" + (" - smoke run: these figures are not the targets' figures" if self.args.smoke
                                      or self.synthetic or (self.args.records and self.args.records < 199_999) else "")
        print(head + ":")
        for t in tg:
            v = t["value"]
            vs = "n/a" if v is None else (f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.1f}" if abs(v) >= 10
                                          else f"{v:.3f}") + t["unit"]
            state = "not evaluated" if t["met"] is None else ("met" if t["met"] else "NOT met")
            g = t["goal"]
            goal = f"{t['op']} {int(g):,}{t['unit']}" if g == int(g) else f"{t['op']} {g:g}{t['unit']}"
            print(f"  {t['target']:<62} {vs:>14}  {goal:<14} {state}")
        for name, v in self.info_ratios():
            if v is not None:
                print(f"  {'(info) ' + name:<62} {v:>13.3f}x")
        evaluated = [t for t in tg if t["met"] is not None]
        met = sum(1 for t in evaluated if t["met"])
        missing = len(tg) - len(evaluated)
        print(f"targets: {met} of {len(evaluated)} met" + (f" ({missing} not evaluated)" if missing else ""))
        load_end = os.getloadavg()
        busy = max(load_start[0], load_end[0], *(r.get("loadavg_1m_after", 0) for m in self.m.values()
                                                 for r in m.ok_runs()))
        if busy > (os.cpu_count() or 1) * 0.75:
            print(f"warning: the machine was busy (1-minute load average up to {busy:.1f} on {os.cpu_count()} cores "
                  f"during this run): other processes share the cores, so the figures are noisy")
        doc = {
            "run_id": self.run_id,
            "utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": [sys.argv[0], *sys.argv[1:]],
            "options": {k: v for k, v in vars(self.args).items()},
            "duration_s": time.monotonic() - started,
            "loadavg_start": load_start, "loadavg_end": load_end,
            "machine": self.machine(), "data": self.data_info,
            "measurements": [self.m[k].to_json() for k in self.order],
            "latency_runs": self.latency,
            "targets": tg, "targets_met": met, "targets_evaluated": len(evaluated),
            "info_ratios": dict(self.info_ratios()),
            "errors": self.errors,
        }
        if not self.args.no_results:
            res = Path(self.args.results_dir)
            res.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            scale = f"-x{self.args.scale}" if self.args.scale > 1 else ""
            path = res / f"{stamp}-{socket.gethostname()}{scale}.json"
            text = json.dumps(doc, indent=2, default=str) + "\n"
            path.write_text(text)
            (res / "latest.json").write_text(text)
            print(f"results: {path} (and {res / 'latest.json'})")
        print(f"run took {time.monotonic() - started:.0f} s")
        if self.errors:
            print(f"bench: {len(self.errors)} measurement(s) failed:", file=sys.stderr)
            for e in self.errors:
                print("  " + e.replace("\n", "\n  "), file=sys.stderr)
            return 1
        return 0

    def cleanup(self) -> None:
        for t in list(self.topics):
            self.drop_topic(t)
        shutil.rmtree(self.tmp, ignore_errors=True)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmark sfcrime produce/aggregate against kcat, kafka-producer-perf-test, Spark and plain "
                    "Python on the real data; latency at a fixed rate; peak RSS. See bench/README.md.")
    ap.add_argument("--bootstrap-servers", "-b", default="localhost:9092", metavar="HOST:PORT",
                    help="the Kafka broker (default localhost:9092)")
    ap.add_argument("--start-broker", action="store_true",
                    help="when no broker answers, start one with scripts/kafka up (localhost only)")
    ap.add_argument("--sfcrime", default=os.environ.get("SFCRIME_BIN") or str(REPO / "build" / "sfcrime"),
                    metavar="PATH", help="the sfcrime binary (env SFCRIME_BIN; default <repo>/build/sfcrime)")
    ap.add_argument("--data", metavar="PATH",
                    help="input: the .json.xz or .json array (default <repo>/../shared/data/"
                         "police-department-calls-for-service.json.xz)")
    ap.add_argument("--records", type=int, metavar="N",
                    help="use only the first N records (default all; --smoke with synthetic data: 20000)")
    ap.add_argument("--synthetic", action="store_true", help="use a synthetic sample (tests/gen_synthetic.py)")
    ap.add_argument("--repeat", type=int, metavar="K", help="run each timed measurement K times (default 3; --smoke 1)")
    ap.add_argument("--smoke", action="store_true",
                    help="a fast run for CI: repeat 1, no peers unless --spark/--python, 5000 latency records; the "
                         "figures are not targets")
    ap.add_argument("--only", action="append", choices=("produce", "aggregate", "latency"),
                    help="run only this part (repeatable)")
    ap.add_argument("--keep-topics", action="store_true", help="do not delete the topics the run creates")
    ap.add_argument("--scale", type=int, default=1, metavar="N",
                    help="run everything on the data N times over (bench/scale_data.py: copy k shifted k*91 days "
                         "later, crime_id suffixed '-k'); the targets are meant at 10")
    ap.add_argument("--peers", metavar="LIST",
                    help=f"the peers to run, comma-separated from {','.join(PEER_NAMES)} (default all; --smoke none); "
                         "'none' for none")
    ap.add_argument("--peer-repeat", type=int, metavar="K", help="runs of each peer (default --repeat)")
    ap.add_argument("--no-spark", action="store_true", help="leave out the Spark peer")
    ap.add_argument("--no-python", action="store_true", help="leave out the plain Python peer")
    ap.add_argument("--spark", action="store_true", help="with --smoke: include the Spark peer")
    ap.add_argument("--python", action="store_true", help="with --smoke: include the plain Python peer")
    ap.add_argument("--install-peers", action="store_true", help="run bench/peers/install first")
    ap.add_argument("--latency-records", type=int, metavar="N",
                    help="records in each latency run (default 10 s worth at its rate, at most the data; --smoke 5000)")
    ap.add_argument("--latency-rate", metavar="R[,R...]",
                    help="records/s of the latency runs, comma-separated (default 5000,50000; --smoke 5000)")
    ap.add_argument("--timeout", type=float, default=300, metavar="S",
                    help="timeout of each timed sfcrime/kcat/JVM process (default 300 s)")
    ap.add_argument("--peer-timeout", type=float, default=1200, metavar="S",
                    help="timeout of each peer run (default 1200 s)")
    ap.add_argument("--results-dir", default=str(BENCH / "results"), metavar="DIR",
                    help="where the JSON goes (default bench/results)")
    ap.add_argument("--no-results", action="store_true", help="write no JSON")
    a = ap.parse_args(argv)
    if a.repeat is None:
        a.repeat = 1 if a.smoke else 3
    if a.latency_records is None and a.smoke:
        a.latency_records = 5000
    try:
        a.latency_rates = [int(r) for r in (a.latency_rate or ("5000" if a.smoke else "5000,50000")).split(",")]
    except ValueError:
        ap.error(f"--latency-rate expects records/s, comma-separated: '{a.latency_rate}'")
    if a.peer_repeat is None:
        a.peer_repeat = a.repeat
    if a.peer_repeat > a.repeat:
        ap.error(f"--peer-repeat {a.peer_repeat} is more than --repeat {a.repeat}: the peers run in the rounds of --repeat")
    if (a.repeat < 1 or a.peer_repeat < 1 or (a.latency_records is not None and a.latency_records < 1)
            or min(a.latency_rates) < 1 or a.scale < 1 or (a.records is not None and a.records < 1)):
        ap.error("--repeat, --peer-repeat, --records, --scale, --latency-records and --latency-rate must be positive")
    if a.peers is None:
        peers = set() if a.smoke else set(PEER_NAMES)
    else:
        peers = set() if a.peers == "none" else {x.strip() for x in a.peers.split(",") if x.strip()}
        unknown = peers - set(PEER_NAMES)
        if unknown:
            ap.error(f"--peers: unknown peer(s) {', '.join(sorted(unknown))}; choose from {', '.join(PEER_NAMES)}")
    peers |= {x for x in ("spark", "python") if getattr(a, x)}
    peers -= {x for x in ("spark", "python") if getattr(a, "no_" + x)}
    a.peers = sorted(peers)
    a.sfcrime = str(Path(a.sfcrime).absolute())
    return a


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    load_start = os.getloadavg()
    for tool in ("kcat", "java"):
        if not shutil.which(tool):
            print(f"bench: error: '{tool}' not found on PATH", file=sys.stderr)
            return 69
    if not os.access(args.sfcrime, os.X_OK):
        print(f"bench: error: no sfcrime binary at '{args.sfcrime}' (build it with scripts/build, or give --sfcrime "
              f"PATH / SFCRIME_BIN)", file=sys.stderr)
        return 66
    bench = Bench(args)
    parts = args.only or ["produce", "aggregate", "latency"]
    try:
        if args.install_peers:
            bench.install_peers()
        bench.ensure_broker()
        log(f"sfcrime {args.sfcrime}; broker {args.bootstrap_servers}; repeat {args.repeat}; run {bench.run_id}")
        bench.prepare_data()
        if "produce" in parts:
            bench.produce_section()
        if "aggregate" in parts:
            bench.aggregate_section()
        if "latency" in parts:
            bench.latency_section()
        return bench.report(started, load_start)
    except Failed as e:
        print(f"bench: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        bench.cleanup()


if __name__ == "__main__":
    sys.exit(main())
