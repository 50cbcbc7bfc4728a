"""The sfcrime binary as a user or a script runs it: help, usage errors, exit codes, an unreachable
broker, topics, and produce/consume against the real broker (tests marked `broker`).

Inputs are synthetic: records with the 14 string fields of a call for service, invented values.
Expected figures come from how each input is built, never from the program's own output.
"""
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BIN, clean_env, run

FIELDS = [
    "crime_id", "original_crime_type_name", "report_date", "call_date", "offense_date", "call_time",
    "call_date_time", "disposition", "address", "city", "state", "agency_id", "address_type",
    "common_location",
]

UNREACHABLE = "localhost:1"


def record(i, call_date_time="2031-07-14T09:15:00", crime_type="Imaginary Disturbance", disposition="QQX"):
    """One synthetic call for service with the 14 string fields (invented values)."""
    date, _, tm = call_date_time.partition("T")
    return {
        "crime_id": f"77{i:07d}",
        "original_crime_type_name": crime_type,
        "report_date": date,
        "call_date": date,
        "offense_date": date,
        "call_time": tm[:5],
        "call_date_time": call_date_time,
        "disposition": disposition,
        "address": f"{100 + i} Nowhere Lane",
        "city": "Testville",
        "state": "ZZ",
        "agency_id": "9",
        "address_type": "Fictional Block",
        "common_location": f"Plaza {i}",
    }


