#!/usr/bin/env python3
"""bench/memory.py - the memory benchmark of `sfcrime aggregate`: peak RSS per input, query and size.

For every input {file, topic} x query {30m, 1h/1m, 1s} x size {1x, 10x} it runs

    sfcrime aggregate --file DATA.ndjson QUERY -o csv > /dev/null                       (file)
    sfcrime aggregate --topic T QUERY --from-beginning --exit-at-end -o csv > /dev/null  (topic)

where QUERY is `--window 30m`, `--window 1h --slide 1m` or `--window 1s`, DATA.ndjson is made by
bench/scale_data.py --copies SIZE (the real data SIZE times over in ascending event time, copy k
shifted by k*91 days) into a temporary folder, and T is a fresh topic of 6 partitions filled once per
size with `sfcrime produce --topic T --file DATA.ndjson` (untimed). It measures each process's wall
time, peak RSS (ru_maxrss from os.wait4, read by a small launcher that forks the command: a child of
this script would start with this script's memory), exit status, and from the summary line on its
stderr ('sfcrime aggregate: N records, L late, ... R rows out, ...') the records, late records and
rows out, and marks each peak RSS 'ok' or 'over' against the 128 MiB target. While a process runs
its VmRSS (/proc/PID/status) is read every 50 ms and it is killed when it goes above --rss-limit MiB
('killed at N MiB': a measured result, over the target) or runs longer than --timeout s (a failure).

Then the signal part: `aggregate --file DATA.ndjson --window 1h --slide 1m -o csv` over the largest size
(10x) and the same from the topic get SIGTERM 2 s after their start (and in a second run SIGINT); it measures the time
from the signal to the process's exit and its exit status (documented: 143 for SIGTERM, 130 for
SIGINT), against a target of 1 s.

Prints one table per part, ending with 'memory targets: K of M met' (and 'signal targets: ...').
Exit status 0 when every measurement ran (an unmet target or a process killed at --rss-limit does not
fail the run), 1 when a command failed or timed out (its command line and stderr tail are printed),
130 on Ctrl-C and 143 on SIGTERM (the topics and the temporary folder are removed in every case).

Options:
  --bootstrap-servers HOST:PORT  the broker (default localhost:9092; given to sfcrime as -b)
  --sfcrime PATH      the binary (env SFCRIME_BIN; default <repo>/build/sfcrime)
  --data PATH         the input of scale_data.py (default the real data)
  --sizes 1,10        the sizes, in copies of the data (default 1,10)
  --queries Q,...     windows as WINDOW or WINDOW/SLIDE (default 30m,1h/1m,1s)
  --only file|topic   one input only
  --timeout S         bound on each process (default 300 s)
  --rss-limit MiB     kill a process whose RSS goes above this (default 4096)
  --no-signals        leave out the signal part
  --smoke             1x, the 30m query, no signal part (for CI: under 30 s)
  --json PATH         write every figure as JSON
  --keep-topics       keep the topics it creates (deleted at the end by default, also on failure or Ctrl-C)

Standard library only (Python 3.11). See bench/README.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
PARTITIONS = 6
TARGET_MIB = 128            # peak RSS target of aggregate, whatever the input, query and size
SIGNAL_TARGET_S = 1.0       # from the signal to the exit
SIGNAL_AFTER_S = 2.0        # the signal is sent this long after the start
SIGNAL_QUERY = "1h/1m"
EXPECTED_EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130}
POLL_S = 0.05
EXEC_RETRIES = 10           # the binary may be missing for a moment while it is being linked


class Failed(Exception):
    """A command the benchmark needs failed: the message names it and carries its stderr tail."""


class FailedBefore(Failed):
    """What a case needs (its data, its topic) could not be made for an earlier case: reported there."""


def log(msg: str) -> None:
    print(f"memory: {msg}", file=sys.stderr, flush=True)


def tail(text: str, n: int = 12) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join("    " + ln for ln in lines[-n:])


def short(msg: str, n: int = 72) -> str:
    """The first line of msg, cut to n characters: a table's note (the whole is printed at the end)."""
    line = msg.splitlines()[0] if msg else ""
    return line if len(line) <= n else line[: n - 3] + "..."


