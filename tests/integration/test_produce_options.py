"""`sfcrime produce` options of issue 6, item 6 (headers, compression, partitioner, progress bar)
and `--input-format envelope` (item 5: `consume --output json | produce` copies a topic), against
the real broker, with kcat (an independent client) writing and reading the messages.

  - test_headers_on_every_message: -H KEY=VALUE (repeatable) is on every message, as kcat -f '%h'
    prints them; a header without '=' is a usage error.
  - test_compression_codec: -z none|gzip|snappy|lz4|zstd: the records come back whole, and the
    record batches in the broker's log segment carry that codec (the attributes field of the
    batch header, read from the segment file when the local broker's data directory is there).
  - test_partitioner_matches_kcat: the same keys land in the same partitions as with
    kcat -X partitioner=NAME, for the default (murmur2_random, the Java producer's) and fnv1a.
  - test_progress_*: on a pseudo-terminal a bar (percent, MB, ETA for a regular file; records and
    rate for a pipe) is redrawn and cleared before the summary; on a pipe stderr holds only the
    summary; --progress none and bar force it off and on.
  - test_envelope_copy_*: a topic with binary values and keys, null keys, a tombstone and headers,
    copied with consume --output json | produce --input-format envelope, holds the same multiset
    of (key, value, headers, timestamp); with --keep-partition the same partitions and order.
  - test_envelope_rejects_*: a malformed envelope is rejected with its line (exit 65) and kept in
    the dead-letter file; option clashes are usage errors.
  - test_envelope_failed_file_resumes: a message the producer refuses is kept as its envelope in
    --failed-file, and `produce --file F --input-format envelope` sends it with key and headers.
  - test_envelope_timestamp_zero_*: a timestamp of 0, null or none gets the time of sending; a
    negative one is rejected.
  - test_envelope_resume_matches_*: resuming, a record is taken as already in the topic only when
    key, value (null is not empty) and headers match.
  - test_envelope_partition_read_only_*: a partition of null or -1 resumes without
    --keep-partition and is rejected with it.
  - test_envelope_broker_refusal_kept_whole: a message the broker refuses (null key, compacted
    topic) is kept as the envelope rebuilt from its delivery report and resumes whole.
  - test_envelope_unsent_keep_the_extra_headers: a message refused by send() keeps its -H headers.
  - test_resume_hint_redacts_secret_headers: -H values named like secrets are not echoed.
"""
import collections
import fcntl
import json
import os
import pathlib
import pty
import select
import struct
import subprocess
import termios
import time

import pytest

from conftest import BIN, ROOT, integration_helpers

_h = integration_helpers()
clean_env, fresh_topic, gen_synthetic = _h.clean_env, _h.fresh_topic, _h.gen_synthetic

pytestmark = pytest.mark.broker

# The local broker's data directory (scripts/kafka: log.dirs=.kafka/data), for reading segments.
DATA_DIR = ROOT / ".kafka" / "data"
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}  # Kafka's record batch attributes, bits 0-2


def sf(broker, *args, input=None, timeout=120, check=True):
    p = subprocess.run([str(BIN), "-b", broker, *map(str, args)], input=input, capture_output=True,
                       timeout=timeout, env=clean_env())
    if check:
        assert p.returncode == 0, "sfcrime %s exited %d: %s" % (" ".join(map(str, args)), p.returncode,
                                                                 p.stderr.decode("utf-8", "replace"))
    return p


