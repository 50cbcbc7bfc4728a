"""`sfcrime consume --offset`, `--format`, `--output json` and a closed stdout (issue 6, items 5
and 7), against the real broker, with kcat (an independent client) writing the messages and
saying what they are.

  - test_format_matches_kcat: the same -f format string prints the same lines through sfcrime and
    kcat (keys, null keys, lengths, headers, timestamps, binary values).
  - test_json_envelope_matches_kcat: every line is a JSON object; topic, partition, offset,
    timestamp, key, value and headers are those kcat reports; a value, key or header value that
    is not UTF-8 comes in base64 with its *_encoding flag and decodes to kcat's bytes.
  - test_offset_*: beginning, end, N, -N, @ms, @ISO date-time and --partition start where
    kcat's per-partition counts and offsets-by-time (-Q) say.
  - test_usage_errors: bad --offset, --offset N with --group, --format with --output json, an
    unknown %-token, --partition with --group, -o json meant as --output json: exit 64 and a
    message.
  - test_partition_named_twice_is_read_once, test_missing_partition_is_exit_66: --partition
    repeated (kcat and rpk accept that) and a partition the topic lacks.
  - test_offset_by_time_batched_with_partitions: @TIME with --partition and -e, every partition
    in one lookup, agreeing with kcat -Q.
  - test_closed_stdout_*: `sfcrime consume ... | head -3` ends 0 quickly and says nothing, in the
    default, --format and --output json modes.
"""
import base64
import datetime
import json
import os
import subprocess
import time

import pytest

from conftest import BIN, integration_helpers

_h = integration_helpers()
clean_env, fresh_topic = _h.clean_env, _h.fresh_topic

pytestmark = pytest.mark.broker

PARTITIONS = 3


def sf(broker, *args, timeout=60, check=True):
    """Runs sfcrime (bytes in, bytes out); returns CompletedProcess."""
    p = subprocess.run([str(BIN), "-b", broker, *map(str, args)], capture_output=True, timeout=timeout,
                       env=clean_env())
    if check:
        assert p.returncode == 0, "sfcrime %s exited %d: %s" % (" ".join(map(str, args)), p.returncode,
                                                                 p.stderr.decode("utf-8", "replace"))
    return p