def show_cmd(cmd: list[str]) -> str:
    return " ".join(c if re.fullmatch(r"[\w@%+=:,./-]+", c) else repr(c) for c in cmd)


def run(cmd: list[str], timeout: float, what: str) -> subprocess.CompletedProcess:
    """Runs an untimed helper command; raises Failed (command, exit status, stderr tail) on failure."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise Failed(f"{what} timed out after {timeout:.0f} s: {show_cmd(cmd)}\n{tail(err)}")
    except OSError as e:
        raise Failed(f"{what} could not start: {show_cmd(cmd)}: {e}")
    if p.returncode != 0:
        raise Failed(f"{what} failed (exit {p.returncode}): {show_cmd(cmd)}\n{tail(p.stderr)}")
    return p


def query_args(q: str) -> list[str]:
    """'30m' -> --window 30m; '1h/1m' -> --window 1h --slide 1m."""
    w, _, s = q.partition("/")
    return ["--window", w] + (["--slide", s] if s else [])


# ------------------------------------------------------------------------------------------------
# Measured processes: a launcher forks the command and reports its pid, then its rusage

# Linux keeps a process's peak RSS across fork and exec, so os.wait4 on a command started by this
# script would report at least this script's size. The command therefore runs under this small
# launcher (a fresh `python3 -I -S`, about 7 MiB, the "RSS floor" measured at start): it forks the
# command, writes 'pid N' (or 'exec-error ERRNO MESSAGE') to the file descriptor it was given, waits
# with os.wait4 and writes 'done MAXRSS_KIB WALL_S CPU_S EXIT_MONOTONIC WAITSTATUS'. The command gets
# the default dispositions of SIGPIPE and SIGXFSZ (Python ignores them) and not the report descriptor.
LAUNCHER = r"""
import os, signal, sys, time
fd, cmd = int(sys.argv[1]), sys.argv[2:]
r, w = os.pipe()
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    os.close(fd)
    os.close(r)
    for s in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(s, signal.SIG_DFL)
    try:
        os.execvp(cmd[0], cmd)
    except OSError as e:
        os.write(w, ("%d %s" % (e.errno, e.strerror)).encode())
    os._exit(127)
os.close(w)
err = os.read(r, 512).decode(errors="replace")
os.write(fd, (("exec-error %s" % err) if err else ("pid %d" % pid)).encode() + b"\n")
_, status, ru = os.wait4(pid, 0)
t1 = time.monotonic()
os.write(fd, ("done %d %r %r %r %d\n" % (ru.ru_maxrss, t1 - t0, ru.ru_utime + ru.ru_stime, t1, status)).encode())
"""


def status_text(waitstatus: int) -> str:
    if os.WIFSIGNALED(waitstatus):
        return f"killed by {signal.Signals(os.WTERMSIG(waitstatus)).name}"
    return f"exit {os.waitstatus_to_exitcode(waitstatus)}"


def proc_rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass
class Result:
    """One finished measured process."""
    cmd: list[str]
    waitstatus: int | None = None      # None: the launcher reported nothing (it was killed)
    wall_s: float | None = None
    cpu_s: float | None = None
    maxrss_kib: int = 0
    sampled_kib: int = 0               # the largest VmRSS seen while polling
    killed_rss_mib: float | None = None
    timed_out: bool = False
    exit_at: float | None = None       # time.monotonic() when wait4 returned in the launcher
    signal_at: float | None = None
    stderr: str = ""
    exec_error: str | None = None

    @property
    def exit_code(self) -> int | None:
        return None if self.waitstatus is None else os.waitstatus_to_exitcode(self.waitstatus)

    @property
    def peak_mib(self) -> float:
        return max(self.maxrss_kib, self.sampled_kib) / 1024

    @property
    def status(self) -> str:
        return "no status" if self.waitstatus is None else status_text(self.waitstatus)


class Launched:
    """A command running under LAUNCHER in its own session (so a Ctrl-C of the terminal does not reach it)."""

    current: "Launched | None" = None  # the one running now, killed by cleanup on Ctrl-C

    def __init__(self, cmd: list[str], stderr_file):
        r, w = os.pipe()
        self.cmd, self.buf, self.child = cmd, b"", None
        try:
            self.p = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER, str(w), *cmd],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr_file,
                                      pass_fds=(w,), start_new_session=True)
        except OSError as e:
            os.close(r)
            raise Failed(f"could not start the launcher of {show_cmd(cmd)}: {e}")
        finally:
            os.close(w)
        self.r = r
        Launched.current = self

    def read_line(self, timeout: float) -> str | None:
        """The launcher's next report line, or None when none came within timeout; '' at EOF."""
        while b"\n" not in self.buf:
            ready, _, _ = select.select([self.r], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.r, 4096)
            if not chunk:
                return ""
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def kill_command(self) -> None:
        """SIGKILL to the command only: the launcher still reports its rusage."""
        try:
            os.kill(self.child, signal.SIGKILL)
        except (OSError, TypeError):
            pass

    def close(self) -> None:
        try:
            os.killpg(self.p.pid, signal.SIGKILL)   # whatever is left of the launcher's session
        except OSError:
            pass
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            pass
        os.close(self.r)
        if Launched.current is self:
            Launched.current = None


