"""Helpers for the integration tests (tests/integration): running sfcrime and kcat with timeouts,
reading a topic back with kcat, and comparing `sfcrime aggregate` rows with tests/oracle.py.

Imports tests/gen_synthetic.py, tests/gen_stream.py, tests/oracle.py and tests/stream_oracle.py as
`gen_synthetic`, `gen_stream`, `oracle` and `stream_oracle`.
"""
import collections
import contextlib
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import uuid

TESTS_DIR = pathlib.Path(__file__).resolve().parent.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import gen_stream  # noqa: E402  (tests/gen_stream.py)
import gen_synthetic  # noqa: E402  (tests/gen_synthetic.py)
import oracle  # noqa: E402  (tests/oracle.py)
import stream_oracle  # noqa: E402  (tests/stream_oracle.py)

from conftest import clean_env  # noqa: E402,F401  (re-exported: h.clean_env)

ORACLE_KEYS = ("window_start", "window_end", "original_crime_type_name", "count",
               "usual_disposition", "usual_disposition_description", "window_total",
               "window_distinct")


def sfcrime(bin_path, bootstrap, *args, input=None, timeout=120, env=None, check=False):
    """Runs `sfcrime -b BOOTSTRAP ARGS...` (text mode, UTF-8); returns CompletedProcess."""
    cmd = [str(bin_path), "-b", bootstrap, *map(str, args)]
    p = subprocess.run(cmd, input=input, capture_output=True, text=True, encoding="utf-8",
                       timeout=timeout, env=clean_env(env))
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstderr:\n%s" % (" ".join(cmd), p.returncode, p.stderr))
    return p


def sfcrime_from_xz(bin_path, bootstrap, xz_file, *args, timeout=120, env=None):
    """Runs `xz -dc XZ_FILE | sfcrime -b BOOTSTRAP ARGS...`; returns (returncode, stdout, stderr,
    xz returncode)."""
    cmd = [str(bin_path), "-b", bootstrap, *map(str, args)]
    xz = subprocess.Popen(["xz", "-dc", str(xz_file)], stdout=subprocess.PIPE)
    try:
        sf = subprocess.Popen(cmd, stdin=xz.stdout, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=clean_env(env))
        xz.stdout.close()  # sfcrime holds the only read end now
        try:
            out, err = sf.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            sf.kill()
            sf.communicate()
            raise
        xz_rc = xz.wait(timeout=30)
    finally:
        if xz.poll() is None:
            xz.kill()
            xz.wait()
    return sf.returncode, out.decode("utf-8"), err.decode("utf-8", "replace"), xz_rc


def wait_topic_ready(kcat, bootstrap, topic, partitions, timeout=30):
    """Waits (with kcat, not sfcrime) until a just-created topic is in the broker's metadata with
    `partitions` partitions, each with a leader that answers offset requests.

    A few hundred ms after CreateTopics the topic may still be missing from the metadata, or a
    partition may answer 'Not leader for partition'; sfcrime does not wait for that (see
    test_commands_right_after_topic_create), so the tests that are about something else wait here.
    """
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        p = subprocess.run([kcat, "-b", bootstrap, "-L", "-J", "-t", topic], capture_output=True,
                           timeout=30)
        if p.returncode == 0:
            meta = json.loads(p.stdout)
            parts = [pt for t in meta.get("topics", []) if t.get("topic") == topic
                     and not t.get("error") for pt in t.get("partitions", [])]
            if len(parts) == partitions and all(pt.get("leader", -1) >= 0 and not pt.get("error")
                                                for pt in parts):
                q = [kcat, "-b", bootstrap, "-Q"]
                for i in range(partitions):
                    q += ["-t", "%s:%d:-1" % (topic, i)]
                r = subprocess.run(q, capture_output=True, timeout=30)
                if r.returncode == 0:
                    return
                last = r.stderr.decode("utf-8", "replace")
            else:
                last = p.stdout.decode("utf-8", "replace")
        else:
            last = p.stderr.decode("utf-8", "replace")
        time.sleep(0.1)
    raise AssertionError("topic %s not ready after %d s: %s" % (topic, timeout, last))


@contextlib.contextmanager
def fresh_topic(bin_path, bootstrap, partitions=6, prefix="pipeline", kcat=None):
    """A new topic with `partitions` partitions, created with `sfcrime topic create` and deleted
    afterwards (also when the test fails). With `kcat`, waits until the topic is ready."""
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:12])
    sfcrime(bin_path, bootstrap, "topic", "create", name, "--partitions", partitions,
            timeout=60, check=True)
    try:
        if kcat:
            wait_topic_ready(kcat, bootstrap, name, partitions)
        yield name
    finally:
        sfcrime(bin_path, bootstrap, "topic", "delete", name, "--if-exists", timeout=60)