def kcat_produce(kcat, broker, topic, data, *flags):
    """kcat -P with `flags`, messages separated by 0x1e (so that values may hold newlines)."""
    p = subprocess.run([kcat, "-P", "-b", broker, "-t", topic, "-D", "\\x1e", *flags], input=data,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")


def kcat_out(kcat, broker, topic, *flags):
    p = subprocess.run([kcat, "-C", "-b", broker, "-t", topic, "-e", "-q", *flags], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    return p.stdout


def kcat_messages(kcat, broker, topic):
    """Every message as kcat sees it: dicts with partition, offset, ts, key, value (bytes or None)
    and headers (a list of (name, value bytes) pairs; NULL values as None), read with a format
    whose lengths delimit the bytes."""
    raw = kcat_out(kcat, broker, topic, "-o", "beginning", "-f", "%p %o %T %K %S\n%k%s\n%h\n")
    out, i = [], 0
    while i < len(raw):
        nl = raw.index(b"\n", i)
        p, o, ts, kl, vl = (int(x) for x in raw[i:nl].split())
        i = nl + 1
        key = raw[i:i + max(kl, 0)] if kl >= 0 else None
        i += max(kl, 0)
        value = raw[i:i + max(vl, 0)] if vl >= 0 else None
        i += max(vl, 0) + 1
        nl = raw.index(b"\n", i)
        hs = []
        for item in raw[i:nl].split(b",") if nl > i else []:
            name, _, v = item.partition(b"=")
            hs.append((name, None if v == b"NULL" else v))
        i = nl + 1
        out.append({"partition": p, "offset": o, "ts": ts, "key": key, "value": value, "headers": hs})
    return out


@pytest.fixture(scope="module")
def filled(broker, kcat):
    """A 3-partition topic: partition 0 holds keyed text messages with headers, partition 1 binary
    values with a key and a header value that are not UTF-8, partition 2 null keys and a null value (a tombstone with key tk).
    Returns (topic, message count per partition)."""
    with fresh_topic(BIN, broker, partitions=PARTITIONS, prefix="consume-fmt", kcat=kcat) as topic:
        kcat_produce(kcat, broker, topic, "\x1e".join("k%d:hello %d, \"quoted\" \u00e9" % (i, i) for i in range(5)).encode(),
                     "-p", "0", "-K:", "-H", "source=kcat", "-H", "n=1")
        kcat_produce(kcat, broker, topic, b"\xff\xfe\x00bin\x1e\x80\x81 line\nbreak", "-p", "1", "-k", b"bin\xe9key",
                     "-H", b"raw=\xe9")
        kcat_produce(kcat, broker, topic, b"no key 1\x1etk:\x1eno key 2", "-p", "2", "-K:", "-Z")
        yield topic, {0: 5, 1: 2, 2: 3}


def test_format_matches_kcat(broker, kcat, filled):
    topic, _ = filled
    fmt = "%t|%p|%o|%k|%K|%s|%S|%h|%T|100%%\\n"
    ours = sf(broker, "consume", "-t", topic, "-o", "beginning", "-e", "--format", fmt).stdout
    theirs = kcat_out(kcat, broker, topic, "-o", "beginning", "-f", fmt.replace("\\n", "\n"))
    # Partitions interleave differently: compare per partition, in offset order.
    def by_partition(out):
        lines = [l for l in out.split(b"|100%\n") if l]
        return sorted(lines, key=lambda l: (int(l.split(b"|")[1]), int(l.split(b"|")[2])))
    assert by_partition(ours) == by_partition(theirs)
    assert b"k0|2|hello 0" in ours and b"|source=kcat,n=1|" in ours
    # %v is %s (rpk's letter); a null value has length -1 and prints nothing.
    v = sf(broker, "consume", "-t", topic, "-p", "2", "-o", "beginning", "-e", "--format", "[%v][%S]\\t%K\\n").stdout
    assert v.split(b"\n")[:3] == [b"[no key 1][8]\t-1", b"[][-1]\t2", b"[no key 2][8]\t-1"]


def test_json_envelope_matches_kcat(broker, kcat, filled):
    topic, counts = filled
    out = sf(broker, "consume", "-t", topic, "-o", "beginning", "-e", "--output", "json").stdout
    lines = out.decode("utf-8").splitlines()
    assert len(lines) == sum(counts.values())
    theirs = {(m["partition"], m["offset"]): m for m in kcat_messages(kcat, broker, topic)}
    assert len(theirs) == len(lines)

    def decode(obj, field):
        if obj[field] is None:
            return None
        if obj.get(field + "_encoding") == "base64":
            return base64.b64decode(obj[field], validate=True)
        assert field + "_encoding" not in obj
        return obj[field].encode("utf-8")

    seen_base64 = 0
    for line in lines:
        e = json.loads(line)
        assert [f for f in e if not f.endswith("_encoding")] == [
            "topic", "partition", "offset", "timestamp", "timestamp_type", "key", "value", "headers"]
        k = theirs[(e["partition"], e["offset"])]
        assert e["topic"] == topic
        assert e["timestamp"] == k["ts"] and e["timestamp_type"] == "create"
        assert decode(e, "key") == k["key"]
        assert decode(e, "value") == k["value"]
        assert [(h["key"].encode(), decode(h, "value")) for h in e["headers"]] == k["headers"]
        seen_base64 += sum(1 for f in ("key_encoding", "value_encoding") if f in e)
        seen_base64 += sum(1 for h in e["headers"] if "value_encoding" in h)
    # Partition 1: two binary values, a key that is not UTF-8, and a header value that is not either.
    assert seen_base64 == 2 + 2 + 2


def test_offset_positions(broker, kcat, filled):
    topic, counts = filled

    def offsets(*args):
        out = sf(broker, "consume", "-t", topic, "-e", *args, "--format", "%p:%o\\n").stdout.decode()
        return sorted(tuple(map(int, l.split(":"))) for l in out.split())

    everything = sorted((p, o) for p, n in counts.items() for o in range(n))
    assert offsets("-o", "beginning") == everything
    assert offsets("--from-beginning") == everything
    assert offsets() == [] and offsets("-o", "end") == []
    assert offsets("-o", "2") == [(p, o) for p, o in everything if o >= 2]
    assert offsets("-o", "-2") == [(p, o) for p, o in everything if o >= counts[p] - 2]
    assert offsets("-o", "-100") == everything  # not before the first message
    assert offsets("-o", "100") == []            # clamped to the end
    assert offsets("-o", "1", "-p", "1") == [(1, 1)]
    assert offsets("-o", "beginning", "--partition", "0", "--partition", "2") == [
        (p, o) for p, o in everything if p != 1]


def test_offset_by_time(broker, kcat):
    with fresh_topic(BIN, broker, partitions=2, prefix="consume-time", kcat=kcat) as topic:
        for p in (0, 1):
            kcat_produce(kcat, broker, topic, b"old a\x1eold b", "-p", str(p))
        time.sleep(1.2)
        cut_ms = int(time.time() * 1000)
        time.sleep(0.2)
        kcat_produce(kcat, broker, topic, b"new a\x1enew b\x1enew c", "-p", "0")
        # kcat -Q: the first offset at or after the time, per partition (partition 1: none, -1).
        q = subprocess.run([kcat, "-Q", "-b", broker, "-t", "%s:0:%d" % (topic, cut_ms), "-t",
                            "%s:1:%d" % (topic, cut_ms)], capture_output=True, text=True, timeout=60)
        assert q.returncode == 0, q.stderr
        first = {}
        for line in q.stdout.splitlines():  # "TOPIC [P] offset O"
            words = line.split()
            if len(words) == 4 and words[0] == topic:
                first[int(words[1].strip("[]"))] = int(words[3])
        assert first == {0: 2, 1: -1}, q.stdout

        def values(offset):
            out = sf(broker, "consume", "-t", topic, "-e", "-o", offset, "--format", "%p:%o:%s\\n").stdout
            return sorted(l for l in out.decode().split("\n") if l)

        got = values("@%d" % cut_ms)
        # Partition 0 from kcat's offset on; partition 1 (nothing that recent) from its end.
        assert got == ["0:%d:new %s" % (first[0] + i, c) for i, c in enumerate("abc")]
        iso = datetime.datetime.fromtimestamp(cut_ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        assert values("@" + iso + "Z") == got
        assert values("@-1h") == sorted(values("beginning"))
        assert values("@2999-01-01") == []


def test_usage_errors(broker, filled):
    topic, _ = filled
    cases = [
        (["-o", "sometime"], "--offset"),
        (["-o", "@yesterday"], "--offset"),
        (["-g", "g1", "-o", "-2"], "--group"),
        (["-g", "g1", "-o", "@0"], "--group"),
        (["-g", "g1", "-p", "0"], "--partition"),
        (["--format", "%s", "--output", "json"], "--format"),
        (["--format", "%q"], "%q"),
        (["--format", "50%"], "%"),
        (["--output", "jsn"], "did you mean 'json'"),
        (["-o", "end", "--from-beginning"], "--from-beginning"),
        (["-o", "json"], "did you mean --output json?"),
        (["-o", "text"], "did you mean --output text?"),
    ]
    for args, words in cases:
        p = sf(broker, "consume", "-t", topic, *args, check=False)
        err = p.stderr.decode()
        assert p.returncode == 64, (args, p.returncode, err)
        assert err.startswith("sfcrime: error: ") and words in err, (args, err)


def test_partition_named_twice_is_read_once(broker, filled):
    topic, counts = filled

    def offsets(*args, start="beginning"):
        p = sf(broker, "consume", "-t", topic, "-o", start, "-e", *args, "--format", "%p:%o\\n")
        assert p.stderr.decode().endswith("messages\n"), p.stderr
        return sorted(tuple(map(int, l.split(":"))) for l in p.stdout.decode().split())

    assert offsets("-p", "0", "-p", "0") == [(0, o) for o in range(counts[0])]
    assert offsets("-p", "2", "--partition", "0", "-p", "2", "-p", "0") == sorted(
        [(0, o) for o in range(counts[0])] + [(2, o) for o in range(counts[2])])
    # Also with a start that is looked up per partition (the watermarks, the time).
    assert offsets("-p", "1", "-p", "1", start="-1") == [(1, counts[1] - 1)]
    assert offsets("-p", "1", "-p", "1", start="@0") == [(1, o) for o in range(counts[1])]


def test_missing_partition_is_exit_66(broker, filled):
    topic, _ = filled
    for args, bad in ((["-p", "3"], 3), (["-p", "0", "-p", "7"], 7), (["-p", "9", "-o", "@0"], 9)):
        p = sf(broker, "consume", "-t", topic, "-e", *args, check=False)
        err = p.stderr.decode()
        assert p.returncode == 66, (args, p.returncode, err)
        assert err.startswith("sfcrime: error: ") and "has no partition %s" % bad in err, err
        assert "partitions 0 to %d" % (PARTITIONS - 1) in err, err


def test_offset_by_time_batched_with_partitions(broker, kcat):
    """@TIME over several partitions (one offsets-by-time lookup for all of them), some of which
    have nothing that recent, some nothing at all, matches kcat -Q partition by partition."""
    with fresh_topic(BIN, broker, partitions=4, prefix="consume-time4", kcat=kcat) as topic:
        for p in (0, 1, 2):
            kcat_produce(kcat, broker, topic, b"old a\x1eold b", "-p", str(p))
        time.sleep(1.2)
        cut_ms = int(time.time() * 1000)
        time.sleep(0.2)
        kcat_produce(kcat, broker, topic, b"new a\x1enew b", "-p", "0")
        kcat_produce(kcat, broker, topic, b"new c", "-p", "2")
        q = subprocess.run([kcat, "-Q", "-b", broker] + sum((["-t", "%s:%d:%d" % (topic, p, cut_ms)] for p in range(4)), []),
                           capture_output=True, text=True, timeout=60)
        assert q.returncode == 0, q.stderr
        first = {}
        for line in q.stdout.splitlines():
            words = line.split()
            if len(words) == 4 and words[0] == topic:
                first[int(words[1].strip("[]"))] = int(words[3])
        assert first == {0: 2, 1: -1, 2: 2, 3: -1}, q.stdout
        out = sf(broker, "consume", "-t", topic, "-e", "-o", "@%d" % cut_ms, "--format", "%p:%o:%s\\n").stdout
        assert sorted(out.decode().split("\n")[:-1]) == ["0:2:new a", "0:3:new b", "2:2:new c"]
        out = sf(broker, "consume", "-t", topic, "-e", "-o", "@%d" % cut_ms, "-p", "2", "-p", "3",
                 "--format", "%p:%o:%s\\n").stdout
        assert out.decode() == "2:2:new c\n"


@pytest.fixture(scope="module")
def big(broker, kcat):
    """A topic holding more than a pipe buffer of messages (20,000 lines, about 1 MB)."""
    with fresh_topic(BIN, broker, partitions=2, prefix="consume-pipe", kcat=kcat) as topic:
        kcat_produce(kcat, broker, topic, "\x1e".join("message number %06d %s" % (i, "x" * 30)
                                                      for i in range(20000)).encode())
        yield topic


@pytest.mark.parametrize("mode", [[], ["--format", "%p %o %s\\n"], ["--output", "json"]],
                         ids=["values", "format", "json"])
def test_closed_stdout_ends_quietly(broker, big, mode):
    # No --exit-at-end: the command would follow the topic for ever; the closed pipe ends it.
    cmd = "set -o pipefail; %s -b %s consume -t %s -o beginning %s | head -3" % (
        BIN, broker, big, " ".join("'%s'" % a for a in mode))
    t0 = time.monotonic()
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60, env=clean_env())
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == 3
    assert p.stderr == "", p.stderr
    assert took < 15, took