def watch(lp: Launched, res: Result, timeout: float, rss_limit_mib: float, send: tuple[int, float] | None) -> None:
    """Waits for the launcher's 'done' line, polling the command's VmRSS every 50 ms: kills it above
    rss_limit_mib or after timeout s; with send=(signal, after_s) signals it after_s after its start."""
    t0 = time.monotonic()
    while True:
        line = lp.read_line(POLL_S)
        if line == "":
            return
        if line is not None and line.startswith("done "):
            maxrss, wall, cpu, exit_at, status = line.split()[1:]
            res.maxrss_kib, res.wall_s, res.cpu_s = int(maxrss), float(wall), float(cpu)
            res.exit_at, res.waitstatus = float(exit_at), int(status)
            return
        now = time.monotonic()
        rss = proc_rss_kib(lp.child)
        if rss is not None:
            res.sampled_kib = max(res.sampled_kib, rss)
            if rss > rss_limit_mib * 1024 and res.killed_rss_mib is None:
                res.killed_rss_mib = rss / 1024
                lp.kill_command()
        if send and res.signal_at is None and now - t0 >= send[1]:
            res.signal_at = time.monotonic()
            try:
                os.kill(lp.child, send[0])
            except OSError:
                pass            # it has just ended: wait4 tells
        if now - t0 > timeout and not res.timed_out:
            res.timed_out = True
            lp.kill_command()


def run_measured(cmd: list[str], timeout: float, rss_limit_mib: float,
                 send: tuple[int, float] | None = None) -> Result:
    """Runs cmd once under the launcher (retrying while the binary cannot be executed, as while it is
    being linked); stdout to /dev/null, stderr kept."""
    for attempt in range(EXEC_RETRIES + 1):
        res = Result(cmd)
        with tempfile.TemporaryFile() as err:
            lp = Launched(cmd, err)
            try:
                first = lp.read_line(30)
                if first is None or not first.startswith(("pid ", "exec-error ")):
                    raise Failed(f"the launcher of {show_cmd(cmd)} did not start it ({first!r})")
                if first.startswith("exec-error "):
                    res.exec_error = first[len("exec-error "):]
                else:
                    lp.child = int(first.split()[1])
                    watch(lp, res, timeout, rss_limit_mib, send)
            finally:
                lp.close()
            err.seek(0)
            res.stderr = err.read().decode(errors="replace")
        if res.exec_error is None:
            return res
        if attempt < EXEC_RETRIES:
            log(f"cannot run {cmd[0]} ({res.exec_error}): trying again in 1 s (is it being linked?)")
            time.sleep(1)
    raise Failed(f"cannot run {show_cmd(cmd)}: {res.exec_error}")


def rss_floor_kib() -> int:
    """The launcher's own contribution to a figure: ru_maxrss of `true` run under it."""
    return run_measured(["true"], 30, 1 << 20).maxrss_kib


