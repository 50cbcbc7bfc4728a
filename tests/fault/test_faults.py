"""Fault injection with librdkafka's mock cluster (issue 4, item 5).

Every test starts its own mock cluster with tests/fault/mock_cluster.cpp's tool
(`sfcrime-mock-cluster`, built next to the binary: <build>/tests/fault/): 3 brokers on ephemeral
localhost ports and a topic `calls` of 3 partitions (replication factor 1) created by the tool (the
mock cluster has no CreateTopics, so `sfcrime topic create` cannot), holding 3,000 synthetic records
(tests/gen_synthetic.py; about 1.2 MB: the mock cluster drops old messages past a few MB). The
sfcrime binary runs against the tool's bootstrap servers as a separate process, exactly as a user
runs it, while the test injects a fault through the tool's stdin (it answers `ok` once the fault is
in place). No real broker is used.

Each run must end in the outcome the test names, never in a third one:
  - exact: produce - kcat (an independent client) reads every record back exactly once (the
    multiset of (key, value)); consume - every record printed exactly once; aggregate
    --watermark 36500d --output json - the rows of tests/oracle.py's batch answer; with --group, the
    group's committed offsets are then the end of every partition, so its next run reads nothing
    again (asked by the tool with OffsetFetch: a second sfcrime run would wait up to the departed
    member's session, 45 s, because librdkafka 2.0.2's mock cluster holds its JoinGroup that long);
  - a clean failure: exit status 69 (man sfcrime: "broker unavailable: it cannot be reached within
    the timeout, refused a request, or records were not delivered"; status 1 is only for topic
    create/delete refusals, which the mock cluster cannot serve), a last stderr line
    "sfcrime: error: ..." naming the cause, within a time bound; after a failed produce its summary
    agrees with what the topic holds.
Where either outcome is acceptable (a refused offset commit) the test checks which one happened and
then everything that outcome promises.

aggregate --group g --exactly-once (one transaction per batch) is held to the same two outcomes:
exact - tests/oracle.py's rows on stdout (where a batch is printed once it committed) and each once
in the output topic; a clean failure - exit 69, the last line naming the cause, within a bound, and
nothing printed for a batch that did not commit. Its clusters run the tool with --create-topics (a
proxy that serves the CreateTopics the mock cluster lacks, for the changelog topic), and the
librdkafka mock cluster writes no transaction markers and keeps no transactional offsets, so
whether a rerun resumes where the last commit left off is tests/integration/test_exactly_once.py's.

Faults: all brokers down and up again mid-run, and down for good; request errors on Produce,
InitProducerId, Fetch, ListOffsets, JoinGroup and OffsetCommit, and on the transaction protocol's
InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn (retriable ones,
which must not change the answer, and refusals, which must fail cleanly); partition leaders and
transaction/group coordinators moving; added round-trip time, and brokers that stop answering.
"Mid-run" means while sfcrime still has records to send or read: produce is fed through a pipe and
the fault comes between two halves of its input; consume and aggregate are slowed (200 ms round
trips, 8 KB fetches; aggregate --exactly-once: 100 ms and a batch a second) and the fault comes once
their first output appeared (--exactly-once: its first committed batch).

Runs that wait out an outage pass `-X reconnect.backoff.max.ms=1000`, so that a 2 s outage is not
stretched by librdkafka's default reconnect backoff of up to 10 s (tests/fault/README.md).

The scenarios are mostly waiting (reconnect backoff, the mock cluster's 3 s initial group join,
added round trips), so they run concurrently: each test marked @background_test is started in a thread
of the session's `background` fixture as soon as the first of them runs, each on its own mock
cluster, and the test waits for its own and re-raises its failure. SFCRIME_FAULT_WORKERS=1 runs them
one at a time (default 8).

sfcrime bugs found here are xfail(strict=True) with the bug in the reason: once fixed the test
passes, strict makes that a failure, and the mark must go.

The binary is $SFCRIME_BIN or build/sfcrime (tests/conftest.py); the tool $SFCRIME_MOCK_CLUSTER or
tests/fault/sfcrime-mock-cluster in the binary's build directory.
"""
import collections
import concurrent.futures
import inspect
import json
import os
import pathlib
import queue
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time

import pytest

TESTS_DIR = pathlib.Path(__file__).resolve().parent.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import gen_synthetic  # noqa: E402  (tests/gen_synthetic.py)
import oracle  # noqa: E402  (tests/oracle.py)
from conftest import clean_env  # noqa: E402

TOPIC = "calls"
PARTITIONS = 3
BROKERS = 3
RECORDS = 3000
SEED = 45
WINDOW_SECONDS = 1800

FAST_RECONNECT = ["-X", "reconnect.backoff.max.ms=1000"]
SMALL_FETCHES = ["-X", "max.partition.fetch.bytes=8192"]  # about 17 records per fetch and partition

CONSUME = ["consume", "--topic", TOPIC, "--from-beginning", "--exit-at-end"]
AGGREGATE = ["aggregate", "--topic", TOPIC, "--from-beginning", "--exit-at-end", "--watermark", "36500d",
             "--output", "json"]
READERS = [pytest.param(CONSUME, id="consume"), pytest.param(AGGREGATE, id="aggregate")]

ORACLE_KEYS = ("window_start", "window_end", "original_crime_type_name", "count", "usual_disposition",
               "usual_disposition_description", "window_total", "window_distinct")
ERROR_LINE = re.compile(r"^sfcrime: error: \S.*$")
NOT_DELIVERED = r"(record was|records were) not delivered to 'calls'"
SUMMARY = re.compile(r"sfcrime produce: (\d+) read, (\d+) sent, (\d+) rejected, (\d+) failed")


# ------------------------------------------------------------------------------------------------
# The data and the expected answers


def canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class Data:
    """The records (newest first, as gen_synthetic writes them) and what each command must give."""

    def __init__(self):
        self.records = gen_synthetic.generate(RECORDS, SEED)
        self.lines = [json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in self.records]
        self.ndjson = "".join(self.lines)
        # produce keys each record by crime_id (some ids occur twice on purpose).
        self.messages = collections.Counter((r["crime_id"], canonical(r)) for r in self.records)
        self.values = collections.Counter(canonical(r) for r in self.records)
        rows = oracle.aggregate(self.records, WINDOW_SECONDS, {})  # no radio codes: descriptions null
        self.rows = collections.Counter(canonical({k: row[k] for k in ORACLE_KEYS}) for row in rows)


def describe_diff(actual, expected, what, limit=3):
    """'' when the two multisets are equal, else what is missing and what is extra."""
    if actual == expected:
        return ""
    missing, extra = expected - actual, actual - expected
    return "%s: %d expected, %d got; %d missing (e.g. %s), %d extra or repeated (e.g. %s)" % (
        what, sum(expected.values()), sum(actual.values()), sum(missing.values()),
        [str(m)[:160] for m in list(missing)[:limit]], sum(extra.values()),
        [str(e)[:160] for e in list(extra)[:limit]])


# ------------------------------------------------------------------------------------------------
# The mock cluster tool, sfcrime and kcat


class MockCluster:
    """A running sfcrime-mock-cluster. Calling it sends one command and returns what follows 'ok'
    (an 'error ...' answer fails the test)."""

    def __init__(self, tool, log_path, brokers=BROKERS, topics=((TOPIC, PARTITIONS, 1),), create_topics=False):
        args = [str(tool), "--brokers", str(brokers)]
        for name, parts, rf in topics:
            args += ["--topic", "%s:%d:%d" % (name, parts, rf)]
        if create_topics:  # a proxy in front of the brokers serves CreateTopics (README.md)
            args += ["--create-topics", "-v"]
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                     text=True, encoding="utf-8")
        self._lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.bootstrap = self._answer("(start)")
        assert re.fullmatch(r"[\w.:-]+(,[\w.:-]+)*", self.bootstrap), self.bootstrap

    def _read(self):
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _answer(self, command, timeout=15):
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the mock cluster tool did not answer {command!r} within {timeout} s")
        if line is None:
            raise AssertionError(f"the mock cluster tool exited ({self.proc.poll()}) at {command!r}: "
                                 + pathlib.Path(self.log_path).read_text()[-2000:])
        return line

    def __call__(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self._answer(command)
        assert answer == "ok" or answer.startswith("ok "), f"mock cluster: {command!r} -> {answer!r}"
        return answer[3:]

    def errors(self, api, *codes):
        """Pushes errors for request type `api` on the cluster's stack, in order: each code is
        CODE or (CODE, COUNT); the next requests of that type (to any broker) fail with them."""
        for c in codes:
            code, count = c if isinstance(c, tuple) else (c, 1)
            self(f"errors {api} {code} {count}")

    def close(self):
        # Nothing to keep: killing it spares librdkafka's clean shutdown (about 1 s).
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._log.close()


class Result:
    def __init__(self, cmd, rc, out, err, elapsed):
        self.cmd, self.rc, self.out, self.err, self.elapsed = cmd, rc, out, err, elapsed

    def __str__(self):
        return "`%s` exited %s after %.1f s; stderr ends:\n%s" % (
            " ".join(self.cmd), self.rc, self.elapsed, "\n".join(self.err.splitlines()[-12:]))


class Run:
    """sfcrime started in the background, its output going to files (no pipe fills up)."""

    def __init__(self, cmd, out_path, err_path, stdin=subprocess.DEVNULL):
        self.cmd, self.out_path, self.err_path = cmd, out_path, err_path
        self.t0 = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err, env=clean_env())

    def write(self, text):
        try:
            self.proc.stdin.write(text.encode("utf-8"))
            self.proc.stdin.flush()
        except BrokenPipeError:  # it ended early: its result says why
            pass

    def running(self):
        return self.proc.poll() is None

    def wait_until(self, predicate, what, timeout=30):
        """Waits until predicate(stdout, stderr) holds; fails if sfcrime ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.out_path.read_text(encoding="utf-8", errors="replace")
            err = self.err_path.read_text(encoding="utf-8", errors="replace")
            if predicate(out, err) and self.running():
                return
            if not self.running():
                raise AssertionError(f"sfcrime ended before the fault could come ({what}): {self.finish(1)}")
            time.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout} s: {self.finish(1)}")

    def finish(self, timeout=60):
        """Closes stdin, waits (killing it after `timeout` s and failing) and returns a Result."""
        if self.proc.stdin and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:  # it ended before reading all its input (closed all the same)
                pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"`{' '.join(self.cmd)}` did not end within {timeout} s (killed): "
                                 + self.err_path.read_text(errors="replace")[-2000:])
        return Result(self.cmd, self.proc.returncode, self.out_path.read_text(encoding="utf-8"),
                      self.err_path.read_text(encoding="utf-8", errors="replace"), time.monotonic() - self.t0)

    def kill(self):
        if self.running():
            self.proc.kill()
        self.proc.wait()


class Ctx:
    """What one scenario works with: the binary, the tool, kcat, the data, its own directory; its
    mock clusters and sfcrime processes end with it."""

    def __init__(self, env, tmp):
        self.bin, self.tool, self.kcat, self.data = env["bin"], env["tool"], env["kcat"], env["data"]
        self.tmp = tmp
        self._clusters, self._runs = [], []

    def cluster(self, **kw):
        c = MockCluster(self.tool, self.tmp / ("mock-%d.log" % len(self._clusters)), **kw)
        self._clusters.append(c)
        return c

    def filled(self, **kw):
        """A mock cluster (made with `kw`) whose topic holds the records, produced by sfcrime
        without any fault."""
        mock = self.cluster(**kw)
        # Batches of 20 records: the mock cluster answers a fetch with whole batches, so only small
        # ones let SMALL_FETCHES slow a reader down.
        r = self.sfcrime(mock, "-X", "batch.num.messages=20", "produce", "--topic", TOPIC, input=self.data.ndjson)
        assert r.rc == 0 and SUMMARY.search(r.err).group(2) == str(RECORDS), str(r)
        return mock

    def run(self, mock, *args, stdin=subprocess.DEVNULL):
        """Starts `sfcrime -b BOOTSTRAP ARGS...` in the background."""
        n = len(self._runs)
        r = Run([str(self.bin), "-b", mock.bootstrap, *map(str, args)], self.tmp / f"run-{n}.out",
                self.tmp / f"run-{n}.err", stdin=stdin)
        self._runs.append(r)
        return r

    def sfcrime(self, mock, *args, input=None, timeout=60):
        """Runs `sfcrime -b BOOTSTRAP ARGS...` to its end (killed and failed after `timeout` s)."""
        r = self.run(mock, *args, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
        if input is not None:
            r.write(input)
        return r.finish(timeout)

    def read_topic(self, mock, topic=TOPIC):
        """Every message of `topic` read by kcat: a Counter of (key, value as canonical JSON)."""
        p = subprocess.run([self.kcat, "-b", mock.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-J",
                            "-q"], capture_output=True, timeout=60)
        assert p.returncode == 0, "kcat exited %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace"))
        msgs = [json.loads(line) for line in p.stdout.decode("utf-8").splitlines() if line.strip()]
        places = [(m["partition"], m["offset"]) for m in msgs]
        assert len(set(places)) == len(places), "kcat read an offset twice"
        return collections.Counter((m["key"], canonical(json.loads(m["payload"]))) for m in msgs)

    def close(self):
        for r in self._runs:
            r.kill()
        for c in self._clusters:
            c.close()


# ------------------------------------------------------------------------------------------------
# Running the scenarios concurrently

_SCENARIOS = {}


def background_test(body):
    """Makes `body(ctx, **params)` a test run by the `background` fixture (see the module docstring).
    The returned test takes the same parameters, so @pytest.mark.parametrize and xfail go above."""
    _SCENARIOS[body.__name__] = body
    params = list(inspect.signature(body).parameters)[1:]

    def test(background, request, **kwargs):
        background.wait(request.node)

    test.__name__ = test.__qualname__ = body.__name__
    test.__doc__ = body.__doc__
    test.__module__ = body.__module__
    P = inspect.Parameter
    test.__signature__ = inspect.Signature([P("background", P.POSITIONAL_OR_KEYWORD),
                                            P("request", P.POSITIONAL_OR_KEYWORD)]
                                           + [P(p, P.KEYWORD_ONLY) for p in params])
    return test


class Background:
    def __init__(self, env, tmp_factory, items):
        self.env = env
        workers = int(os.environ.get("SFCRIME_FAULT_WORKERS", "8"))
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(items) or 1)))
        # The directories are made here: tmp_path_factory is not meant for threads.
        self.futures = {item.nodeid: self.pool.submit(self._run, item, tmp_factory.mktemp(
            re.sub(r"\W+", "-", item.name).strip("-")[:60])) for item in items}

    def _run(self, item, tmp):
        body = _SCENARIOS[item.originalname]
        params = dict(item.callspec.params) if hasattr(item, "callspec") else {}
        ctx = Ctx(self.env, tmp)
        try:
            body(ctx, **params)
        finally:
            ctx.close()

    def wait(self, node):
        self.futures[node.nodeid].result(timeout=300)  # re-raises the scenario's failure

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def mock_tool(sfcrime_bin):
    path = pathlib.Path(os.environ.get("SFCRIME_MOCK_CLUSTER",
                                       pathlib.Path(sfcrime_bin).parent / "tests" / "fault" / "sfcrime-mock-cluster"))
    assert path.exists(), f"{path} is missing: build with the tests (BUILD_TESTING, the default; scripts/build)"
    return path


@pytest.fixture(scope="session")
def background(request, sfcrime_bin, mock_tool, tmp_path_factory):
    """Starts every selected @background_test test's scenario at once (see Background)."""
    kcat = shutil.which("kcat")
    assert kcat, "kcat is not installed (scripts/install-deps installs it)"
    env = {"bin": sfcrime_bin, "tool": mock_tool, "kcat": kcat, "data": Data()}
    items = [i for i in request.session.items if "background" in getattr(i, "fixturenames", ())]
    bg = Background(env, tmp_path_factory, items)
    yield bg
    bg.close()


