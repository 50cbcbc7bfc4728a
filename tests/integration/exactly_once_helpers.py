"""Helpers for the tests of `sfcrime aggregate --exactly-once` (tests/integration/test_exactly_once.py
and tests/soak/test_kill.py): running aggregate processes in the background and killing them,
reading topics back with kcat in read_committed (or read_uncommitted) isolation, and asking Kafka's
own tools (the broker's jars, run with the JDK) for a topic's configuration and a group's committed
offsets. Nothing here computes an expected answer: that is tests/stream_oracle.py's and
tests/oracle.py's job.

Names the program derives from the group G (the interface of --exactly-once):
  changelog topic  G-aggregate-changelog (1 partition, cleanup.policy=compact)
  transactional.id sfcrime-aggregate-G
"""
import collections
import json
import pathlib
import re
import shutil
import signal
import subprocess
import time
import uuid

from conftest import ROOT, integration_helpers, load_module

h = integration_helpers()
sc = load_module("sfcrime_soak_cluster", ROOT / "tests" / "soak" / "soak_cluster.py")

# A restart after kill -9 waits for the dead member's session timeout before the group hands its
# partitions over: every aggregate process of these tests keeps it short (the broker's minimum).
SESSION = ("-X", "session.timeout.ms=6000")


BY = ("original_crime_type_name",)
PARAMS = dict(window="30m", watermark="1h", mode="append")


def write_lines(path, lines):
    """Writes `lines` as NDJSON to `path` (tests/gen_stream.py's writer); returns `path`."""
    h.gen_stream.write_lines(lines, path)
    return path


def produce_file(sfcrime_bin, broker, topic, path, n, *extra):
    """`sfcrime produce --file PATH` of `n` records, all of them sent."""
    p = h.sfcrime(sfcrime_bin, broker, "produce", "--topic", topic, "--file", path, *extra,
                  timeout=120)
    assert p.returncode == 0 and h.produce_summary(p.stderr) == (n, n, 0, 0), p.stderr[-2000:]


def merged(kcat, broker, topic):
    """[(partition, offset, key, payload)] of the whole topic in the contract's processing order
    for a complete static topic (tests/stream_oracle.py merge_partitions over kcat's read-back)."""
    so = h.stream_oracle
    parts = h.kcat_partitions(kcat, broker, topic)
    order = so.merge_partitions({p: [m["payload"] for m in msgs] for p, msgs in parts.items()})
    return [(p, parts[p][i]["offset"], parts[p][i]["key"], payload) for p, i, payload in order]


def oracle(merged_messages, **params):
    """The stream oracle's result over merged()'s messages, PARAMS overridden by `params`."""
    so = h.stream_oracle
    return so.run([m[3] for m in merged_messages], so.Params(**{**PARAMS, **params}))


def expected(res, by=BY):
    """The oracle's final rows projected to the row fields the program prints."""
    return [h.stream_oracle.project(r, by) for r in res.rows]


def canon(rows):
    """Rows as a multiset of canonical JSON texts."""
    return collections.Counter(h.canonical(r) for r in rows)


def input_ends(merged_messages):
    """{partition: end offset} of the input merged() read."""
    return dict(collections.Counter(p for p, _, _, _ in merged_messages))


def check_offsets_at_end(broker, group, topic, ends):
    """The group's committed offset of every partition of `topic` is the partition's end (`ends`)."""
    offsets = group_offsets(broker, group)
    got = {p: c for (t, p), (c, _) in offsets.items() if t == topic}
    assert got == dict(ends), "group %s committed %r; the partitions end at %r" % (group, got, dict(ends))


def check_soak_answer(committed, expected_rows, runs, late, late_why, broker, group, topic, ends):
    """The end of a kill -9 soak: no key committed twice, every row final and equal to
    `expected_rows`, no late record (`late_why` says why none may be), every row a run printed
    committed, and the group's offsets at the input's ends."""
    dups = duplicate_keys(committed)
    assert not dups, "%d keys committed more than once, e.g. %r" % (len(dups), list(dups.items())[:5])
    check_keys(committed)
    rows = [r for _, r in committed]
    assert all(r.get("final") is True for r in rows)
    h.assert_rows_match(rows, expected_rows)
    assert late == 0, "%d records reported late (%s: none)" % (late, late_why)
    not_committed = canon(r for run in runs for r in run.rows()) - canon(rows)
    assert not not_committed, "rows printed on stdout that are not committed: %r" % (
        list(not_committed.elements())[:5])
    check_offsets_at_end(broker, group, topic, ends)