SUMMARY = re.compile(r"sfcrime aggregate: (\d+) records, (\d+) late,.*?(?:(\d+) batches, )?(\d+) rows out")


def parse_summary(stderr: str) -> dict | None:
    """records, late, batches, rows out from aggregate's last summary line, or None."""
    found = SUMMARY.findall(stderr)
    if not found:
        return None
    recs, late, batches, rows = found[-1]
    return {"records": int(recs), "late": int(late), "batches": int(batches) if batches else None,
            "rows_out": int(rows)}


# ------------------------------------------------------------------------------------------------
# The benchmark

@dataclass
class Case:
    """One line of the memory table."""
    input: str
    query: str
    size: int
    cmd: list[str] = field(default_factory=list)
    expected_records: int | None = None
    status: str = "ok"                  # ok | failed
    note: str = ""
    figures: dict = field(default_factory=dict)

    def met(self) -> bool | None:
        if self.status != "ok":
            return None
        return self.figures["killed_rss_mib"] is None and self.figures["peak_rss_mib"] <= TARGET_MIB


class Bench:
    def __init__(self, args):
        self.a = args
        self.sf = args.sfcrime
        self.tmp = Path(tempfile.mkdtemp(prefix="sfcrime-memory-"))
        self.run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S") + f"-{os.getpid()}"
        self.data: dict[int, tuple[Path, int]] = {}    # size -> (ndjson, records)
        self.topics: dict[int, str] = {}               # size -> topic filled with that size
        self.broken: dict[str, str] = {}               # 'data 10x' / 'topic 10x' -> why it could not be made
        self.created: list[str] = []
        self.cases: list[Case] = []
        self.signals: list[dict] = []
        self.errors: list[str] = []
        self.floor_kib = rss_floor_kib()
        self.sha_start = self.binary_sha()
        self.load_start = os.getloadavg()

    def sfc(self, *a: str) -> list[str]:
        return [self.sf, "-b", self.a.bootstrap_servers, *a]

    def binary_sha(self) -> str | None:
        try:
            return hashlib.sha256(Path(self.sf).read_bytes()).hexdigest()
        except OSError:
            return None

    def fail(self, e: Failed) -> None:
        if not isinstance(e, FailedBefore):     # reported once, with the case that met it first
            self.errors.append(str(e))
            log(str(e))

    # --- data and topics -------------------------------------------------------------------------

    def prepare(self, size: int) -> tuple[Path, int]:
        if size not in self.data:
            path = self.tmp / f"calls-{size}x.ndjson"
            cmd = [sys.executable, str(BENCH / "scale_data.py"), "--copies", str(size), "--output", str(path)]
            if self.a.data:
                cmd += ["--data", self.a.data]
            log(f"data {size}x: {show_cmd(cmd)}")
            p = run(cmd, max(self.a.timeout, 60), f"generating the {size}x data")
            m = re.search(r"(\d+) records written", p.stderr)
            if not m:
                raise Failed(f"scale_data.py printed no summary: {show_cmd(cmd)}\n{tail(p.stderr)}")
            self.data[size] = (path, int(m[1]))
            log("  " + p.stderr.strip().splitlines()[-1])
        return self.data[size]

    def topic_messages(self, name: str) -> int:
        p = run(self.sfc("inspect", "--topic", name, "--output", "json"), 60, f"inspecting topic '{name}'")
        for t in json.loads(p.stdout)["topics"]:
            if t["name"] == name:
                return t.get("messages", sum(pt["messages"] for pt in t["partitions"]))
        return 0

    def topic(self, size: int) -> str:
        """A fresh topic of PARTITIONS partitions holding the size's data (made once per size)."""
        if size in self.topics:
            return self.topics[size]
        path, n = self.prepare(size)
        name = f"bench-memory-{self.run_id}-{size}x"
        run(self.sfc("topic", "create", name, "--partitions", str(PARTITIONS), "--replication-factor", "1"),
            60, f"creating topic '{name}'")
        self.created.append(name)
        log(f"filling '{name}' (untimed): sfcrime produce --file {path.name}")
        p = run(self.sfc("produce", "--topic", name, "--file", str(path)), self.a.timeout, f"filling '{name}'")
        log("  " + (p.stderr.strip().splitlines() or ["(no summary)"])[-1])
        got, end = 0, time.monotonic() + 10
        while got < n and time.monotonic() < end:
            got = self.topic_messages(name)
            if got < n:
                time.sleep(0.2)
        if got != n:
            raise Failed(f"topic '{name}' holds {got} messages after produce, expected {n}")
        self.topics[size] = name
        return name

    def drop_topics(self) -> None:
        if self.a.keep_topics:
            if self.created:
                log(f"kept the topics {', '.join(self.created)} (--keep-topics)")
            return
        for name in list(self.created):
            try:
                run(self.sfc("topic", "delete", name), 60, f"deleting topic '{name}'")
                self.created.remove(name)
            except Failed as e:
                log(str(e))

    def once(self, what: str, make):
        """make(), or Failed again without a second try when it failed before."""
        if what in self.broken:
            raise FailedBefore(f"no {what}: {self.broken[what]}")
        try:
            return make()
        except Failed as e:
            self.broken[what] = str(e).splitlines()[0]
            raise

    def aggregate_cmd(self, inp: str, query: str, size: int) -> tuple[list[str], int]:
        path, n = self.once(f"data {size}x", lambda: self.prepare(size))
        if inp == "file":
            return self.sfc("aggregate", "--file", str(path), *query_args(query), "-o", "csv"), n
        t = self.once(f"topic {size}x", lambda: self.topic(size))
        return self.sfc("aggregate", "--topic", t, *query_args(query), "--from-beginning", "--exit-at-end",
                        "-o", "csv"), n

    # --- the memory part -------------------------------------------------------------------------

    def measure(self, inp: str, query: str, size: int) -> None:
        case = Case(inp, query, size)
        self.cases.append(case)
        try:
            case.cmd, case.expected_records = self.aggregate_cmd(inp, query, size)
            log(f"{inp} {query} {size}x: {show_cmd(case.cmd)}")
            res = run_measured(case.cmd, self.a.timeout, self.a.rss_limit)
            case.figures = self.figures(res)
            self.check(case, res)
            f = case.figures
            log(f"  {res.status}, {f['wall_s']:.2f} s, {f['peak_rss_mib']:.0f} MiB"
                + (f", {case.note}" if case.note else ""))
        except Failed as e:
            case.status, case.note = "failed", short(str(e))
            self.fail(e)

    def figures(self, res: Result) -> dict:
        s = parse_summary(res.stderr) or {}
        return {"records": s.get("records"), "late": s.get("late"), "rows_out": s.get("rows_out"),
                "batches": s.get("batches"), "wall_s": res.wall_s, "cpu_s": res.cpu_s,
                "peak_rss_mib": res.peak_mib, "ru_maxrss_kib": res.maxrss_kib, "sampled_vmrss_kib": res.sampled_kib,
                "killed_rss_mib": res.killed_rss_mib, "timed_out": res.timed_out, "exit": res.status,
                "stderr_tail": tail(res.stderr, 5)}

    def check(self, case: Case, res: Result) -> None:
        """Raises Failed when the process timed out or failed; notes a count that is not the data's."""
        if res.timed_out:
            raise Failed(f"timed out after {self.a.timeout:.0f} s (killed): {show_cmd(res.cmd)}\n{tail(res.stderr)}")
        if res.killed_rss_mib is not None:
            case.note = f"killed at {res.killed_rss_mib:.0f} MiB"
            return
        if res.exit_code != 0:
            raise Failed(f"sfcrime aggregate failed ({res.status}): {show_cmd(res.cmd)}\n{tail(res.stderr)}")
        f = case.figures
        if f["records"] is None:
            raise Failed(f"sfcrime aggregate printed no summary line: {show_cmd(res.cmd)}\n{tail(res.stderr)}")
        notes = []
        if f["records"] != case.expected_records:
            notes.append(f"expected {case.expected_records:,} records")
        if f["late"]:
            notes.append("late records")
        case.note = "; ".join(notes)

    # --- the signal part -------------------------------------------------------------------------

    def signal_run(self, inp: str, sig: int, size: int) -> None:
        entry = {"input": inp, "query": SIGNAL_QUERY, "size": size, "signal": sig.name,
                 "expected_exit": EXPECTED_EXIT[sig], "status": "ok", "note": ""}
        self.signals.append(entry)
        try:
            cmd, _ = self.aggregate_cmd(inp, SIGNAL_QUERY, size)
            entry["cmd"] = cmd
            log(f"signal: {sig.name} after {SIGNAL_AFTER_S:.0f} s to {show_cmd(cmd)}")
            res = run_measured(cmd, self.a.timeout, self.a.rss_limit, send=(sig, SIGNAL_AFTER_S))
            self.signal_outcome(entry, res)
            log(f"  {res.status}" + (f", {entry['exit_after_s'] * 1000:.0f} ms after the signal"
                                     if "exit_after_s" in entry else f", {entry['note']}"))
        except Failed as e:
            entry["status"], entry["note"] = "failed", short(str(e))
            self.fail(e)

    def signal_outcome(self, entry: dict, res: Result) -> None:
        """Fills entry from res: the time from the signal to the exit, or why there is none."""
        entry.update(exit=res.status, exit_code=res.exit_code, peak_rss_mib=res.peak_mib, wall_s=res.wall_s,
                     signal_sent=res.signal_at is not None, killed_rss_mib=res.killed_rss_mib,
                     timed_out=res.timed_out, summary=parse_summary(res.stderr), stderr_tail=tail(res.stderr, 5))
        if res.killed_rss_mib is not None:
            when = "before the signal" if res.signal_at is None else \
                f"{res.exit_at - res.signal_at:.1f} s after the signal" if res.exit_at else "after the signal"
            entry["note"] = f"killed at {res.killed_rss_mib:.0f} MiB, {when}"
        elif res.signal_at is None:
            entry["note"] = f"ended ({res.status}) before the signal"
        elif res.exit_at is not None and not res.timed_out:
            entry["exit_after_s"] = res.exit_at - res.signal_at
        else:
            raise Failed(f"did not exit within {self.a.timeout:.0f} s of its start after {entry['signal']} "
                         f"(killed): {show_cmd(res.cmd)}\n{tail(res.stderr)}")

    @staticmethod
    def signal_met(e: dict) -> bool | None:
        if e["status"] != "ok" or not e.get("signal_sent"):
            return None         # failed, or it ended (or was killed at --rss-limit) before the signal
        return e.get("exit_after_s", float("inf")) <= SIGNAL_TARGET_S and e.get("exit_code") == e["expected_exit"]

    # --- output ----------------------------------------------------------------------------------

    def memory_table(self) -> str:
        head = ["input", "query", "size", "records", "late", "rows out", "seconds", "peak RSS MiB",
                f"<= {TARGET_MIB} MiB", "note"]
        rows = [head]
        for c in self.cases:
            f = c.figures

            def num(k: str) -> str:
                return "-" if f.get(k) is None else f"{f[k]:,}"
            met = c.met()
            rows.append([c.input, c.query, f"{c.size}x", num("records"), num("late"), num("rows_out"),
                         "-" if f.get("wall_s") is None else f"{f['wall_s']:.2f}",
                         "-" if not f else f"{f['peak_rss_mib']:,.0f}",
                         "failed" if met is None else ("ok" if met else "over"), c.note])
        return render(rows, right={3, 4, 5, 6, 7})

    def signal_table(self) -> str:
        head = ["input", "query", "size", "signal", "exit status", "expected", "exit after ms", "peak RSS MiB",
                f"within {SIGNAL_TARGET_S:g} s", "note"]
        rows = [head]
        for e in self.signals:
            met = self.signal_met(e)
            rows.append([e["input"], e["query"], f"{e['size']}x", e["signal"], e.get("exit", "-"),
                         str(e["expected_exit"]),
                         f"{e['exit_after_s'] * 1000:,.0f}" if "exit_after_s" in e else "-",
                         f"{e['peak_rss_mib']:,.0f}" if "peak_rss_mib" in e else "-",
                         "-" if met is None else ("ok" if met else "over"), e["note"]])
        return render(rows, right={6, 7})

    def report(self, started: float) -> int:
        print()
        print(self.memory_table())
        print(f"(peak RSS = ru_maxrss of the process from os.wait4, or the largest VmRSS polled every 50 ms if "
              f"larger; it cannot show less than the launcher's {self.floor_kib / 1024:.1f} MiB)")
        judged = [c.met() for c in self.cases if c.met() is not None]
        print(f"memory targets: {sum(judged)} of {len(judged)} met")
        if self.signals:
            print()
            print(self.signal_table())
            sj = [m for m in map(self.signal_met, self.signals) if m is not None]
            print(f"(the signal goes {SIGNAL_AFTER_S:g} s after the start; 'exit after' runs from the signal to the "
                  f"process's exit as its launcher's wait4 saw it; 'within' needs the expected status too)")
            print(f"signal targets: {sum(sj)} of {len(sj)} met")
        busy = max(self.load_start[0], os.getloadavg()[0])
        if busy > (os.cpu_count() or 1) * 0.75:
            print(f"warning: the machine was busy (1-minute load average up to {busy:.1f} on {os.cpu_count()} cores): "
                  f"the seconds are noisy, and so is the topic input's RSS (what librdkafka fetched ahead)")
        if self.binary_sha() != self.sha_start:
            print("warning: the sfcrime binary changed during the run: the figures may come from two builds")
        if self.a.json:
            self.write_json(started)
        print(f"run took {time.monotonic() - started:.0f} s")
        if self.errors:
            print(f"memory: {len(self.errors)} command(s) failed:", file=sys.stderr)
            for e in self.errors:
                print("  " + e.replace("\n", "\n  "), file=sys.stderr)
            return 1
        return 0

    def write_json(self, started: float) -> None:
        ver = subprocess.run([self.sf, "--version"], capture_output=True, text=True, timeout=30)
        git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=30)
        doc = {
            "run_id": self.run_id, "utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "command": sys.argv, "options": vars(self.a), "duration_s": time.monotonic() - started,
            "machine": {"hostname": socket.gethostname(), "nproc": os.cpu_count(),
                        "sfcrime": self.sf, "sfcrime_version": ver.stdout.strip(), "sfcrime_sha256": self.sha_start,
                        "git_commit": git.stdout.strip()},
            "rss_floor_mib": self.floor_kib / 1024, "target_mib": TARGET_MIB, "signal_target_s": SIGNAL_TARGET_S,
            "data": {f"{s}x": {"records": n, "ndjson_bytes": p.stat().st_size if p.exists() else None}
                     for s, (p, n) in self.data.items()},
            "cases": [{"input": c.input, "query": c.query, "size": c.size, "cmd": c.cmd, "status": c.status,
                       "note": c.note, "expected_records": c.expected_records, "target_met": c.met(), **c.figures}
                      for c in self.cases],
            "signals": [{**e, "target_met": self.signal_met(e)} for e in self.signals],
            "errors": self.errors,
        }
        Path(self.a.json).write_text(json.dumps(doc, indent=2, default=str) + "\n")
        print(f"results: {self.a.json}")

    def cleanup(self) -> None:
        if Launched.current:
            Launched.current.close()
        self.drop_topics()
        shutil.rmtree(self.tmp, ignore_errors=True)