# ------------------------------------------------------------------------------------------------
# The outcomes


def assert_clean_failure(r, cause, within, code=69):
    """Exit `code`, the last stderr line 'sfcrime: error: ...' matching `cause`, within `within` s."""
    assert r.rc == code, f"expected a clean failure (exit {code}, {cause!r}); {r}"
    last = r.err.strip().splitlines()[-1] if r.err.strip() else ""
    assert ERROR_LINE.match(last), f"the last stderr line is not 'sfcrime: error: ...': {r}"
    assert re.search(cause, last), f"the error does not name the cause ({cause!r}): {r}"
    assert "internal error" not in r.err, str(r)
    assert r.elapsed <= within, f"took {r.elapsed:.1f} s, more than {within} s: {r}"


def assert_produced_exactly(ctx, mock, r):
    assert r.rc == 0, str(r)
    assert SUMMARY.search(r.err).groups() == (str(RECORDS), str(RECORDS), "0", "0"), str(r)
    diff = describe_diff(ctx.read_topic(mock), ctx.data.messages, "records read back by kcat")
    assert not diff, diff


def assert_summary_matches_topic(ctx, mock, r):
    """After a failed produce: the summary says how many were delivered, and the topic holds that
    many of the records (plus at most those it says may be there), none twice."""
    m = SUMMARY.search(r.err)
    assert m, f"no summary line saying how many records were delivered: {r}"
    read, sent, rejected, failed = map(int, m.groups())
    # produce may stop reading at the first failure (issue 4 item 1: resume where it stopped).
    assert read <= RECORDS and rejected == 0 and sent + failed <= read, str(r)
    assert failed > 0 and re.search(r"\b%d (record was|records were) not delivered" % failed, r.err), str(r)
    # Records sent without an answer may or may not be there, if the message says how many.
    maybe = sum(int(n) for n in re.findall(r"(\d+) of them were sent without an answer and may be there", r.err))
    held = ctx.read_topic(mock)
    assert sent <= sum(held.values()) <= sent + maybe, (
        f"the summary says {sent} sent ({maybe} maybe), the topic holds {sum(held.values())}: {r}")
    extra = held - ctx.data.messages
    assert not extra, f"records in the topic that were not sent, or twice: {list(extra)[:3]}"