def produce_real_data(sfcrime_bin, broker, kcat, topic, n, label):
    """Produces the real data (conftest.REAL_FILE) into `topic` in event-time order, checks that
    all `n` records were sent, prints a figure prefixed `label`, and returns {partition: end
    offset} as kcat reads it back."""
    from conftest import REAL_FILE
    t0 = time.monotonic()
    rc, _, err, xz_rc = h.sfcrime_from_xz(sfcrime_bin, broker, REAL_FILE, "produce", "--topic", topic,
                                          "--order", "event-time", timeout=600)
    assert rc == 0 and xz_rc == 0, "produce exited %d:\n%s" % (rc, err[-3000:])
    assert h.produce_summary(err) == (n, n, 0, 0), err[-3000:]
    seconds = time.monotonic() - t0
    ends = {}
    for m in kcat_read(kcat, broker, topic, timeout=600):
        ends[m["partition"]] = max(ends.get(m["partition"], 0), m["offset"] + 1)
    sc.figure("%s: %d records produced in event-time order into %d partitions in %.1f s" % (
        label, n, len(ends), seconds))
    assert sum(ends.values()) == n
    return ends


def new_group(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def changelog_topic(group):
    return "%s-aggregate-changelog" % group


def eo_args(topic, group, *extra):
    """The arguments (after `-b BROKER`) of an exactly-once aggregate of `topic` in `group`."""
    return ["aggregate", "--topic", topic, "--group", group, "--exactly-once", *SESSION,
            *map(str, extra)]


# --------------------------------------------------------------------------- reading topics

def kcat_read(kcat, bootstrap, topic, isolation="read_committed", timeout=180):
    """Every message of `topic` from the beginning to its end, read by kcat with the given
    isolation level, as dicts with partition, offset, key, payload (strings or None) and headers
    (a list of (name, value) pairs)."""
    p = subprocess.run([kcat, "-b", bootstrap, "-X", "isolation.level=" + isolation, "-C", "-t",
                        topic, "-o", "beginning", "-e", "-J", "-q"], capture_output=True,
                       timeout=timeout)
    assert p.returncode == 0, "kcat exited %d reading %s: %s" % (
        p.returncode, topic, p.stderr.decode("utf-8", "replace"))
    msgs = []
    for line in p.stdout.decode("utf-8").splitlines():
        if line.strip():
            m = json.loads(line)
            msg = {k: m.get(k) for k in ("partition", "offset", "key", "payload")}
            hd = m.get("headers") or []
            msg["headers"] = list(zip(hd[0::2], hd[1::2]))
            msgs.append(msg)
    msgs.sort(key=lambda m: (m["partition"], m["offset"]))
    return msgs


def committed_rows(kcat, bootstrap, topic, timeout=180):
    """The rows (parsed JSON values) of the committed messages of an output topic, with their
    keys: [(key text, row), ...] in partition and offset order."""
    return [(m["key"], json.loads(m["payload"]))
            for m in kcat_read(kcat, bootstrap, topic, "read_committed", timeout)]


def topic_partitions(kcat, bootstrap, topic, timeout=30):
    """The number of partitions of `topic` in kcat's metadata (0 when the topic does not exist)."""
    p = subprocess.run([kcat, "-b", bootstrap, "-L", "-J", "-t", topic], capture_output=True,
                       timeout=timeout)
    if p.returncode != 0:
        return 0
    meta = json.loads(p.stdout)
    for t in meta.get("topics", []):
        if t.get("topic") == topic and not t.get("error"):
            return len(t.get("partitions", []))
    return 0


def compact_key_forms(value):
    return {json.dumps(value, separators=(",", ":"), ensure_ascii=False),
            json.dumps(value, separators=(",", ":"), ensure_ascii=True)}


def check_keys(keyed_rows, by=("original_crime_type_name",)):
    """Each output message's key is the compact JSON array [window_start, keys...] of its row."""
    for key, row in keyed_rows:
        want = [row["window_start"]] + [row[f] for f in by]
        assert key in compact_key_forms(want), "message key %r, row %r" % (key, row)


def duplicate_keys(keyed_rows):
    """The message keys that occur more than once (with their counts)."""
    c = collections.Counter(k for k, _ in keyed_rows)
    return {k: n for k, n in c.items() if n > 1}


# --------------------------------------------------------------------------- Kafka's own tools

def _java(*args, timeout=90):
    java = shutil.which("java")
    assert java, "java is not installed: Kafka's tools (and the broker) need it"
    jars = sc.jars_dir()
    assert jars.is_dir(), "no Kafka jars at %s (scripts/kafka up resolves them)" % jars
    p = subprocess.run([java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", str(jars / "*"),
                        *args], capture_output=True, text=True, timeout=timeout)
    return p


def topic_config(bootstrap, topic):
    """{name: value} of the configuration set on `topic` (not the broker's defaults), from
    Kafka's kafka.admin.ConfigCommand --describe."""
    p = _java("kafka.admin.ConfigCommand", "--bootstrap-server", bootstrap, "--entity-type",
              "topics", "--entity-name", topic, "--describe")
    assert p.returncode == 0, "ConfigCommand exited %d: %s" % (p.returncode, p.stderr[-2000:])
    out = {}
    for line in p.stdout.splitlines():
        m = re.match(r"\s+([A-Za-z0-9._-]+)=(\S*) sensitive=", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def group_offsets(bootstrap, group):
    """{(topic, partition): (committed offset or None, log end offset)} of `group`, from Kafka's
    ConsumerGroupCommand --describe."""
    p = _java("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", "--bootstrap-server",
              bootstrap, "--describe", "--group", group)
    assert p.returncode == 0, "ConsumerGroupCommand exited %d: %s" % (p.returncode,
                                                                      p.stderr[-2000:])
    out = {}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 5 and f[0] == group and f[2].isdigit():
            out[(f[1], int(f[2]))] = (None if f[3] == "-" else int(f[3]),
                                      None if f[4] == "-" else int(f[4]))
    return out


def cleanup_group(bin_path, bootstrap, group):
    """Best effort: deletes the group's changelog topic and the consumer group itself."""
    try:
        h.sfcrime(bin_path, bootstrap, "topic", "delete", changelog_topic(group), "--if-exists",
                  timeout=60)
    except subprocess.TimeoutExpired:
        pass
    try:
        _java("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", "--bootstrap-server",
              bootstrap, "--delete", "--group", group, timeout=60)
    except (subprocess.TimeoutExpired, AssertionError):
        pass


# --------------------------------------------------------------------------- background runs

def _complete_lines(path):
    """The complete (newline-terminated) lines of a file being written by a running process."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return text[:text.rfind("\n") + 1].splitlines()


class Run:
    """One `sfcrime -b BOOTSTRAP ARGS...` process in the background, its stdout and stderr going
    to files in `workdir` (read while it runs). Use as a context manager: the process is killed
    (SIGKILL, by its pid) when the block is left while it still runs."""

    def __init__(self, bin_path, bootstrap, args, workdir, name):
        self.name = name
        self.args = list(map(str, args))
        self.out_path = pathlib.Path(workdir) / (name + ".stdout")
        self.err_path = pathlib.Path(workdir) / (name + ".stderr")
        self._out = open(self.out_path, "w", encoding="utf-8")
        self._err = open(self.err_path, "w", encoding="utf-8")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([str(bin_path), "-b", bootstrap, *self.args],
                                     stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                     env=h.clean_env())
        self.killed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        self._out.close()
        self._err.close()

    # what it wrote
    def rows(self):
        """The JSON rows of the complete lines of stdout so far."""
        out = []
        for line in _complete_lines(self.out_path):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    raise AssertionError("%s: stdout line is not JSON (%s): %r" % (
                        self.name, e, line[:300]))
        return out

    def printed_any(self):
        """Whether stdout has a complete line yet (cheaper than rows())."""
        try:
            with open(self.out_path, "rb") as f:
                return b"\n" in f.read(65536)
        except FileNotFoundError:
            return False

    def stderr(self):
        try:
            return self.err_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def diagnostics(self, limit=3000):
        """stderr without the progress reports (its last `limit` characters)."""
        text = "\n".join(l for l in self.stderr().splitlines() if '"batchId"' not in l)
        return text[-limit:]

    def reports(self):
        """The --progress json reports on the complete lines of stderr so far."""
        out = []
        for line in _complete_lines(self.err_path):
            s = line.strip()
            if s.startswith("{") and '"batchId"' in s:
                out.append(json.loads(s))
        return out

    def positions(self, topic):
        """{partition: the next offset to process} of `topic` after the last batch reported
        (the largest endOffset of every report so far)."""
        pos = {}
        for r in self.reports():
            for src in r.get("sources", []):
                for part, off in (src.get("endOffset") or {}).get(topic, {}).items():
                    pos[int(part)] = max(pos.get(int(part), 0), int(off))
        return pos

    def position(self, topic):
        """Records of `topic` processed (by this process and the committed ones before it, as
        far as the reports tell): the sum of positions()."""
        return sum(self.positions(topic).values())

    # its life
    def alive(self):
        return self.proc.poll() is None

    def seconds(self):
        return time.monotonic() - self.t0

    def wait_until(self, predicate, timeout, poll=0.05):
        """Polls predicate() until it holds (True), or the process ended (False); fails after
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if self.proc.poll() is not None:
                return bool(predicate())
            if time.monotonic() > deadline:
                raise AssertionError("%s: condition not reached within %d s (still running)\n%s"
                                     % (self.name, timeout, self.diagnostics()))
            time.sleep(poll)

    def wait(self, timeout):
        """Waits for the exit; returns the exit status. Kills it and fails after `timeout` s."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise AssertionError("%s did not exit within %d s\n%s" % (self.name, timeout,
                                                                      self.diagnostics()))

    def kill9(self):
        """SIGKILL (kill -9) now; returns True when it was still running."""
        if self.proc.poll() is not None:
            return False
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.killed = True
        return True

    def stop(self, sig, timeout=30):
        """Sends `sig` and waits for the exit; returns the exit status."""
        self.proc.send_signal(sig)
        return self.wait(timeout)