def render(rows: list[list[str]], right: set[int]) -> str:
    """Aligned columns, a rule under the head; the last column left unpadded."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for j, r in enumerate(rows):
        cells = [(c.rjust(widths[i]) if i in right else c.ljust(widths[i])) if i < len(widths) else c
                 for i, c in enumerate(r)]
        out.append("  ".join(cells).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(out)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="bench/memory.py",
        description="Peak RSS, wall time and rows of sfcrime aggregate over the real data 1x and 10x, from a file "
                    "and from a topic, for three window queries; and how fast it exits on SIGTERM/SIGINT. "
                    "See bench/README.md.")
    ap.add_argument("--bootstrap-servers", "-b", default="localhost:9092", metavar="HOST:PORT",
                    help="the Kafka broker (default localhost:9092), given to sfcrime as -b")
    ap.add_argument("--sfcrime", default=os.environ.get("SFCRIME_BIN") or str(REPO / "build" / "sfcrime"),
                    metavar="PATH", help="the sfcrime binary (env SFCRIME_BIN; default <repo>/build/sfcrime)")
    ap.add_argument("--data", metavar="PATH", help="the input of bench/scale_data.py (default the real data)")
    ap.add_argument("--sizes", default="1,10", metavar="N,...", help="sizes in copies of the data (default 1,10)")
    ap.add_argument("--queries", default="30m,1h/1m,1s", metavar="Q,...",
                    help="windows as WINDOW or WINDOW/SLIDE (default 30m,1h/1m,1s)")
    ap.add_argument("--only", choices=("file", "topic"), help="one input only")
    ap.add_argument("--timeout", type=float, default=300, metavar="S", help="bound on each process (default 300 s)")
    ap.add_argument("--rss-limit", type=float, default=4096, metavar="MiB",
                    help="kill a process whose RSS goes above this (default 4096 MiB); reported 'killed at N MiB'")
    ap.add_argument("--no-signals", action="store_true", help="leave out the signal part")
    ap.add_argument("--smoke", action="store_true", help="1x, the 30m query, no signal part (CI; under 30 s)")
    ap.add_argument("--json", metavar="PATH", help="write every figure as JSON to PATH")
    ap.add_argument("--keep-topics", action="store_true", help="do not delete the topics it creates")
    a = ap.parse_args(argv)
    try:
        a.size_list = sorted({int(s) for s in a.sizes.split(",") if s.strip()})
    except ValueError:
        ap.error(f"--sizes takes whole numbers separated by commas, not '{a.sizes}'")
    a.query_list = [q.strip() for q in a.queries.split(",") if q.strip()]
    if not a.size_list or min(a.size_list) < 1 or not a.query_list:
        ap.error("--sizes and --queries need at least one positive size and one query")
    if any(not re.fullmatch(r"\d+[smhd](/\d+[smhd])?", q) for q in a.query_list):
        ap.error(f"--queries takes WINDOW or WINDOW/SLIDE such as 30m or 1h/1m, not '{a.queries}'")
    if a.smoke:
        a.size_list, a.query_list, a.no_signals = [1], ["30m"], True
    if a.timeout <= 0 or a.rss_limit <= 0:
        ap.error("--timeout and --rss-limit must be positive")
    a.sfcrime = str(Path(a.sfcrime).absolute())
    return a


class Terminated(KeyboardInterrupt):
    """SIGTERM: ends the run as Ctrl-C does (cleanup included), exit 143."""


def on_sigterm(signum, frame):
    raise Terminated


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, on_sigterm)
    end = time.monotonic() + 60      # the binary may be missing for a moment while it is being linked
    while not os.access(args.sfcrime, os.X_OK) and time.monotonic() < end:
        time.sleep(1)
    if not os.access(args.sfcrime, os.X_OK):
        print(f"memory: error: no sfcrime binary at '{args.sfcrime}' (build it with scripts/build, or give "
              f"--sfcrime PATH / SFCRIME_BIN)", file=sys.stderr)
        return 1
    inputs = [args.only] if args.only else ["file", "topic"]
    bench = Bench(args)
    try:
        log(f"sfcrime {args.sfcrime}; broker {args.bootstrap_servers}; sizes {args.size_list}; queries "
            f"{args.query_list}; inputs {inputs}; temp dir {bench.tmp}")
        for size in args.size_list:
            for inp in inputs:
                for q in args.query_list:
                    bench.measure(inp, q, size)
        if not args.no_signals:
            size = max(args.size_list)
            for inp in inputs:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    bench.signal_run(inp, sig, size)
        return bench.report(started)
    except KeyboardInterrupt as e:
        print("memory: " + ("terminated" if isinstance(e, Terminated) else "interrupted"), file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    finally:
        bench.cleanup()


if __name__ == "__main__":
    sys.exit(main())