def assert_exact(ctx, command, r):
    """consume: every record printed once; aggregate: the oracle's rows."""
    assert r.rc == 0, str(r)
    lines = [json.loads(line) for line in r.out.splitlines() if line.strip()]
    if command[0] == "consume":
        diff = describe_diff(collections.Counter(canonical(v) for v in lines), ctx.data.values,
                             "records printed by consume")
    else:
        diff = describe_diff(collections.Counter(canonical({k: row.get(k) for k in ORACLE_KEYS}) for row in lines),
                             ctx.data.rows, "aggregate rows vs tests/oracle.py")
    assert not diff, diff


def assert_group_committed(mock, group="g"):
    """The group's committed offsets are the end of every partition, so that its next run reads
    nothing again (asked by the tool with OffsetFetch, without joining the group)."""
    ends = {p: hi for p, hi in re.findall(r"(\d+):\d+-(\d+)", mock(f"offsets {TOPIC}"))}
    committed = dict(re.findall(r"(\d+):(-?\d+)", mock(f"committed {group} {TOPIC}")))
    assert ends and committed == ends, (
        "group %r committed %s, the partitions end at %s: its next run reads (aggregate: counts "
        "and emits) those records again" % (group, committed, ends))


# ------------------------------------------------------------------------------------------------
# produce