def kcat_partition_count(kcat, bootstrap, topic, timeout=60):
    """Number of partitions of `topic` according to kcat's metadata listing (-L -J)."""
    p = subprocess.run([kcat, "-b", bootstrap, "-L", "-J", "-t", topic], capture_output=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    meta = json.loads(p.stdout)
    topics = [t for t in meta["topics"] if t["topic"] == topic]
    assert len(topics) == 1, meta
    return len(topics[0]["partitions"])


def kcat_read(kcat, bootstrap, topic, timeout=120):
    """Every message of `topic`, read from the beginning to the end by kcat (-C -e -J), as dicts
    with the keys partition, offset, key, payload (key and payload as strings, None if null) and
    headers (a list of (name, value) pairs, [] when none)."""
    p = subprocess.run([kcat, "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-J",
                        "-q"], capture_output=True, timeout=timeout)
    assert p.returncode == 0, "kcat exited %d: %s" % (p.returncode,
                                                      p.stderr.decode("utf-8", "replace"))
    msgs = []
    for line in p.stdout.decode("utf-8").splitlines():
        if line.strip():
            m = json.loads(line)
            msg = {k: m.get(k) for k in ("partition", "offset", "key", "payload")}
            h = m.get("headers") or []
            msg["headers"] = list(zip(h[0::2], h[1::2]))
            msgs.append(msg)
    return msgs


def kcat_partitions(kcat, bootstrap, topic, timeout=180):
    """{partition: [message dict, ...] in offset order} of `topic` (see kcat_read)."""
    out = collections.defaultdict(list)
    for m in kcat_read(kcat, bootstrap, topic, timeout=timeout):
        out[m["partition"]].append(m)
    for msgs in out.values():
        msgs.sort(key=lambda m: m["offset"])
        offsets = [m["offset"] for m in msgs]
        assert len(set(offsets)) == len(offsets), "kcat read an offset twice"
    return dict(out)


def kcat_produce_lines(kcat, bootstrap, topic, partition, lines, timeout=60):
    """Writes each line as one message (null key) to `partition` of `topic` with kcat."""
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    p = subprocess.run([kcat, "-b", bootstrap, "-P", "-t", topic, "-p", str(partition)],
                       input=data, capture_output=True, timeout=timeout)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")


def progress_reports(stderr):
    """The `--progress json` objects among the lines of stderr."""
    return stream_oracle.progress_reports(stderr)


def canonical(value):
    """A parsed JSON value as one canonical string (key order and escapes do not matter)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def multiset(values):
    return collections.Counter(values)


def counter_diff(actual, expected, limit=5):
    """A short human description of how two Counters differ ('' when equal)."""
    if actual == expected:
        return ""
    missing = list((expected - actual).items())[:limit]
    extra = list((actual - expected).items())[:limit]
    return ("%d distinct missing (e.g. %r), %d distinct unexpected (e.g. %r); sizes %d vs %d "
            "expected" % (len(expected - actual), missing, len(actual - expected), extra,
                          sum(actual.values()), sum(expected.values())))


_PRODUCE_SUMMARY = re.compile(r"(\d+) read, (\d+) sent, (\d+) rejected, (\d+) failed")


def produce_summary(stderr):
    """(read, sent, rejected, failed) from the summary `sfcrime produce` prints on stderr."""
    m = _PRODUCE_SUMMARY.search(stderr)
    assert m, "no produce summary on stderr:\n%s" % stderr
    return tuple(int(g) for g in m.groups())


def parse_json_lines(stdout):
    """One JSON object per non-empty line."""
    rows = []
    for i, line in enumerate(stdout.splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                raise AssertionError("line %d of the output is not JSON (%s): %r" % (i, e, line))
    return rows


def keyed_rows(rows, what):
    """{(window_start, type): row projected on the oracle's keys}; fails on duplicate keys or
    missing keys."""
    out = {}
    for row in rows:
        missing = [k for k in ORACLE_KEYS if k not in row]
        assert not missing, "%s row lacks %s: %r" % (what, missing, row)
        key = (row["window_start"], row["original_crime_type_name"])
        assert key not in out, "%s has two rows for %r: %r and %r" % (what, key, out[key], row)
        out[key] = {k: row[k] for k in ORACLE_KEYS}
    return out


def assert_rows_match(actual_rows, expected_rows, limit=8):
    """Compares sfcrime's rows with the oracle's, window by window and type by type."""
    actual = keyed_rows(actual_rows, "sfcrime")
    expected = keyed_rows(expected_rows, "oracle")
    problems = []
    only_expected = sorted(set(expected) - set(actual))
    only_actual = sorted(set(actual) - set(expected))
    if only_expected:
        problems.append("%d (window, type) rows missing from sfcrime, e.g. %r" % (
            len(only_expected), [expected[k] for k in only_expected[:limit]]))
    if only_actual:
        problems.append("%d (window, type) rows sfcrime has that the oracle has not, e.g. %r" % (
            len(only_actual), [actual[k] for k in only_actual[:limit]]))
    differing = [k for k in sorted(set(actual) & set(expected)) if actual[k] != expected[k]]
    if differing:
        examples = []
        for k in differing[:limit]:
            fields = {f: (actual[k][f], expected[k][f]) for f in ORACLE_KEYS
                      if actual[k][f] != expected[k][f]}
            examples.append("%r: (sfcrime, oracle) %r" % (k, fields))
        problems.append("%d rows differ:\n  %s" % (len(differing), "\n  ".join(examples)))
    assert not problems, ("sfcrime aggregate disagrees with the oracle (%d vs %d rows):\n"
                          % (len(actual), len(expected))) + "\n".join(problems)


def inspect_topic(bin_path, bootstrap, topic, timeout=60):
    """The topic's entry in `sfcrime inspect --topic T --output json`, and the whole document."""
    p = sfcrime(bin_path, bootstrap, "inspect", "--topic", topic, "--output", "json",
                timeout=timeout, check=True)
    doc = json.loads(p.stdout)
    entries = [t for t in doc.get("topics", []) if t.get("name") == topic]
    assert len(entries) == 1, "inspect --topic %s lists %r" % (topic, doc)
    return entries[0], doc