def write_ndjson(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def rejections(stderr):
    """{record number: reason} for each 'record N ... rejected: REASON' line of stderr."""
    out = {}
    for line in stderr.splitlines():
        m = re.search(r"record (\d+)\b.*rejected\W+(.*)", line)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


def summary(stderr):
    m = re.search(r"(\d+) read, (\d+) sent, (\d+) rejected", stderr)
    assert m, f"no produce summary on stderr:\n{stderr}"
    return tuple(int(x) for x in m.groups())


def consume_all(broker, topic):
    p = run("-b", broker, "consume", "--topic", topic, "--from-beginning", "--exit-at-end", timeout=60)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def kcat_messages(kcat, broker, topic):
    """(key, value dict) of every message of topic, read by kcat (an independent client)."""
    p = subprocess.run([kcat, "-b", broker, "-C", "-t", topic, "-e", "-q", "-J"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = []
    for line in p.stdout.splitlines():
        if line.strip():
            env = json.loads(line)
            out.append((env["key"], json.loads(env["payload"])))
    return out


def by_id(records):
    return sorted(records, key=lambda r: r["crime_id"])


# --------------------------------------------------------------------------------------------
# help and version

SHARED = ["--bootstrap-servers", "--property", "--config", "--timeout", "--verbose", "--help"]

HELP_CASES = [
    ([], ["produce", "consume", "aggregate", "topic", "inspect", "help"]),
    (["produce"], ["--topic", "--file", "--key", "--limit", "--rate", *SHARED]),
    (["consume"], ["--topic", "--from-beginning", "--group", "--max-messages", "--exit-at-end", *SHARED]),
    (["aggregate"], ["--topic", "--file", "--window", "--slide", "--time-field", "--watermark", "--output-mode",
                     "--trigger", "--max-records-per-trigger", "--by", "--top", "--filter", "--output",
                     "--output-topic", "--late-topic", "--progress", "--max-idle", "--from-beginning",
                     "--exit-at-end", "--group", "--radio-codes", *SHARED]),
    (["inspect"], ["--topic", "--all", "--output", *SHARED]),
    (["topic"], ["create", "list", "describe", "delete"]),
    (["topic", "create"], ["--partitions", "--replication-factor", "--config", "--if-not-exists", "--timeout",
                           "--bootstrap-servers"]),
    (["topic", "list"], ["--all", *SHARED]),
    (["topic", "describe"], ["--output", *SHARED]),
    (["topic", "delete"], ["--if-exists", *SHARED]),
    (["help"], ["produce", "consume", "aggregate", "topic", "inspect"]),
]


@pytest.mark.parametrize("words,options", HELP_CASES, ids=[" ".join(w) or "sfcrime" for w, _ in HELP_CASES])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(sfcrime_bin, words, options, flag):
    p = run(*words, flag, timeout=20)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("usage:"), p.stdout[:200]
    first = p.stdout.splitlines()[0]
    # The usage line names the command (and subcommand) it is about.
    # (`topic describe` has its own test below.)
    expected = "usage: sfcrime" + "".join(" " + w for w in words if w not in ("help", "describe"))
    if words != ["topic", "describe"]:
        assert first.startswith(expected), f"usage line {first!r} does not start with {expected!r}"
    for opt in options:
        assert re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", p.stdout), f"{opt} not in help:\n{p.stdout}"


def test_topic_describe_help_names_topic_describe(sfcrime_bin):
    """`topic describe --help` must describe `topic describe NAME`, not another command's usage."""
    p = run("topic", "describe", "--help", timeout=20)
    assert p.returncode == 0
    first = p.stdout.splitlines()[0]
    assert first.startswith("usage: sfcrime topic describe"), first


@pytest.mark.parametrize("word", ["produce", "consume", "aggregate", "inspect", "topic"])
def test_help_command_equals_command_help(sfcrime_bin, word):
    a = run("help", word, timeout=20)
    b = run(word, "--help", timeout=20)
    assert a.returncode == 0 and b.returncode == 0
    assert a.stdout.startswith(f"usage: sfcrime {word}")
    assert a.stdout == b.stdout


def test_help_unknown_command(sfcrime_bin):
    p = run("help", "nosuchword", timeout=20)
    assert p.returncode == 64
    assert "'nosuchword'" in p.stderr


def test_version(sfcrime_bin):
    p = run("--version", timeout=20)
    assert p.returncode == 0, p.stderr
    m = re.search(r"librdkafka (\d+\.\d+\.\d+)", p.stdout)
    assert m, p.stdout
    assert p.stdout.startswith("sfcrime ")
    # The same librdkafka version as the library reports in the effective configuration, where
    # the properties left at librdkafka's defaults say whose they are.
    d = run("-X", "dump", timeout=20)
    assert d.returncode == 0, d.stderr
    assert f"  # default librdkafka {m.group(1)}\n" in d.stdout


def test_no_arguments_is_usage_error(sfcrime_bin):
    p = run(timeout=20)
    assert p.returncode == 64
    assert p.stderr.startswith("usage:")
    assert p.stdout == ""


# --------------------------------------------------------------------------------------------
# usage errors

@pytest.mark.parametrize("typo,meant", [
    ("prodce", "produce"), ("consme", "consume"), ("agregate", "aggregate"), ("inspct", "inspect"),
    ("topc", "topic"),
])
def test_unknown_command_near_miss(sfcrime_bin, typo, meant):
    p = run(typo, timeout=20)
    assert p.returncode == 64
    assert f"'{typo}'" in p.stderr
    assert f"did you mean '{meant}'" in p.stderr
    assert p.stdout == ""


def test_unknown_command_far_miss_has_no_suggestion(sfcrime_bin):
    p = run("xylophone", timeout=20)
    assert p.returncode == 64
    assert "'xylophone'" in p.stderr
    assert "did you mean" not in p.stderr


@pytest.mark.parametrize("words", [
    ["produce", "--topic", "t"], ["consume", "--topic", "t"], ["aggregate", "--topic", "t"], ["inspect"],
    ["topic", "create", "t"], ["topic", "list"], ["topic", "delete", "t"],
], ids=" ".join)
def test_unknown_option(sfcrime_bin, words):
    p = run("-b", UNREACHABLE, "--timeout", "1s", *words, "--frobnicate", timeout=20)
    assert p.returncode == 64, p.stderr
    assert "--frobnicate" in p.stderr


def test_unknown_global_option_before_command(sfcrime_bin):
    p = run("--frobnicate", "inspect", timeout=20)
    assert p.returncode == 64
    assert "--frobnicate" in p.stderr


def test_unknown_global_option_alone(sfcrime_bin):
    """`sfcrime --frobnicate` is a usage error whose message names the unknown option."""
    p = run("--frobnicate", timeout=20)
    assert p.returncode == 64
    assert "--frobnicate" in p.stderr, p.stderr


@pytest.mark.parametrize("window", ["30x", "0m", "0s", "30", "-5m", "1.5h", "30M", "m"])
def test_bad_window(sfcrime_bin, window):
    # An unreachable broker: if the value were wrongly accepted the command fails fast with 69.
    p = run("-b", UNREACHABLE, "--timeout", "1s", "aggregate", "--topic", "t", "--window", window, timeout=20)
    assert p.returncode == 64, p.stderr
    assert f"'{window}'" in p.stderr
    assert "--window" in p.stderr


@pytest.mark.parametrize("window", ["45s", "15m", "2h", "1d"])
def test_good_window_gets_past_option_parsing(sfcrime_bin, window):
    p = run("-b", UNREACHABLE, "--timeout", "1s", "aggregate", "--topic", "t", "--window", window, timeout=20)
    assert p.returncode == 69, p.stderr


@pytest.mark.parametrize("command", ["produce", "consume", "aggregate"])
def test_missing_topic_option(sfcrime_bin, command, tmp_path):
    args = [command]
    if command == "produce":
        args += ["--file", write_ndjson(tmp_path / "in.ndjson", [json.dumps(record(1))])]
    p = run("-b", UNREACHABLE, "--timeout", "1s", *args, timeout=20)
    assert p.returncode == 64, p.stderr
    assert "--topic" in p.stderr


def test_missing_input_file(sfcrime_bin, tmp_path):
    missing = tmp_path / "no-such-calls.json"
    p = run("-b", UNREACHABLE, "--timeout", "1s", "produce", "--topic", "t", "--file", missing, timeout=20)
    assert p.returncode == 66, p.stderr
    assert str(missing) in p.stderr


@pytest.mark.parametrize("args", [
    ["produce", "--topic", "t", "--limit", "0"],
    ["produce", "--topic", "t", "--limit", "-3"],
    ["produce", "--topic", "t", "--limit", "many"],
    ["produce", "--topic", "t", "--rate", "0"],
    ["consume", "--topic", "t", "--max-messages", "0"],
    ["aggregate", "--topic", "t", "--output", "yaml"],
    ["inspect", "--output", "yaml"],
    ["topic", "create", "t", "--partitions", "0"],
    ["topic", "create", "t", "--replication-factor", "0"],
    ["topic", "create", "t", "--config", "retention.ms"],
    ["topic", "create"],
    ["topic", "delete"],
    ["topic", "frobnicate"],
    ["topic"],
], ids=" ".join)
def test_bad_values_are_usage_errors(sfcrime_bin, args, tmp_path):
    if args[0] == "produce":
        args = [*args, "--file", write_ndjson(tmp_path / "in.ndjson", [json.dumps(record(1))])]
    p = run("-b", UNREACHABLE, "--timeout", "1s", *args, timeout=20)
    assert p.returncode == 64, p.stderr
    assert p.stderr.strip()


def test_limit_zero_names_option(sfcrime_bin, tmp_path):
    f = write_ndjson(tmp_path / "in.ndjson", [json.dumps(record(1))])
    p = run("-b", UNREACHABLE, "--timeout", "1s", "produce", "--topic", "t", "--file", f, "--limit", "0", timeout=20)
    assert p.returncode == 64
    assert "--limit" in p.stderr


@pytest.mark.parametrize("value", ["0s", "abc", "10", "-1s"])
def test_bad_timeout_flag(sfcrime_bin, value):
    p = run("--timeout", value, "inspect", timeout=20)
    assert p.returncode == 64, p.stderr
    assert "--timeout" in p.stderr


def test_option_needing_value_at_end(sfcrime_bin):
    p = run("-b", timeout=20)
    assert p.returncode == 64
    assert "-b" in p.stderr


# --------------------------------------------------------------------------------------------
# an unreachable broker: a clear error in bounded time

UNREACHABLE_CASES = [
    ["produce", "--topic", "calls", "--file", "{file}"],
    ["consume", "--topic", "calls"],
    ["aggregate", "--topic", "calls", "--exit-at-end"],
    ["inspect"],
    ["inspect", "--topic", "calls"],
    ["topic", "create", "calls"],
    ["topic", "list"],
    ["topic", "describe", "calls"],
    ["topic", "delete", "calls"],
]


@pytest.mark.parametrize("words", UNREACHABLE_CASES, ids=lambda w: " ".join(w[:2]))
def test_unreachable_broker(sfcrime_bin, words, tmp_path):
    f = write_ndjson(tmp_path / "calls.ndjson", [json.dumps(record(i)) for i in range(3)])
    args = [str(f) if w == "{file}" else w for w in words]
    start = time.monotonic()
    p = run("-b", UNREACHABLE, "--timeout", "2s", *args, timeout=30)
    elapsed = time.monotonic() - start
    assert p.returncode == 69, p.stderr
    assert f"cannot reach broker '{UNREACHABLE}'" in p.stderr
    assert elapsed < 10, f"took {elapsed:.1f} s with --timeout 2s"
    assert p.stderr.startswith("sfcrime: error:")


def test_unreachable_broker_options_after_command(sfcrime_bin):
    """Shared options are also accepted after the command word."""
    start = time.monotonic()
    p = run("inspect", "-b", UNREACHABLE, "--timeout", "1s", timeout=30)
    assert p.returncode == 69, p.stderr
    assert f"cannot reach broker '{UNREACHABLE}'" in p.stderr
    assert time.monotonic() - start < 10


# --------------------------------------------------------------------------------------------
# topics on the real broker

def fresh_name(prefix="cli"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_until_usable(broker, name, partitions, limit=30.0):
    """Waits until the broker's metadata shows topic `name` with a leader for every partition.

    `topic create` returns before that (see test_topic_usable_right_after_create); the other tests
    wait here so that each checks only what it is about.
    """
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        last = run("-b", broker, "inspect", "--topic", name, "--output", "json", timeout=30)
        if last.returncode == 0:
            (t,) = json.loads(last.stdout)["topics"]
            if len(t["partitions"]) == partitions and all(x["leader"] >= 0 for x in t["partitions"]):
                return
        time.sleep(0.2)
    raise AssertionError(f"topic {name} not usable after {limit} s: {last.stderr if last else ''}")


@pytest.fixture
def ready_topic(broker, topic):
    """The shared `topic` fixture (3 partitions), once the broker can serve it."""
    wait_until_usable(broker, topic, 3)
    return topic


@pytest.mark.broker
def test_topic_usable_right_after_create(broker, tmp_path):
    """A script runs `topic create T` and then at once `produce`/`inspect`/`consume`/`aggregate` on T
    (DESIGN.md's own first example). Each must succeed: a topic reported created is there for the next
    command, and a partition whose leader is still being elected is not 'broker unavailable'.
    12 partitions make the broker's leader elections take long enough to show a race."""
    f = write_ndjson(tmp_path / "in.ndjson", [json.dumps(record(1))])
    commands = [["produce", "--topic", "{t}", "--file", str(f)], ["inspect", "--topic", "{t}"],
                ["consume", "--topic", "{t}", "--from-beginning", "--exit-at-end"],
                ["aggregate", "--topic", "{t}", "--from-beginning", "--exit-at-end"]]
    failures = []
    rounds = 3
    for _ in range(rounds):
        for words in commands:
            name = fresh_name("race")
            try:
                c = run("-b", broker, "topic", "create", name, "--partitions", "12", timeout=60)
                assert c.returncode == 0, c.stderr
                p = run("-b", broker, *[name if w == "{t}" else w for w in words], timeout=60)
                if p.returncode != 0:
                    failures.append(f"{words[0]} right after create: exit {p.returncode}: {p.stderr.strip()}")
            finally:
                run("-b", broker, "topic", "delete", name, "--if-exists", timeout=60)
    assert not failures, f"{len(failures)} of {rounds * len(commands)} commands failed:\n" + "\n".join(failures)


@pytest.mark.broker
def test_topic_create_existing(broker, ready_topic):
    topic = ready_topic
    p = run("-b", broker, "topic", "create", topic, "--partitions", "3", timeout=60)
    assert p.returncode == 1, p.stderr
    assert "exists" in p.stderr
    assert f"'{topic}'" in p.stderr
    p = run("-b", broker, "topic", "create", topic, "--partitions", "3", "--if-not-exists", timeout=60)
    assert p.returncode == 0, p.stderr


@pytest.mark.broker
def test_topic_create_list_delete(broker):
    name = fresh_name()
    try:
        p = run("-b", broker, "topic", "create", name, "--partitions", "4", timeout=60)
        assert p.returncode == 0, p.stderr
        wait_until_usable(broker, name, 4)
        p = run("-b", broker, "topic", "list", timeout=60)
        assert p.returncode == 0, p.stderr
        rows = [line.split() for line in p.stdout.splitlines()]
        mine = [r for r in rows if r and r[0] == name]
        assert len(mine) == 1, p.stdout
        assert mine[0][1:3] == ["4", "1"], mine[0]
        # internal topics only with --all
        assert not any(r and r[0].startswith("__") for r in rows)
        p = run("-b", broker, "topic", "delete", name, timeout=60)
        assert p.returncode == 0, p.stderr
        p = run("-b", broker, "topic", "list", timeout=60)
        assert name not in [line.split()[0] for line in p.stdout.splitlines() if line.strip()]
    finally:
        run("-b", broker, "topic", "delete", name, "--if-exists", timeout=60)


@pytest.mark.broker
def test_topic_create_replication_factor_too_high(broker):
    p = run("-b", broker, "inspect", "--output", "json", timeout=60)
    assert p.returncode == 0, p.stderr
    n_brokers = len(json.loads(p.stdout)["brokers"])
    if n_brokers >= 3:
        pytest.skip(f"{n_brokers} brokers: replication factor 3 is possible")
    name = fresh_name()
    try:
        p = run("-b", broker, "topic", "create", name, "--replication-factor", "3", timeout=60)
        assert p.returncode != 0
        assert p.returncode == 1, p.stderr
        assert "replicat" in p.stderr.lower()
        d = run("-b", broker, "topic", "describe", name, timeout=60)
        assert d.returncode == 66, "the topic was created after all"
    finally:
        run("-b", broker, "topic", "delete", name, "--if-exists", timeout=60)


@pytest.mark.broker
@pytest.mark.parametrize("bad", ["bad/name", "has space", "a" * 250, "..", "ünïcode"])
def test_topic_create_invalid_name(broker, bad):
    p = run("-b", broker, "topic", "create", bad, timeout=60)
    try:
        assert p.returncode != 0, f"created topic {bad!r}"
        assert p.returncode in (1, 64), p.stderr
        assert p.stderr.startswith("sfcrime: error:")
    finally:
        if p.returncode == 0:
            run("-b", broker, "topic", "delete", bad, "--if-exists", timeout=60)


@pytest.mark.broker
def test_topic_create_bad_name_message(broker):
    p = run("-b", broker, "topic", "create", "bad/name", timeout=60)
    assert p.returncode == 1, p.stderr
    assert "'bad/name'" in p.stderr


@pytest.mark.broker
def test_topic_delete_missing(broker):
    name = fresh_name("missing")
    p = run("-b", broker, "topic", "delete", name, timeout=60)
    assert p.returncode == 66, p.stderr
    assert f"'{name}'" in p.stderr
    p = run("-b", broker, "topic", "delete", name, "--if-exists", timeout=60)
    assert p.returncode == 0, p.stderr


@pytest.mark.broker
def test_topic_create_with_config(broker):
    name = fresh_name()
    try:
        p = run("-b", broker, "topic", "create", name, "-p", "2", "--config", "retention.ms=123456789",
                "--config", "cleanup.policy=compact", timeout=60)
        assert p.returncode == 0, p.stderr
        wait_until_usable(broker, name, 2)
        p = run("-b", broker, "inspect", "--topic", name, "--output", "json", timeout=60)
        assert p.returncode == 0, p.stderr
        (t,) = json.loads(p.stdout)["topics"]
        assert len(t["partitions"]) == 2
    finally:
        run("-b", broker, "topic", "delete", name, "--if-exists", timeout=60)


@pytest.mark.broker
def test_topic_create_bad_topic_config_refused(broker):
    name = fresh_name()
    try:
        p = run("-b", broker, "topic", "create", name, "--config", "no.such.topic.setting=1", timeout=60)
        assert p.returncode == 1, p.stderr
        assert run("-b", broker, "topic", "describe", name, timeout=60).returncode == 66
    finally:
        run("-b", broker, "topic", "delete", name, "--if-exists", timeout=60)


def partition_rows(text):
    """Partition numbers of the table rows printed by inspect / topic describe."""
    parts = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) == 7 and all(c.isdigit() for c in (cols[0], cols[1], cols[4], cols[5], cols[6])):
            parts.append(int(cols[0]))
    return parts


@pytest.mark.broker
@pytest.mark.parametrize("how", [["topic", "describe", "{t}"], ["inspect", "--topic", "{t}"]], ids=" ".join)
def test_describe_lists_partitions(broker, ready_topic, how):
    topic = ready_topic
    args = [topic if w == "{t}" else w for w in how]
    p = run("-b", broker, *args, timeout=60)
    assert p.returncode == 0, p.stderr
    assert topic in p.stdout
    assert sorted(partition_rows(p.stdout)) == [0, 1, 2], p.stdout
    # Only this topic is shown.
    assert "police-calls" not in p.stdout or topic == "police-calls"


@pytest.mark.broker
def test_inspect_json_counts_messages(broker, ready_topic, tmp_path):
    topic = ready_topic
    n = 7
    f = write_ndjson(tmp_path / "in.ndjson", [json.dumps(record(i)) for i in range(n)])
    assert run("-b", broker, "produce", "--topic", topic, "--file", f, timeout=60).returncode == 0
    p = run("-b", broker, "inspect", "--topic", topic, "--output", "json", timeout=60)
    assert p.returncode == 0, p.stderr
    (t,) = json.loads(p.stdout)["topics"]
    assert t["name"] == topic
    assert sorted(x["partition"] for x in t["partitions"]) == [0, 1, 2]
    assert sum(x["high"] - x["low"] for x in t["partitions"]) == n
    assert t["messages"] == n


@pytest.mark.broker
@pytest.mark.parametrize("how", [["topic", "describe", "{t}"], ["inspect", "--topic", "{t}"]], ids=" ".join)
def test_describe_missing_topic(broker, how):
    name = fresh_name("missing")
    args = [name if w == "{t}" else w for w in how]
    p = run("-b", broker, *args, timeout=60)
    assert p.returncode == 66, p.stderr
    assert f"'{name}'" in p.stderr


# --------------------------------------------------------------------------------------------
# produce and consume on the real broker

@pytest.mark.broker
def test_produce_good_records_roundtrip(broker, ready_topic, tmp_path, kcat):
    topic = ready_topic
    recs = [record(i, f"2031-07-14T{9 + i % 10:02d}:{i % 60:02d}:00") for i in range(25)]
    f = write_ndjson(tmp_path / "good.ndjson", [json.dumps(r) for r in recs])
    p = run("-b", broker, "produce", "--topic", topic, "--file", f, timeout=60)
    assert p.returncode == 0, p.stderr
    assert summary(p.stderr) == (25, 25, 0)
    assert by_id(consume_all(broker, topic)) == by_id(recs)
    got = kcat_messages(kcat, broker, topic)
    assert sorted(k for k, _ in got) == sorted(r["crime_id"] for r in recs)
    assert all(k == v["crime_id"] for k, v in got)


@pytest.mark.broker
def test_produce_bad_records_ndjson(broker, ready_topic, tmp_path, kcat):
    topic = ready_topic
    good1 = record(1, "2031-07-14T09:15:00")
    no_time = record(3)
    del no_time["call_date_time"]
    bad_time = record(4, "2031-07-14T10:00:00")
    bad_time["call_date_time"] = "2018-13-45T99:00:00"
    good6 = record(6, "2031-07-14T11:30:00")
    good8 = record(8, "2031-07-15T00:00:00")
    lines = [
        json.dumps(good1),                       # 1 ok
        json.dumps([good1["crime_id"], "x"]),    # 2 not an object
        json.dumps(no_time),                     # 3 missing call_date_time
        json.dumps(bad_time),                    # 4 unparsable call_date_time
        '{"crime_id": "770000005", "call_date_time": ',  # 5 invalid JSON
        json.dumps(good6),                       # 6 ok
        '"just a string"',                       # 7 not an object
        json.dumps(good8),                       # 8 ok
    ]
    f = write_ndjson(tmp_path / "mixed.ndjson", lines)
    p = run("-b", broker, "produce", "--topic", topic, "--file", f, timeout=60)
    assert p.returncode == 65, p.stderr
    rej = rejections(p.stderr)
    assert sorted(rej) == [2, 3, 4, 5, 7], p.stderr
    assert "object" in rej[2].lower()
    assert "call_date_time" in rej[3] and "missing" in rej[3].lower()
    assert "2018-13-45T99:00:00" in rej[4]
    assert "json" in rej[5].lower()
    assert "object" in rej[7].lower()
    assert summary(p.stderr) == (8, 3, 5)
    good = [good1, good6, good8]
    assert by_id(consume_all(broker, topic)) == by_id(good)
    assert sorted(k for k, _ in kcat_messages(kcat, broker, topic)) == sorted(r["crime_id"] for r in good)


@pytest.mark.broker
def test_produce_bad_records_pretty_array_line_numbers(broker, ready_topic, tmp_path):
    topic = ready_topic
    recs = [record(1), "not a record", record(3), record(4, "2031-02-30T08:00:00")]
    text = json.dumps(recs, indent=2)
    f = tmp_path / "pretty.json"
    f.write_text(text)
    lines = text.splitlines()
    # line (1-based) where each element starts: elements are indented by 2 spaces
    starts = [n for n, line in enumerate(lines, 1) if re.match(r"^  [\[{\"]", line)]
    assert len(starts) == 4
    p = run("-b", broker, "produce", "--topic", topic, "--file", f, timeout=60)
    assert p.returncode == 65, p.stderr
    rej = rejections(p.stderr)
    assert sorted(rej) == [2, 4], p.stderr
    for n in (2, 4):
        line = next(x for x in p.stderr.splitlines() if re.search(rf"record {n}\b", x))
        assert re.search(rf"line {starts[n - 1]}\b", line), f"expected line {starts[n - 1]} in {line!r}"
    assert "2031-02-30T08:00:00" in rej[4]  # 30 February does not exist
    assert summary(p.stderr) == (4, 2, 2)
    assert by_id(consume_all(broker, topic)) == by_id([recs[0], recs[2]])


@pytest.mark.broker
def test_produce_truncated_array(broker, ready_topic, tmp_path):
    topic = ready_topic
    recs = [record(i, f"2031-07-14T09:{i:02d}:00") for i in range(1, 6)]
    text = json.dumps(recs, indent=2)
    cut = text.index('"address"', text.index('"770000004"'))  # inside the 4th record
    f = tmp_path / "truncated.json"
    f.write_text(text[:cut])
    p = run("-b", broker, "produce", "--topic", topic, "--file", f, timeout=60)
    assert p.returncode == 65, p.stderr
    assert "truncated" in p.stderr
    read, sent, rejected = summary(p.stderr)
    assert sent == 3 and rejected == 0
    assert by_id(consume_all(broker, topic)) == by_id(recs[:3])


@pytest.mark.broker
def test_produce_array_not_closed(broker, ready_topic, tmp_path):
    topic = ready_topic
    recs = [record(1), record(2)]
    f = tmp_path / "open.json"
    f.write_text("[" + json.dumps(recs[0]) + ",\n" + json.dumps(recs[1]) + ",\n")
    p = run("-b", broker, "produce", "--topic", topic, "--file", f, timeout=60)
    assert p.returncode == 65, p.stderr
    assert "truncated" in p.stderr
    assert by_id(consume_all(broker, topic)) == by_id(recs)


@pytest.mark.broker
@pytest.mark.parametrize("file_args", [["--file", "-"], []], ids=["file-dash", "default-stdin"])
def test_produce_from_stdin(broker, ready_topic, file_args):
    topic = ready_topic
    recs = [record(i) for i in range(4)]
    data = json.dumps(recs)  # compact JSON array on stdin
    p = run("-b", broker, "produce", "--topic", topic, *file_args, input=data, timeout=60)
    assert p.returncode == 0, p.stderr
    assert summary(p.stderr) == (4, 4, 0)
    assert by_id(consume_all(broker, topic)) == by_id(recs)


@pytest.mark.broker
def test_produce_limit(broker, ready_topic, tmp_path):
    topic = ready_topic
    recs = [record(i) for i in range(10)]
    f = write_ndjson(tmp_path / "in.ndjson", [json.dumps(r) for r in recs])
    p = run("-b", broker, "produce", "--topic", topic, "--file", f, "--limit", "4", timeout=60)
    assert p.returncode == 0, p.stderr
    assert summary(p.stderr) == (4, 4, 0)
    assert by_id(consume_all(broker, topic)) == by_id(recs[:4])


@pytest.mark.broker
def test_produce_key_field(broker, ready_topic, tmp_path, kcat):
    topic = ready_topic
    recs = [record(i) for i in range(5)]
    f = write_ndjson(tmp_path / "in.ndjson", [json.dumps(r) for r in recs])
    p = run("-b", broker, "produce", "--topic", topic, "--file", f, "--key", "common_location", timeout=60)
    assert p.returncode == 0, p.stderr
    got = kcat_messages(kcat, broker, topic)
    assert sorted(k for k, _ in got) == sorted(r["common_location"] for r in recs)


@pytest.mark.broker
def test_produce_to_missing_topic(broker, tmp_path):
    name = fresh_name("missing")
    f = write_ndjson(tmp_path / "in.ndjson", [json.dumps(record(1))])
    p = run("-b", broker, "produce", "--topic", name, "--file", f, timeout=60)
    assert p.returncode == 66, p.stderr
    assert f"'{name}'" in p.stderr
    # and it was not auto-created
    assert run("-b", broker, "topic", "describe", name, timeout=60).returncode == 66


@pytest.mark.broker
def test_produce_directory_is_io_error(broker, ready_topic, tmp_path):
    topic = ready_topic
    p = run("-b", broker, "produce", "--topic", topic, "--file", tmp_path, timeout=60)
    assert p.returncode == 74, p.stderr
    assert str(tmp_path) in p.stderr


@pytest.mark.broker
@pytest.mark.parametrize("command", ["consume", "aggregate"])
def test_read_missing_topic(broker, command):
    name = fresh_name("missing")
    p = run("-b", broker, command, "--topic", name, "--from-beginning", "--exit-at-end", timeout=60)
    assert p.returncode == 66, p.stderr
    assert f"'{name}'" in p.stderr


@pytest.mark.broker
def test_consume_max_messages(broker, ready_topic, tmp_path):
    topic = ready_topic
    recs = [record(i) for i in range(6)]
    f = write_ndjson(tmp_path / "in.ndjson", [json.dumps(r) for r in recs])
    assert run("-b", broker, "produce", "--topic", topic, "--file", f, timeout=60).returncode == 0
    p = run("-b", broker, "consume", "--topic", topic, "--from-beginning", "--max-messages", "2", timeout=60)
    assert p.returncode == 0, p.stderr
    lines = [x for x in p.stdout.splitlines() if x.strip()]
    assert len(lines) == 2
    assert all(json.loads(x) in recs for x in lines)


@pytest.mark.broker
def test_consume_empty_topic_exit_at_end(broker, ready_topic):
    topic = ready_topic
    start = time.monotonic()
    p = run("-b", broker, "consume", "--topic", topic, "--from-beginning", "--exit-at-end", timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""
    assert time.monotonic() - start < 15


@pytest.mark.broker
def test_consume_interrupted(broker, ready_topic, tmp_path):
    topic = ready_topic
    f = write_ndjson(tmp_path / "in.ndjson", [json.dumps(record(1))])
    assert run("-b", broker, "produce", "--topic", topic, "--file", f, timeout=60).returncode == 0
    env = clean_env()
    proc = subprocess.Popen([str(BIN), "-b", broker, "consume", "--topic", topic, "--from-beginning"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    watchdog = threading.Timer(60, proc.kill)  # never hang the suite on readline()
    watchdog.start()
    try:
        # wait for the one message to be printed, then interrupt as Ctrl-C would
        line = proc.stdout.readline()
        assert json.loads(line) == record(1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err


@pytest.mark.broker
def test_aggregate_counts_windows(broker, ready_topic, tmp_path):
    """A small end-to-end check of aggregate's JSON output against counts computed here."""
    topic = ready_topic
    recs = [
        record(1, "2031-07-14T09:01:00", "Zebra Escape", "AAA"),
        record(2, "2031-07-14T09:29:59", "Zebra Escape", "BBB"),
        record(3, "2031-07-14T09:10:00", "Zebra Escape", "AAA"),
        record(4, "2031-07-14T09:15:00", "Loud Tuba", "CCC"),
        record(5, "2031-07-14T09:30:00", "Loud Tuba", "DDD"),  # next window (half-open)
    ]
    f = write_ndjson(tmp_path / "in.ndjson", [json.dumps(r) for r in recs])
    assert run("-b", broker, "produce", "--topic", topic, "--file", f, timeout=60).returncode == 0
    # --watermark 36500d: every record is on time whatever the order of the partitions (the
    # streaming semantics are tested in test_aggregate_stream.py and integration/test_streaming.py).
    p = run("-b", broker, "aggregate", "--topic", topic, "--from-beginning", "--exit-at-end", "--window", "30m",
            "--watermark", "36500d", "--output", "json", timeout=60)
    assert p.returncode == 0, p.stderr
    rows = {(r["window_start"], r["original_crime_type_name"]): r for r in map(json.loads, p.stdout.splitlines())}
    assert set(rows) == {("2031-07-14T09:00:00", "Zebra Escape"), ("2031-07-14T09:00:00", "Loud Tuba"),
                         ("2031-07-14T09:30:00", "Loud Tuba")}
    z = rows[("2031-07-14T09:00:00", "Zebra Escape")]
    assert (z["count"], z["usual_disposition"], z["window_total"], z["window_distinct"]) == (3, "AAA", 4, 2)
    assert z["window_end"] == "2031-07-14T09:30:00"
    late = rows[("2031-07-14T09:30:00", "Loud Tuba")]
    assert (late["count"], late["usual_disposition"], late["window_total"]) == (1, "DDD", 1)