def produce_in_two_halves(ctx, mock, fault, *options):
    """produce fed through a pipe: half the records, `fault()`, the other half. Returns the Run."""
    run = ctx.run(mock, *options, "produce", "--topic", TOPIC, stdin=subprocess.PIPE)
    run.write("".join(ctx.data.lines[:RECORDS // 2]))
    time.sleep(0.3)
    fault()
    run.write("".join(ctx.data.lines[RECORDS // 2:]))
    return run


@background_test
def test_produce_all_brokers_down_then_up(ctx):
    mock = ctx.cluster()
    run = produce_in_two_halves(ctx, mock, lambda: mock("broker-down all"), *FAST_RECONNECT)
    time.sleep(2)
    assert run.running()
    mock("broker-up all")
    assert_produced_exactly(ctx, mock, run.finish())


@background_test
def test_produce_all_brokers_down_for_good(ctx):
    """Delivery gives up after message.timeout.ms: exit 69 saying how many were not delivered."""
    mock = ctx.cluster()
    run = produce_in_two_halves(ctx, mock, lambda: mock("broker-down all"),
                                "--timeout", "3s", "-X", "message.timeout.ms=3000")
    r = run.finish()
    assert_clean_failure(r, NOT_DELIVERED, within=20)
    mock("broker-up all")
    assert_summary_matches_topic(ctx, mock, r)


# Not _TRANSPORT on Produce: the mock cluster drops the connection with other Produce requests
# already appended, and as it does not deduplicate the idempotent producer's retries by sequence
# number (a real broker does), about 1 run in 12 holds duplicates, with kcat as with sfcrime.
@pytest.mark.parametrize("api, codes", [
    ("Produce", ["NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", ("NOT_ENOUGH_REPLICAS", 2), "KAFKA_STORAGE_ERROR",
                 "NOT_LEADER_FOR_PARTITION"]),
    ("InitProducerId", ["COORDINATOR_NOT_AVAILABLE", "_TRANSPORT", "NOT_COORDINATOR"]),
])
@background_test
def test_produce_retriable_request_errors(ctx, api, codes):
    mock = ctx.cluster()
    mock.errors(api, *codes)
    r = ctx.sfcrime(mock, "produce", "--topic", TOPIC, input=ctx.data.ndjson)
    assert_produced_exactly(ctx, mock, r)
    assert r.elapsed < 15, str(r)


@pytest.mark.parametrize("code", ["TOPIC_AUTHORIZATION_FAILED", "INVALID_RECORD", "MSG_SIZE_TOO_LARGE",
                                  "INVALID_PRODUCER_EPOCH"])
@background_test
def test_produce_request_refused(ctx, code):
    """The broker refuses one Produce request: its records fail, the rest are delivered, and the
    summary says which is which."""
    mock = ctx.cluster()
    mock.errors("Produce", code)
    r = ctx.sfcrime(mock, "produce", "--topic", TOPIC, input=ctx.data.ndjson)
    assert_clean_failure(r, NOT_DELIVERED, within=15)
    assert_summary_matches_topic(ctx, mock, r)


@background_test
def test_produce_producer_id_refused(ctx):
    """No producer id for the idempotent producer: a fatal error before anything is sent. The
    records already queued are failed at once (purged), not after message.timeout.ms (120 s)."""
    mock = ctx.cluster()
    mock.errors("InitProducerId", "CLUSTER_AUTHORIZATION_FAILED")
    r = ctx.sfcrime(mock, "produce", "--topic", TOPIC, input=ctx.data.ndjson)
    assert_clean_failure(r, r"fatal error.*Cluster authorization failed", within=15)
    assert sum(ctx.read_topic(mock).values()) == 0


@background_test
def test_produce_fatal_error_says_what_was_delivered(ctx):
    """A fatal error of the idempotent producer: the summary says what was delivered, and the
    resume command the error names (the failed file made in $XDG_STATE_HOME, then the input after
    the last record read) puts every record in the topic exactly once."""
    mock = ctx.cluster()
    mock.errors("Produce", "OUT_OF_ORDER_SEQUENCE_NUMBER")
    r = ctx.sfcrime(mock, "produce", "--topic", TOPIC, input=ctx.data.ndjson)
    assert_clean_failure(r, r"fatal error", within=15)
    assert_summary_matches_topic(ctx, mock, r)
    m = re.search(r"resume exactly with: (.*?)(?: \(it first looks|;|$)", r.err.strip().splitlines()[-1])
    assert m, f"no resume command: {r}"
    for part in m.group(1).split(" && "):
        again = part.startswith("<the same input> | ")
        args = shlex.split(part.replace("<the same input> | ", ""))
        assert args[:2] == ["sfcrime", "produce"], part
        r2 = ctx.sfcrime(mock, *args[1:], input=ctx.data.ndjson if again else None)
        assert r2.rc == 0, f"resuming with {part!r}: {r2}"
    held = ctx.read_topic(mock)
    assert held == ctx.data.messages, describe_diff(held, ctx.data.messages, "records in the topic after resuming")


@background_test
def test_produce_leaders_move_mid_run(ctx):
    mock = ctx.cluster()

    def move():
        for p in range(PARTITIONS):  # each partition's leader to the next broker
            mock(f"leader {TOPIC} {p} {(p + 1) % BROKERS + 1}")

    run = produce_in_two_halves(ctx, mock, move)
    assert_produced_exactly(ctx, mock, run.finish())


@background_test
def test_produce_slow_brokers(ctx):
    mock = ctx.cluster()
    mock("rtt all 200")
    r = ctx.sfcrime(mock, "produce", "--topic", TOPIC, input=ctx.data.ndjson)
    assert_produced_exactly(ctx, mock, r)
    assert r.elapsed < 20, str(r)


# ------------------------------------------------------------------------------------------------
# consume and aggregate


def slow_run(ctx, mock, command, *options):
    """Starts `command` slowed down (200 ms round trips, small fetches) and returns once its first
    output appeared (consume: a line; aggregate: a progress report), with records still to read."""
    mock("rtt all 200")
    if command[0] == "aggregate":
        command = [*command, "--progress", "json", "--max-records-per-trigger", "100"]
    run = ctx.run(mock, *SMALL_FETCHES, *options, *command)
    if command[0] == "aggregate":
        run.wait_until(lambda out, err: '"batchId"' in err, "first progress report")
    else:
        run.wait_until(lambda out, err: "\n" in out, "first record printed")
    return run


@pytest.mark.parametrize("command", READERS)
@pytest.mark.parametrize("group", [False, True], ids=["assign", "group"])
@background_test
def test_read_all_brokers_down_then_up(ctx, command, group):
    """A 2 s outage (shorter than the group session: a member evicted meanwhile loses its last
    commit, the bug of test_group_commit_refused)."""
    mock = ctx.filled()
    run = slow_run(ctx, mock, command + (["--group", "g"] if group else []),
                   *FAST_RECONNECT)
    mock("broker-down all")
    time.sleep(2)
    assert run.running()
    mock("broker-up all")
    mock("rtt all 0")
    assert_exact(ctx, command, run.finish())
    if group:
        assert_group_committed(mock)


@pytest.mark.parametrize("command", READERS)
@background_test
def test_read_all_brokers_down_for_good(ctx, command):
    """Every broker gone mid-run: exit 69 once they stayed away for --timeout."""
    mock = ctx.filled()
    run = slow_run(ctx, mock, command, "--timeout", "3s")
    mock("broker-down all")
    assert_clean_failure(run.finish(), r"cannot reach broker .* within 3 s", within=20)


@pytest.mark.parametrize("command", [
    pytest.param(["produce", "--topic", TOPIC], id="produce"),
    # Fixed (they hung until 2026-11-21): Client::watermarks uses rd_kafka_offsets_for_times, which
    # honours its timeout with the leader down (rd_kafka_query_watermark_offsets does not in
    # librdkafka 2.0.2, issue 2588).
    pytest.param(CONSUME, id="consume"),
    pytest.param(AGGREGATE, id="aggregate"),
    pytest.param(["inspect", "--topic", TOPIC], id="inspect"),
])
@background_test
def test_one_broker_down_for_good(ctx, command):
    """The leader of one partition (broker 1) is gone before the command starts: exit 69 within a
    bound (produce: the other partitions' records delivered, the summary saying so)."""
    mock = ctx.filled() if command[0] != "produce" else ctx.cluster()
    for p in range(PARTITIONS):
        mock(f"leader {TOPIC} {p} {p + 1}")
    mock("broker-down 1")
    options = ["--timeout", "3s", "-X", "message.timeout.ms=3000"]
    input = ctx.data.ndjson if command[0] == "produce" else None
    r = ctx.sfcrime(mock, *options, *command, input=input, timeout=20)
    if command[0] == "produce":
        assert_clean_failure(r, NOT_DELIVERED, within=20)
        mock("broker-up 1")  # for kcat to read it all back
        assert_summary_matches_topic(ctx, mock, r)
    else:
        assert_clean_failure(r, r"cannot reach broker|offsets of 'calls'", within=20)


@pytest.mark.parametrize("command", READERS)
@background_test
def test_read_retriable_fetch_errors(ctx, command):
    mock = ctx.filled()
    mock.errors("Fetch", "NOT_LEADER_FOR_PARTITION", "_TRANSPORT", "UNKNOWN_TOPIC_OR_PART", "REQUEST_TIMED_OUT",
                "KAFKA_STORAGE_ERROR", "FENCED_LEADER_EPOCH")
    mock.errors("ListOffsets", "NOT_LEADER_FOR_PARTITION", "_TRANSPORT")
    r = ctx.sfcrime(mock, *command)
    assert_exact(ctx, command, r)
    assert r.elapsed < 20, str(r)


@pytest.mark.parametrize("command", READERS)
@background_test
def test_read_fetch_refused(ctx, command):
    mock = ctx.filled()
    mock.errors("Fetch", "TOPIC_AUTHORIZATION_FAILED")
    assert_clean_failure(ctx.sfcrime(mock, *command), r"not authorized to read 'calls'.*Topic authorization failed",
                         within=15)


@pytest.mark.parametrize("command", READERS)
@background_test
def test_read_slow_brokers(ctx, command):
    mock = ctx.filled()
    mock("rtt all 250")
    r = ctx.sfcrime(mock, *command)
    assert_exact(ctx, command, r)
    assert r.elapsed < 30, str(r)


@pytest.mark.parametrize("command", READERS)
@background_test
def test_group_retriable_join_errors(ctx, command):
    mock = ctx.filled()
    mock.errors("JoinGroup", "_TRANSPORT", "COORDINATOR_NOT_AVAILABLE")
    r = ctx.sfcrime(mock, *command, "--group", "g")
    assert_exact(ctx, command, r)
    assert r.elapsed < 30, str(r)
    assert_group_committed(mock)


@pytest.mark.parametrize("command", READERS)
@background_test
def test_group_join_refused(ctx, command):
    mock = ctx.filled()
    mock.errors("JoinGroup", "GROUP_AUTHORIZATION_FAILED")
    assert_clean_failure(ctx.sfcrime(mock, *command, "--group", "g"), r"Group authorization failed",
                         within=15)


@pytest.mark.parametrize("command", READERS)
@background_test
def test_group_retriable_commit_errors(ctx, command):
    """Commit errors librdkafka retries by itself (a new coordinator, a new connection)."""
    mock = ctx.filled()
    mock.errors("OffsetCommit", "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "_TRANSPORT")
    assert_exact(ctx, command, ctx.sfcrime(mock, *command, "--group", "g"))
    assert_group_committed(mock)


# Fixed 2026-11-21 (they exited 0 with the offsets left behind): consume --group commits what it
# read before closing and checks the outcome; aggregate's last commit is never skipped as routine.
@pytest.mark.parametrize("command, codes", [
    pytest.param(CONSUME, ["REBALANCE_IN_PROGRESS"], id="consume-REBALANCE_IN_PROGRESS"),
    pytest.param(CONSUME, [("REQUEST_TIMED_OUT", 3)], id="consume-REQUEST_TIMED_OUT"),
    pytest.param(CONSUME, ["GROUP_AUTHORIZATION_FAILED"], id="consume-GROUP_AUTHORIZATION_FAILED"),
    pytest.param(AGGREGATE, ["UNKNOWN_MEMBER_ID"], id="aggregate-UNKNOWN_MEMBER_ID"),
    pytest.param(AGGREGATE, [("REQUEST_TIMED_OUT", 3)], id="aggregate-REQUEST_TIMED_OUT"),
    pytest.param(AGGREGATE, ["GROUP_AUTHORIZATION_FAILED"], id="aggregate-GROUP_AUTHORIZATION_FAILED"),
])
@background_test
def test_group_commit_refused(ctx, command, codes):
    """A commit that librdkafka gives up on: the run fails cleanly, or it ends 0 with the exact answer
    and the offsets committed after all; never 0 with the offsets left behind."""
    mock = ctx.filled()
    mock.errors("OffsetCommit", *codes)
    r = ctx.sfcrime(mock, *command, "--group", "g")
    if r.rc == 0:
        assert_exact(ctx, command, r)
        mock("clear OffsetCommit")
        assert_group_committed(mock)
    else:
        assert_clean_failure(r, r"commit", within=20)


# ------------------------------------------------------------------------------------------------
# aggregate --exactly-once: one Kafka transaction per batch (issue 4 item 2)
#
# These clusters are made with the tool's --create-topics: a proxy in front of the brokers serves
# CreateTopics, which the mock cluster lacks, so that `aggregate --exactly-once` can create its
# changelog (README.md). What the mock cluster cannot show: it writes no transaction markers and
# keeps no offsets sent with TxnOffsetCommit (the group's committed offsets stay unset), and its
# fetches give everything appended, aborted or not. So a run is checked by its own output (stdout,
# where a batch appears once it committed, and the output topic) and its exit; whether a rerun
# resumes where a failed run stopped is for tests/integration/test_exactly_once.py (real broker).

GROUP = "g"
CHANGELOG = GROUP + "-aggregate-changelog"
TXN_ID = "sfcrime-aggregate-" + GROUP
OUTPUT = "answers"
EXACTLY_ONCE = [*AGGREGATE, "--group", GROUP, "--exactly-once", "--output-topic", OUTPUT, "--progress", "json"]
# A batch a second keeps the number of transactions (and the run time on slow brokers) small.
EVERY_SECOND = ["--trigger", "1s"]

def eos_cluster(ctx, changelog=False):
    """A filled mock cluster whose tool serves CreateTopics (--create-topics), with the output topic
    and, when `changelog`, the changelog topic already there."""
    topics = [(TOPIC, PARTITIONS, 1), (OUTPUT, 1, 1)]
    if changelog:
        topics.append((CHANGELOG, 1, 1))
    return ctx.filled(create_topics=True, topics=tuple(topics))


def assert_exactly_once(ctx, mock, r):
    """exit 0, tests/oracle.py's rows on stdout (printed once their batch committed) and each of them
    once in the output topic."""
    assert_exact(ctx, AGGREGATE, r)
    rows = collections.Counter()
    for (key, value), n in ctx.read_topic(mock, OUTPUT).items():
        rows[canonical({k: json.loads(value).get(k) for k in ORACLE_KEYS})] += n
    diff = describe_diff(rows, ctx.data.rows, f"rows in '{OUTPUT}' vs tests/oracle.py")
    assert not diff, diff


def assert_eos_failure(r, cause, within, since=None):
    """A clean failure (exit 69, last line naming `cause`) within `within` s of the start, or of the
    fault when `since` is (the Run, time.monotonic() at the fault); and no row on stdout, as the
    batch that failed never committed (and no earlier one emitted rows)."""
    assert_clean_failure(r, cause, within=float("inf"))
    took = r.elapsed - ((since[1] - since[0].t0) if since else 0)
    assert took <= within, "took %.1f s%s, more than %s s: %s" % (took, " after the fault" if since else "", within, r)
    assert r.out == "", f"rows printed for a batch that did not commit:\n{r.out[:500]}"


def eos_slow_run(ctx, mock, *options, aggregate_options=()):
    """Starts `aggregate --exactly-once` slowed down (100 ms round trips, small fetches, a batch a
    second) and returns once its first batch committed, with records still to read. `options` go
    before the command word, `aggregate_options` after it."""
    mock("rtt all 100")
    run = ctx.run(mock, *SMALL_FETCHES, *options, *EXACTLY_ONCE, *EVERY_SECOND, *aggregate_options)
    run.wait_until(lambda out, err: '"batchId"' in err, "first committed batch")
    return run


@pytest.mark.parametrize("changelog", [
    pytest.param(False, id="created"),
    pytest.param(True, id="exists"),
])
@background_test
def test_exactly_once_no_fault(ctx, changelog):
    """The baseline: the changelog topic is created by aggregate (through the proxy's CreateTopics),
    or is there already (ensure_internal_topic looks it up and sends no CreateTopics); either way
    the exact answer, and the changelog has one partition."""
    mock = eos_cluster(ctx, changelog=changelog)
    r = ctx.sfcrime(mock, *EXACTLY_ONCE, *EVERY_SECOND)
    assert_exactly_once(ctx, mock, r)
    assert re.fullmatch(r"0:0-\d+", mock(f"offsets {CHANGELOG}")), mock(f"offsets {CHANGELOG}")


@background_test
def test_exactly_once_changelog_exists_without_create_topics(ctx):
    """The plain mock cluster (no CreateTopics) with the changelog topic made by the tool: aggregate
    --exactly-once must use it, as it would on a cluster where it may not create topics."""
    mock = ctx.filled(topics=((TOPIC, PARTITIONS, 1), (OUTPUT, PARTITIONS, 1), (CHANGELOG, 1, 1)))
    r = ctx.sfcrime(mock, "--timeout", "3s", *EXACTLY_ONCE, *EVERY_SECOND)
    assert "cannot reach broker" not in r.err, str(r)
    assert_exactly_once(ctx, mock, r)


@pytest.mark.parametrize("api, codes", [
    ("InitProducerId", ["COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS",
                        "CONCURRENT_TRANSACTIONS", "_TRANSPORT", "REQUEST_TIMED_OUT"]),
    ("AddPartitionsToTxn", ["COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "CONCURRENT_TRANSACTIONS",
                            "COORDINATOR_LOAD_IN_PROGRESS", "UNKNOWN_TOPIC_OR_PART", "_TRANSPORT"]),
    ("AddOffsetsToTxn", ["COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "CONCURRENT_TRANSACTIONS",
                         "COORDINATOR_LOAD_IN_PROGRESS", "_TRANSPORT", "REQUEST_TIMED_OUT"]),
    ("TxnOffsetCommit", ["COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS",
                         "UNKNOWN_TOPIC_OR_PART", "_TRANSPORT", "REQUEST_TIMED_OUT"]),
    ("EndTxn", ["COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR", "CONCURRENT_TRANSACTIONS",
                "COORDINATOR_LOAD_IN_PROGRESS", "_TRANSPORT"]),
])
@background_test
def test_exactly_once_retriable_request_errors(ctx, api, codes):
    """Errors that librdkafka retries (or that sfcrime retries until --timeout) on each request of
    the transaction protocol, one after the other: the exact answer, in bounded time."""
    mock = eos_cluster(ctx)
    mock.errors(api, *codes)
    r = ctx.sfcrime(mock, *EXACTLY_ONCE, *EVERY_SECOND)
    assert_exactly_once(ctx, mock, r)
    assert r.elapsed < 20, str(r)


# (api, code, what the last line must name); the errors hit the first transaction.
REFUSALS = [
    ("InitProducerId", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", r"Transactional Id authorization failed"),
    ("InitProducerId", "PRODUCER_FENCED", r"fenced"),
    # Also when the refusal comes while the offsets are being sent (test_exactly_once_partitions_refused_late).
    ("AddPartitionsToTxn", "TOPIC_AUTHORIZATION_FAILED", r"aborted.*Topic authorization failed"),
    ("AddPartitionsToTxn", "PRODUCER_FENCED", r"cannot go on.*fenced"),
    ("AddOffsetsToTxn", "GROUP_AUTHORIZATION_FAILED", r"aborted.*Group authorization failed"),
    ("AddOffsetsToTxn", "INVALID_PRODUCER_EPOCH", r"cannot go on.*fenced"),
    ("TxnOffsetCommit", "GROUP_AUTHORIZATION_FAILED", r"aborted.*Group authorization failed"),
    ("TxnOffsetCommit", "INVALID_PRODUCER_EPOCH", r"cannot go on.*old epoch"),
    ("EndTxn", "PRODUCER_FENCED", r"cannot go on.*fenced"),
    ("EndTxn", "UNKNOWN_PRODUCER_ID", r"aborted.*Unknown Producer Id"),
    pytest.param("EndTxn", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
                 r"Transactional Id authorization failed(?!.*another)"),  # and no "did another ... start?"
]


@pytest.mark.parametrize("api, code, cause", REFUSALS)
@background_test
def test_exactly_once_request_refused(ctx, api, code, cause):
    """A transaction request refused for good (librdkafka: abortable, then sfcrime aborts, or fatal):
    exit 69 at once with the cause, nothing printed for the batch. In update mode, so that the
    failed transaction holds answer rows too (in append mode the first batch emits none unless it
    is the last)."""
    mock = eos_cluster(ctx)
    mock.errors(api, code)
    r = ctx.sfcrime(mock, *EXACTLY_ONCE, *EVERY_SECOND, "--output-mode", "update")
    assert_eos_failure(r, cause, within=20)  # 1-2 s; 20 for a loaded machine


@background_test
def test_exactly_once_partitions_refused_late(ctx):
    """AddPartitionsToTxn refused, its answer 300 ms late, so that it comes while the input offsets
    are being sent: the last line must still name the cause, not what the failed transaction did
    to sending the offsets (librdkafka: 'Failed to commit offsets to transaction on broker (none):
    Local: Erroneous state'; an answer on time gave that about 1 run in 6)."""
    mock = eos_cluster(ctx)
    mock(f"coordinator transaction {TXN_ID} 1")
    mock("broker-errors 1 AddPartitionsToTxn TOPIC_AUTHORIZATION_FAILED 1 300")
    command = [a for a in EXACTLY_ONCE if a not in ("--output-topic", OUTPUT)]
    assert_eos_failure(ctx.sfcrime(mock, *command, *EVERY_SECOND), r"Topic authorization failed", within=15)


@pytest.mark.parametrize("trigger", [
    pytest.param(EVERY_SECOND, id="trigger-1s"),
    pytest.param(["--max-records-per-trigger", "1000"], id="max-1000-records"),
])
@background_test
def test_exactly_once_slow_brokers(ctx, trigger):
    """100 ms added to every answer, from the start (init_transactions, restore, every transaction's
    5-6 round trips): the exact answer within 20 s, in batches of a second or of 1000 records."""
    mock = eos_cluster(ctx)
    mock("rtt all 100")
    r = ctx.sfcrime(mock, *EXACTLY_ONCE, *trigger, timeout=25)
    assert_exactly_once(ctx, mock, r)
    assert r.elapsed < 20, str(r)


@pytest.mark.parametrize("brokers", ["all", "coordinator"])
@background_test
def test_exactly_once_brokers_down_then_up(ctx, brokers):
    """A 2 s outage mid-run, of every broker or of the one that is both the transaction and the
    group coordinator: the transaction in flight goes on afterwards, the answer is exact."""
    mock = eos_cluster(ctx)
    mock(f"coordinator transaction {TXN_ID} 2")
    mock(f"coordinator group {GROUP} 2")
    down = "all" if brokers == "all" else "2"
    run = eos_slow_run(ctx, mock, *FAST_RECONNECT)
    mock(f"broker-down {down}")
    time.sleep(2)
    assert run.running()
    mock(f"broker-up {down}")
    mock("rtt all 0")
    assert_exactly_once(ctx, mock, run.finish())


@background_test
def test_exactly_once_coordinators_move(ctx):
    """The transaction and group coordinators move to other brokers mid-run (NOT_COORDINATOR):
    librdkafka finds the new ones, the answer is exact."""
    mock = eos_cluster(ctx)
    mock(f"coordinator transaction {TXN_ID} 2")
    mock(f"coordinator group {GROUP} 2")
    run = eos_slow_run(ctx, mock)
    mock(f"coordinator transaction {TXN_ID} 3")
    mock(f"coordinator group {GROUP} 1")
    time.sleep(1.5)
    mock("rtt all 0")
    assert_exactly_once(ctx, mock, run.finish())


@background_test
def test_exactly_once_brokers_down_for_good(ctx):
    """Every broker gone mid-run: exit 69 naming the transaction step and the coordinator within
    the batch in flight (1 s) + --timeout for the commit + --timeout for the abort (+ 1 s of
    reconnect backoff, 2 s of slack). librdkafka's default reconnect backoff (up to 10 s) is left
    as it is: the transactional producer's own is at most 1 s (a broker thread waiting out its
    backoff times its requests out only when the wait ends: with 10 s, the commit outlasted
    --timeout by up to 10 s)."""
    mock = eos_cluster(ctx)
    run = eos_slow_run(ctx, mock, "--timeout", "2s")
    mock("broker-down all")
    fault = time.monotonic()
    assert_eos_failure(run.finish(), r"transaction.*(coordinator|transport)", within=8, since=(run, fault))


@pytest.mark.parametrize("mode", ["append", "update"])
@background_test
def test_exactly_once_brokers_stop_answering(ctx, mode):
    """Mid-run every broker starts taking 12 s to answer (a hung coordinator): exit 69 within the
    batch in flight (1 s) + --timeout for the commit + --timeout for the abort + 2 s of slack.
    rd_kafka_send_offsets_to_transaction waits for its AddOffsetsToTxn answer whatever its timeout
    says, so the transactional producer's requests time out after --timeout (socket.timeout.ms).
    In update mode every batch holds answer rows for the output topic, whose delivery the commit
    waits for within --timeout (waited for before the commit, with no bound but
    message.timeout.ms, it ended the run 38 s after the fault); stdout then holds the rows of the
    batches that committed, as many as their progress reports' numOutputRows, and no more."""
    mock = eos_cluster(ctx)
    run = eos_slow_run(ctx, mock, "--timeout", "2s", aggregate_options=("--output-mode", mode))
    mock("rtt all 12000")
    fault = time.monotonic()
    r = run.finish()
    if mode == "append":
        assert_eos_failure(r, r"transaction", within=7, since=(run, fault))
        return
    assert_clean_failure(r, r"transaction", within=float("inf"))
    took = r.elapsed - (fault - run.t0)
    assert took <= 7, "took %.1f s after the fault, more than 7 s: %s" % (took, r)
    committed = [json.loads(line) for line in r.err.splitlines() if line.startswith("{") and '"batchId"' in line]
    assert committed and any(p["sink"]["numOutputRows"] for p in committed), str(r)
    assert len(r.out.splitlines()) == sum(p["sink"]["numOutputRows"] for p in committed), (
        "stdout holds %d rows, the committed batches %s: %s" % (
            len(r.out.splitlines()), [p["sink"]["numOutputRows"] for p in committed], r))