def write_records(path, n, seed=6):
    recs = gen_synthetic.generate(n, seed)
    with open(path, "w", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    return recs


def kcat_out(kcat, broker, topic, *flags):
    p = subprocess.run([kcat, "-C", "-b", broker, "-t", topic, "-o", "beginning", "-e", "-q", *flags],
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    return p.stdout


def kcat_messages(kcat, broker, topic):
    """Every message as kcat sees it: dicts with partition, offset, ts, key, value (bytes or None),
    headers (tuple of (name, value) bytes pairs), in partition and offset order."""
    raw = kcat_out(kcat, broker, topic, "-f", "%p %o %T %K %S\n%k%s\n%h\n")
    out, i = [], 0
    while i < len(raw):
        nl = raw.index(b"\n", i)
        p, o, ts, kl, vl = (int(x) for x in raw[i:nl].split())
        i = nl + 1
        key = raw[i:i + kl] if kl >= 0 else None
        i += max(kl, 0)
        value = raw[i:i + vl] if vl >= 0 else None
        i += max(vl, 0) + 1
        nl = raw.index(b"\n", i)
        hs = tuple(tuple(item.split(b"=", 1)) for item in raw[i:nl].split(b",")) if nl > i else ()
        i = nl + 1
        out.append({"partition": p, "offset": o, "ts": ts, "key": key, "value": value, "headers": hs})
    return sorted(out, key=lambda m: (m["partition"], m["offset"]))


def kcat_produce(kcat, broker, topic, data, *flags):
    p = subprocess.run([kcat, "-P", "-b", broker, "-t", topic, "-D", "\\x1e", *flags], input=data,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")


def test_headers_on_every_message(broker, kcat, tmp_path):
    src = tmp_path / "in.ndjson"
    write_records(src, 20)
    with fresh_topic(BIN, broker, partitions=2, prefix="produce-hdr", kcat=kcat) as topic:
        sf(broker, "produce", "-t", topic, "-f", src, "-H", "source=cad", "--header", "batch=7=x", "-H", "empty=")
        lines = kcat_out(kcat, broker, topic, "-f", "%h\n").decode().splitlines()
        assert lines == ["source=cad,batch=7=x,empty="] * 20
        p = sf(broker, "produce", "-t", topic, "-f", src, "-H", "novalue", check=False)
        assert p.returncode == 64 and b"--header 'novalue'" in p.stderr


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_compression_codec(broker, kcat, tmp_path, codec):
    src = tmp_path / "in.ndjson"
    recs = write_records(src, 300)
    with fresh_topic(BIN, broker, partitions=1, prefix="produce-z", kcat=kcat) as topic:
        # -z wins over a -X of the same meaning (DESIGN.md convention 5), whatever their order
        other = "gzip" if codec != "gzip" else "lz4"
        sf(broker, "produce", "-t", topic, "-f", src, "-z", codec, "-X", "compression.codec=" + other)
        values = [json.loads(v) for v in kcat_out(kcat, broker, topic, "-f", "%s\n").decode().splitlines()]
        assert values == recs
        segment = DATA_DIR / ("%s-0" % topic) / ("0" * 20 + ".log")
        if DATA_DIR.exists():  # the local broker of scripts/kafka (not a remote one)
            assert segment.exists(), segment
            data = segment.read_bytes()
            codecs, at = set(), 0
            while at + 23 <= len(data):  # baseOffset(8) length(4) epoch(4) magic(1) crc(4) attributes(2)
                length = struct.unpack(">i", data[at + 8:at + 12])[0]
                codecs.add(struct.unpack(">h", data[at + 21:at + 23])[0] & 7)
                at += 12 + length
            assert codecs == {CODECS[codec]}, (codec, codecs)
    p = sf(broker, "produce", "-t", "whatever", "-f", src, "-z", "gzp", check=False)
    assert p.returncode == 64 and b"did you mean 'gzip'" in p.stderr


@pytest.mark.parametrize("name", [None, "fnv1a"], ids=["default", "fnv1a"])
def test_partitioner_matches_kcat(broker, kcat, tmp_path, name):
    src = tmp_path / "in.ndjson"
    recs = write_records(src, 400)
    with fresh_topic(BIN, broker, partitions=6, prefix="produce-part", kcat=kcat) as ours, \
            fresh_topic(BIN, broker, partitions=6, prefix="produce-part-kcat", kcat=kcat) as theirs:
        sf(broker, "produce", "-t", ours, "-f", src, *(["--partitioner", name] if name else []))
        kcat_produce(kcat, broker, theirs, "\x1e".join(r["crime_id"] + ":x" for r in recs).encode(), "-K:",
                     "-X", "partitioner=" + (name or "murmur2_random"))
        where = lambda t: dict(l.split() for l in kcat_out(kcat, broker, t, "-f", "%k %p\n").decode().splitlines())
        a, b = where(ours), where(theirs)
        assert len(a) == len({r["crime_id"] for r in recs}) and a == b  # the generator repeats a few ids
        assert len(set(a.values())) == 6
    p = sf(broker, "produce", "-t", "whatever", "-f", src, "--partitioner", "murmur3", check=False)
    assert p.returncode == 64 and b"murmur2_random" in p.stderr


def run_on_pty(args, stdin=None, cols=120, timeout=60):
    """Runs sfcrime with stderr on a pseudo-terminal `cols` wide; returns (exit status, stderr bytes)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    p = subprocess.Popen([str(BIN), *map(str, args)], stdin=stdin or subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=slave, env=clean_env())
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    return p.wait(timeout=30), out


def test_progress_bar_on_a_terminal(broker, kcat, tmp_path):
    src = tmp_path / "in.ndjson"
    write_records(src, 6000)
    size_mb = "%.1f MB" % (os.path.getsize(src) / 1e6)
    with fresh_topic(BIN, broker, partitions=2, prefix="produce-bar", kcat=kcat) as topic:
        # A regular file: the bar with percent, bytes of the file's size and ETA.
        rc, err = run_on_pty(["-b", broker, "produce", "-t", topic, "-f", src, "--rate", "3000"])
        assert rc == 0, err
        text = err.decode()
        draws = text.count("\r\x1b[K[")
        assert draws >= 3, text  # about 2 s at four redraws a second
        assert "%" in text and "/" + size_mb in text and "ETA" in text and "records" in text
        # Cleared before the summary, which is the last line.
        assert text.rstrip("\r\n").endswith(text.rstrip("\r\n").rsplit("\r\x1b[K", 1)[1])
        assert text.rsplit("\r\x1b[K", 1)[1].startswith("sfcrime produce: 6000 read, 6000 sent")
        assert all(len(line) < 120 for line in text.replace("\r\x1b[K", "\n").splitlines())
        # A pipe: records and rate, no bar.
        with open(src, "rb") as f:
            cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
            rc, err = run_on_pty(["-b", broker, "produce", "-t", topic, "--rate", "3000"], stdin=cat.stdout)
            cat.stdout.close()
            cat.wait()
        assert rc == 0, err
        assert "records/s" in err.decode() and "\r\x1b[K[" not in err.decode() and "ETA" not in err.decode()
        # --progress none: nothing but the summary, on a terminal too.
        rc, err = run_on_pty(["-b", broker, "produce", "-t", topic, "-f", src, "--rate", "6000", "--progress", "none"])
        assert rc == 0 and b"\x1b[" not in err and err.count(b"\n") == 1, err


def test_progress_silent_on_a_pipe(broker, kcat, tmp_path):
    src = tmp_path / "in.ndjson"
    write_records(src, 3000)
    with fresh_topic(BIN, broker, partitions=2, prefix="produce-nobar", kcat=kcat) as topic:
        p = sf(broker, "produce", "-t", topic, "-f", src, "--rate", "3000")
        assert b"\r" not in p.stderr and b"\x1b" not in p.stderr
        assert p.stderr.decode().splitlines() == [p.stderr.decode().strip()]
        assert p.stderr.startswith(b"sfcrime produce: 3000 read, 3000 sent")
        p = sf(broker, "produce", "-t", topic, "-f", src, "--rate", "3000", "--progress", "bar")
        assert b"\r\x1b[K[" in p.stderr
        p = sf(broker, "produce", "-t", topic, "-f", src, "--progress", "always", check=False)
        assert p.returncode == 64 and b"--progress" in p.stderr


@pytest.fixture
def source_topic(broker, kcat):
    """A 3-partition topic with text messages with keys and headers, binary values, a key and a
    header value that are not UTF-8, null keys and a tombstone, written by kcat."""
    with fresh_topic(BIN, broker, partitions=3, prefix="copy-src", kcat=kcat) as topic:
        kcat_produce(kcat, broker, topic, "\x1e".join("k%d:text %d \u00e9 \"q\"\n2nd line" % (i, i)
                                                      for i in range(30)).encode(), "-K:", "-H", "a=1", "-H", "b=")
        kcat_produce(kcat, broker, topic, b"\x00\x01\x02\xff\x1ebin\xfe\xfd", "-k", b"\xc3\x28key", "-H", b"raw=\xff")
        kcat_produce(kcat, broker, topic, b"no key\x1etomb:\x1e\x1f\xee\xdd", "-K:", "-Z", "-p", "2")
        yield topic


def copy_topic(broker, src, dst, *produce_args):
    cmd = "set -o pipefail; %s -b %s consume -t %s -o beginning -e --output json | %s -b %s produce -t %s " \
          "--input-format envelope %s" % (BIN, broker, src, BIN, broker, dst, " ".join(produce_args))
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=120, env=clean_env())
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    return p


def as_multiset(msgs, *fields):
    return collections.Counter(tuple(m[f] for f in fields) for m in msgs)


def test_envelope_copy_keeps_every_byte(broker, kcat, source_topic):
    a = kcat_messages(kcat, broker, source_topic)
    assert len(a) == 30 + 2 + 3
    assert any(m["key"] is None for m in a) and any(m["value"] is None for m in a)
    with fresh_topic(BIN, broker, partitions=3, prefix="copy-dst", kcat=kcat) as dst:
        copy_topic(broker, source_topic, dst)
        b = kcat_messages(kcat, broker, dst)
        fields = ("key", "value", "headers", "ts")
        assert as_multiset(b, *fields) == as_multiset(a, *fields)


def test_envelope_copy_keep_partition(broker, kcat, source_topic):
    a = kcat_messages(kcat, broker, source_topic)
    with fresh_topic(BIN, broker, partitions=3, prefix="copy-dst", kcat=kcat) as dst:
        copy_topic(broker, source_topic, dst, "--keep-partition")
        b = kcat_messages(kcat, broker, dst)
        fields = ("partition", "offset", "key", "value", "headers", "ts")
        assert [tuple(m[f] for f in fields) for m in b] == [tuple(m[f] for f in fields) for m in a]
    # A smaller topic lacks partition 2: those envelopes are rejected (exit 65), the rest go.
    with fresh_topic(BIN, broker, partitions=2, prefix="copy-small", kcat=kcat) as small:
        cmd = "%s -b %s consume -t %s -o beginning -e --output json | %s -b %s produce -t %s " \
              "--input-format envelope --keep-partition" % (BIN, broker, source_topic, BIN, broker, small)
        p = subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=120, env=clean_env())
        in_2 = sum(1 for m in a if m["partition"] == 2)
        assert p.returncode == 65, p.stderr
        assert p.stderr.count(b"is not a partition of") == in_2
        assert len(kcat_messages(kcat, broker, small)) == len(a) - in_2


def test_envelope_reads_kcat_json(broker, kcat, tmp_path):
    with fresh_topic(BIN, broker, partitions=1, prefix="kcat-json", kcat=kcat) as src, \
            fresh_topic(BIN, broker, partitions=1, prefix="kcat-json-dst", kcat=kcat) as dst:
        kcat_produce(kcat, broker, src, "\x1e".join("k%d:v%d" % (i, i) for i in range(5)).encode(), "-K:", "-H", "h=1")
        j = kcat_out(kcat, broker, src, "-J")
        sf(broker, "produce", "-t", dst, "--input-format", "envelope", input=j)
        fields = ("key", "value", "headers", "ts")
        assert [tuple(m[f] for f in fields) for m in kcat_messages(kcat, broker, dst)] == \
               [tuple(m[f] for f in fields) for m in kcat_messages(kcat, broker, src)]


def test_envelope_rejects_malformed_lines(broker, kcat, tmp_path):
    good = {"key": "k", "value": "v", "headers": [{"key": "h", "value": None}]}
    lines = [
        json.dumps(good),
        json.dumps({"key": "k"}),                                      # no value
        json.dumps({"value": "!!!", "value_encoding": "base64"}),      # not base64
        json.dumps({"value": "00", "value_encoding": "hex"}),          # unknown encoding
        json.dumps({"value": "v", "headers": [{"value": "x"}]}),       # header without a name
        json.dumps({"value": "v", "timestamp": "yesterday"}),          # not a timestamp
        "[1, 2]",                                                      # not an object
        "{broken",                                                     # not JSON
        json.dumps({"value": None, "key": "tombstone"}),
    ]
    src = tmp_path / "env.ndjson"
    src.write_text("\n".join(lines) + "\n")
    dead = tmp_path / "dead.ndjson"
    with fresh_topic(BIN, broker, partitions=1, prefix="env-bad", kcat=kcat) as topic:
        p = sf(broker, "produce", "-t", topic, "-f", src, "--input-format", "envelope", "--dead-letter-file", dead,
               check=False)
        err = p.stderr.decode()
        assert p.returncode == 65, err
        for line in range(2, 9):
            assert "(line %d) rejected" % line in err, err
        kept = [json.loads(l) for l in dead.read_text().splitlines()]
        assert [k["line"] for k in kept] == list(range(2, 9))
        assert [k["text"] for k in kept] == lines[1:8]
        msgs = kcat_messages(kcat, broker, topic)
        assert [(m["key"], m["value"], m["headers"]) for m in msgs] == [
            (b"k", b"v", ((b"h", b"NULL"),)), (b"tombstone", None, ())]
    for args, words in [(["--key", "crime_id"], "--key"), (["--order", "event-time"], "--order"),
                        (["--speedup", "60"], "--speedup")]:
        p = sf(broker, "produce", "-t", "whatever", "-f", src, "--input-format", "envelope", *args, check=False)
        assert p.returncode == 64 and words in p.stderr.decode(), p.stderr
    p = sf(broker, "produce", "-t", "whatever", "-f", src, "--keep-partition", check=False)
    assert p.returncode == 64 and b"--input-format envelope" in p.stderr
    p = sf(broker, "produce", "-t", "whatever", "-f", src, "--input-format", "envelop", check=False)
    assert p.returncode == 64 and b"did you mean 'envelope'" in p.stderr


def test_envelope_failed_file_resumes(broker, kcat, tmp_path):
    big = {"key": "big", "value": "x" * 5000, "headers": [{"key": "h", "value": "1"}], "timestamp": 1600000000000}
    small = {"key": "small", "value": "y", "timestamp": 1600000000001}
    src = tmp_path / "env.ndjson"
    src.write_text(json.dumps(big) + "\n" + json.dumps(small) + "\n")
    failed = tmp_path / "failed.ndjson"
    with fresh_topic(BIN, broker, partitions=1, prefix="env-failed", kcat=kcat) as topic:
        p = sf(broker, "produce", "-t", topic, "-f", src, "--input-format", "envelope", "--failed-file", failed,
               "-X", "message.max.bytes=2000", check=False)
        assert p.returncode == 69, p.stderr
        assert b"--input-format envelope" in p.stderr  # the resume command says it
        kept = [json.loads(l) for l in failed.read_text().splitlines()]
        assert len(kept) == 1 and json.loads(kept[0]["text"])["key"] == "big"
        sf(broker, "produce", "-t", topic, "-f", failed, "--input-format", "envelope")
        msgs = kcat_messages(kcat, broker, topic)
        assert [(m["key"], m["value"], m["headers"], m["ts"]) for m in msgs] == [
            (b"small", b"y", (), 1600000000001), (b"big", b"x" * 5000, ((b"h", b"1"),), 1600000000000)]


def test_envelope_timestamp_zero_is_the_time_of_sending(broker, kcat, tmp_path):
    """librdkafka reads a CreateTime of 0 as "now": an envelope's 0 (like null or none) gets the
    time of sending, as --help and the man page say; a negative timestamp is rejected."""
    lines = [json.dumps({"key": "zero", "value": "a", "timestamp": 0}),
             json.dumps({"key": "null", "value": "b", "timestamp": None}),
             json.dumps({"key": "none", "value": "c"}),
             json.dumps({"key": "set", "value": "d", "timestamp": 1600000000000}),
             json.dumps({"key": "negative", "value": "e", "timestamp": -1})]
    src = tmp_path / "env.ndjson"
    src.write_text("\n".join(lines) + "\n")
    with fresh_topic(BIN, broker, partitions=1, prefix="env-ts", kcat=kcat) as topic:
        before = int(time.time() * 1000) - 1000
        p = sf(broker, "produce", "-t", topic, "-f", src, "--input-format", "envelope", check=False)
        after = int(time.time() * 1000) + 1000
        assert p.returncode == 65, p.stderr
        assert b"(line 5) rejected: envelope field 'timestamp' is not a timestamp" in p.stderr, p.stderr
        ts = {m["key"]: m["ts"] for m in kcat_messages(kcat, broker, topic)}
        assert set(ts) == {b"zero", b"null", b"none", b"set"}
        assert ts[b"set"] == 1600000000000
        for k in (b"zero", b"null", b"none"):
            assert before <= ts[k] <= after, (k, ts)
    help_text = sf(broker, "produce", "--help").stdout.decode()
    assert "A timestamp of 0, null or none gets the time of sending" in help_text


def possibly_line(record, topic, after_offset, env):
    """A failed-file line of a record sent without an answer, `after_offset` in partition 0."""
    return json.dumps({"record": record, "line": None, "reason": "not delivered: Local: Message timed out",
                       "text": json.dumps(env),
                       "possibly_delivered": {"topic": topic, "partition": 0, "after_offset": after_offset}})


def test_envelope_resume_matches_key_value_and_headers(broker, kcat, tmp_path):
    """Resuming a failed file of envelopes, a record counts as already in the topic only when a
    message there has its key, value (null is not empty) and headers; the value alone is not enough."""
    h1 = [{"key": "h", "value": "1"}]
    there = [{"key": "k", "value": "", "headers": h1},            # offset 0
             {"key": "k2", "value": "v", "headers": h1},          # offset 1
             {"key": "k3", "value": "v3", "headers": h1},         # offset 2
             {"key": None, "value": "v4"},                        # offset 3
             {"key": "k5", "value": None, "headers": h1}]         # offset 4
    src = tmp_path / "there.ndjson"
    src.write_text("".join(json.dumps(e) + "\n" for e in there))
    with fresh_topic(BIN, broker, partitions=1, prefix="env-resume", kcat=kcat) as topic:
        sf(broker, "produce", "-t", topic, "-f", src, "--input-format", "envelope")
        failed = tmp_path / "failed.ndjson"
        failed.write_text("\n".join([
            possibly_line(1, topic, -1, {"key": "k", "value": None, "headers": h1}),      # null, not ""
            possibly_line(2, topic, 0, {"key": "other", "value": "v", "headers": h1}),    # another key
            possibly_line(3, topic, 1, {"key": "k3", "value": "v3", "headers": [{"key": "h", "value": "2"}]}),
            possibly_line(4, topic, 2, {"key": None, "value": "v4", "headers": h1}),      # a header more
            possibly_line(5, topic, 3, {"key": "k5", "value": None, "headers": h1}),      # there: offset 4
        ]) + "\n")
        p = sf(broker, "produce", "-t", topic, "-f", failed, "--input-format", "envelope")
        assert b"5 records were possibly delivered by an earlier run: 1 found in" in p.stderr, p.stderr
        assert b"4 sent" in p.stderr, p.stderr
        msgs = kcat_messages(kcat, broker, topic)
        assert [(m["key"], m["value"], m["headers"]) for m in msgs[5:]] == [
            (b"k", None, ((b"h", b"1"),)), (b"other", b"v", ((b"h", b"1"),)), (b"k3", b"v3", ((b"h", b"2"),)),
            (None, b"v4", ((b"h", b"1"),))]


def test_envelope_partition_read_only_with_keep_partition(broker, kcat, tmp_path):
    """A failed file's envelope of a message never placed has "partition": null (older ones -1):
    it resumes without --keep-partition; with it, such an envelope is rejected with the reason."""
    lines = [json.dumps({"record": 1, "line": 1, "reason": "not delivered: Local: Message timed out",
                         "text": json.dumps({"topic": "t", "partition": p, "offset": -1, "key": "k%d" % i,
                                             "value": "v", "headers": []})})
             for i, p in enumerate([-1, None, 0])]
    failed = tmp_path / "failed.ndjson"
    failed.write_text("\n".join(lines) + "\n")
    with fresh_topic(BIN, broker, partitions=1, prefix="env-part", kcat=kcat) as topic:
        sf(broker, "produce", "-t", topic, "-f", failed, "--input-format", "envelope")
        assert [m["key"] for m in kcat_messages(kcat, broker, topic)] == [b"k0", b"k1", b"k2"]
        p = sf(broker, "produce", "-t", topic, "-f", failed, "--input-format", "envelope", "--keep-partition",
               check=False)
        assert p.returncode == 65, p.stderr
        assert b"(line 1) rejected: envelope field 'partition' is not a partition number" in p.stderr, p.stderr
        assert b"(line 2) rejected: envelope has no partition" in p.stderr, p.stderr
        assert b"1 sent, 2 rejected" in p.stderr, p.stderr


def test_envelope_broker_refusal_kept_whole(broker, kcat, tmp_path):
    """A message the broker refuses (a null key on a compacted topic: "Broker failed to validate
    record") is kept in the failed file as the envelope rebuilt from its delivery report - key
    null, value, headers (-H ones included), timestamp - and that file resumes it whole."""
    # One message: the broker refuses the whole batch it is in.
    lines = [{"key": None, "value": "no key", "headers": [{"key": "h", "value": "x"}, {"key": "n", "value": None}],
              "timestamp": 1600000000123}]
    src = tmp_path / "env.ndjson"
    src.write_text("".join(json.dumps(e) + "\n" for e in lines))
    failed = tmp_path / "failed.ndjson"
    compacted = "env-compact-%d" % os.getpid()
    sf(broker, "topic", "create", compacted, "--partitions", 1, "-c", "cleanup.policy=compact")
    try:
        _h.wait_topic_ready(kcat, broker, compacted, 1)
        p = sf(broker, "produce", "-t", compacted, "-f", src, "--input-format", "envelope", "--failed-file", failed,
               "-H", "source=cad", check=False)
        err = p.stderr.decode()
        assert p.returncode == 69, err
        assert "record 1 not delivered: Broker: Broker failed to validate record" in err, err
        assert "0 sent" in err and "1 failed" in err, err
        assert "--input-format envelope" in err and "source=cad" not in err.split("resume exactly with:")[1], err
        kept = [json.loads(l) for l in failed.read_text().splitlines()]
        assert len(kept) == 1 and kept[0]["record"] == 1, kept
        env = json.loads(kept[0]["text"])
        assert env["key"] is None and env["value"] == "no key" and env["timestamp"] == 1600000000123
        assert env["headers"] == [{"key": "h", "value": "x"}, {"key": "n", "value": None},
                                  {"key": "source", "value": "cad"}]
        assert env["partition"] == 0  # placed, then refused
        assert kcat_messages(kcat, broker, compacted) == []
    finally:
        sf(broker, "topic", "delete", compacted, "--if-exists", check=False)
    with fresh_topic(BIN, broker, partitions=1, prefix="env-refused", kcat=kcat) as topic:
        sf(broker, "produce", "-t", topic, "-f", failed, "--input-format", "envelope")
        msgs = kcat_messages(kcat, broker, topic)
        assert [(m["key"], m["value"], m["headers"], m["ts"]) for m in msgs] == [
            (None, b"no key", ((b"h", b"x"), (b"n", b"NULL"), (b"source", b"cad")), 1600000000123)]


def test_envelope_unsent_keep_the_extra_headers(broker, kcat, tmp_path):
    """A message refused by send() (too large here) is kept with the -H headers too, since the
    resume command does not repeat -H in envelope mode."""
    src = tmp_path / "env.ndjson"
    src.write_text(json.dumps({"key": "big", "value": "x" * 5000, "headers": [{"key": "h", "value": "1"}]}) + "\n")
    failed = tmp_path / "failed.ndjson"
    with fresh_topic(BIN, broker, partitions=1, prefix="env-unsent", kcat=kcat) as topic:
        p = sf(broker, "produce", "-t", topic, "-f", src, "--input-format", "envelope", "--failed-file", failed,
               "-H", "source=cad", "-X", "message.max.bytes=2000", check=False)
        assert p.returncode == 69, p.stderr
        env = json.loads(json.loads(failed.read_text())["text"])
        assert env["headers"] == [{"key": "h", "value": "1"}, {"key": "source", "value": "cad"}]
        sf(broker, "produce", "-t", topic, "-f", failed, "--input-format", "envelope")
        assert [m["headers"] for m in kcat_messages(kcat, broker, topic)] == [((b"h", b"1"), (b"source", b"cad"))]


def test_resume_hint_redacts_secret_headers(broker, kcat, tmp_path):
    """The resume command printed after a delivery failure repeats -H values, except those of
    headers named like a secret (auth, token, password, secret; any case)."""
    src = tmp_path / "in.ndjson"
    recs = write_records(src, 3)
    recs[1]["padding"] = "x" * 5000  # too large for message.max.bytes=2000: fails alone
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    failed = tmp_path / "failed.ndjson"
    with fresh_topic(BIN, broker, partitions=1, prefix="produce-redact", kcat=kcat) as topic:
        p = sf(broker, "produce", "-t", topic, "-f", src, "--failed-file", failed, "-X", "message.max.bytes=2000",
               "-H", "source=cad", "-H", "Authorization=Bearer s3cr3t", "-H", "X-API-TOKEN=t0k3n",
               "-H", "db_Password=pw", "-H", "client-secret=cs", check=False)
        err = p.stderr.decode()
        assert p.returncode == 69, err
        hint = err.split("resume exactly with:")[1]
        for secret in ("s3cr3t", "t0k3n", "=pw", "=cs"):
            assert secret not in err, err
        assert " -H source=cad" in hint, hint
        for name in ("Authorization", "X-API-TOKEN", "db_Password", "client-secret"):
            assert " -H '%s=[redacted]'" % name in hint, hint
        assert "given again in place of [redacted]" in hint, hint


def test_progress_reaches_100_percent_on_a_pretty_printed_file(broker, kcat, tmp_path):
    """The bar counts the reader's position in the file (whitespace and brackets between records
    too, not only the records' text): on a pretty-printed array it ends at 100 %."""
    src = tmp_path / "in.json"
    recs = gen_synthetic.generate(3000, 6)
    src.write_text(json.dumps(recs, indent=4) + "\n")
    size_mb = "%.1f/%.1f MB" % ((os.path.getsize(src) / 1e6,) * 2)
    with fresh_topic(BIN, broker, partitions=2, prefix="produce-bar100", kcat=kcat) as topic:
        rc, err = run_on_pty(["-b", broker, "produce", "-t", topic, "-f", src, "--rate", "3000"])
        assert rc == 0, err
        frames = [f for f in err.decode().split("\r\x1b[K") if f.startswith("[")]
        assert len(frames) >= 2, err
        last = frames[-1]
        assert " 100% " + size_mb in last and "3,000 records" in last, last
