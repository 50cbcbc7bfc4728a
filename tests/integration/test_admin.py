"""Topic and consumer-group administration (issue 6, item 4) against the real broker.

`sfcrime topic create --dry-run|list|describe|delete|alter-config|add-partitions`, `sfcrime group
list|describe|delete|seek` and `sfcrime inspect group G`, each checked against an independent view:
kcat (-L -J metadata, -Q end offsets, -P to write known counts per partition) and Kafka's own
tools run from the broker's jars (kafka.admin.ConfigCommand for topic configurations,
ConsumerGroupCommand to set and read committed offsets). No figure is copied from sfcrime's own
output: expected values come from what the test wrote or from those tools.

Every topic and group has a fresh uuid name and is deleted at the end.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest
from conftest import BOOTSTRAP, ROOT, integration_helpers, run

_h = integration_helpers()

pytestmark = pytest.mark.broker

UNREACHABLE = "localhost:1"


# ------------------------------------------------------------------------------------ helpers

def fresh(prefix):
    return f"adm-{prefix}-{uuid.uuid4().hex[:10]}"


def sf(*args, timeout=90):
    """`sfcrime -b BROKER ARGS...` (CompletedProcess)."""
    return run("-b", BOOTSTRAP, *args, timeout=timeout)


def ok(p, what=""):
    assert p.returncode == 0, f"{what} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def jars_dir():
    """The broker's jars, which scripts/kafka resolved (SFCRIME_KAFKA_JARS overrides)."""
    jars = pathlib.Path(os.environ.get("SFCRIME_KAFKA_JARS", ROOT / ".kafka" / "jars"))
    assert jars.is_dir(), f"no Kafka jars at {jars} (scripts/kafka up resolves them)"
    return jars


def kafka_tool(*args, timeout=120):
    """Runs one of Kafka's own command-line tools (a main class) from the broker's jars."""
    java = shutil.which("java")
    assert java, "java is not installed: Kafka's tools need it"
    p = subprocess.run([java, "-Xmx160m", "-XX:TieredStopAtLevel=1", "-cp", str(jars_dir() / "*"), *args],
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{args[0]} exited {p.returncode}:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}"
    return p.stdout


def kafka_topic_config(topic):
    """{key: value} of the settings of `topic` itself (source DYNAMIC_TOPIC_CONFIG), from Kafka's
    ConfigCommand --describe (which lists only those)."""
    out = kafka_tool("kafka.admin.ConfigCommand", "--bootstrap-server", BOOTSTRAP, "--entity-type", "topics",
                     "--entity-name", topic, "--describe")
    conf = {}
    for line in out.splitlines():
        m = re.match(r"\s+([A-Za-z0-9._-]+)=(\S*) sensitive=", line)
        if m:
            conf[m.group(1)] = m.group(2)
    return conf


GROUP_TOOL = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


def kafka_group_offsets(group):
    """{(topic, partition): (committed offset or None, log end offset or None)} from Kafka's
    ConsumerGroupCommand --describe."""
    out = kafka_tool(GROUP_TOOL, "--bootstrap-server", BOOTSTRAP, "--describe", "--group", group)
    offsets = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 5 and f[0] == group and f[2].isdigit():
            offsets[(f[1], int(f[2]))] = (None if f[3] == "-" else int(f[3]), None if f[4] == "-" else int(f[4]))
    return offsets


def kafka_set_offset(group, topic, partition, offset):
    """Commits `offset` for `group` on one partition with Kafka's ConsumerGroupCommand."""
    kafka_tool(GROUP_TOOL, "--bootstrap-server", BOOTSTRAP, "--group", group, "--reset-offsets", "--to-offset",
               str(offset), "--topic", f"{topic}:{partition}", "--execute")


def kcat_meta(kcat, topic):
    """kcat's metadata (-L -J) of `topic`: {partition: {"leader", "replicas", "isrs"}}, or None."""
    p = subprocess.run([kcat, "-b", BOOTSTRAP, "-L", "-J", "-t", topic], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    for t in json.loads(p.stdout)["topics"]:
        if t["topic"] == topic and not t.get("error"):
            return {pt["partition"]: {"leader": pt["leader"], "replicas": sorted(r["id"] for r in pt["replicas"]),
                                      "isrs": sorted(r["id"] for r in pt["isrs"])} for pt in t["partitions"]}
    return None


def kcat_topic_names(kcat):
    p = subprocess.run([kcat, "-b", BOOTSTRAP, "-L", "-J"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    return {t["topic"] for t in json.loads(p.stdout)["topics"] if not t.get("error")}


def kcat_end_offsets(kcat, topic, partitions):
    """{partition: high watermark} from kcat -Q (timestamp -1: the end)."""
    q = [kcat, "-b", BOOTSTRAP, "-Q"]
    for i in range(partitions):
        q += ["-t", f"{topic}:{i}:-1"]
    p = subprocess.run(q, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    ends = {}
    for line in p.stdout.splitlines():
        m = re.match(r"\S+ \[(\d+)\] offset (-?\d+)", line)
        if m:
            ends[int(m.group(1))] = int(m.group(2))
    assert len(ends) == partitions, p.stdout
    return ends


def make_topic(kcat, name, partitions, *extra):
    ok(sf("topic", "create", name, "--partitions", partitions, *extra), "topic create")
    _h.wait_topic_ready(kcat, BOOTSTRAP, name, partitions)


def fill(kcat, topic, counts):
    """Writes counts[i] messages to partition i with kcat."""
    for partition, n in enumerate(counts):
        if n:
            _h.kcat_produce_lines(kcat, BOOTSTRAP, topic, partition, [f"m{partition}-{i}" for i in range(n)])


def drop_topics(*names):
    run("-b", BOOTSTRAP, "topic", "delete", *names, "--if-exists", timeout=90)


def drop_group(group):
    run("-b", BOOTSTRAP, "group", "delete", group, timeout=90)


def table(text):
    """The rows of the first table in `text` whose header starts with 'TOPIC' or 'PARTITION', as
    dicts keyed by the header's words."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(("TOPIC ", "PARTITION ")):
            head = line.split()
            rows = []
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                cells = row.split()
                assert len(cells) == len(head), f"row {row!r} does not match header {head}"
                rows.append(dict(zip(head, cells)))
            return rows
    raise AssertionError(f"no table in:\n{text}")


def section(text, name):
    """The lines of section NAME (a heading underlined with '=') of `topic describe`'s table output."""
    lines = text.splitlines()
    assert name in lines, f"no section {name} in:\n{text}"
    start = lines.index(name) + 2
    out = []
    for line in lines[start:]:
        if not line.strip():
            break
        out.append(line)
    return out


def number(cell):
    return None if cell == "-" else int(cell)


# ------------------------------------------------------------------------------------ topics

def test_create_dry_run_creates_nothing(broker, kcat):
    name = fresh("dry")
    try:
        p = ok(sf("topic", "create", name, "--partitions", "3", "--config", "retention.ms=3600000", "--dry-run"),
               "topic create --dry-run")
        assert "nothing was created" in p.stderr and f"'{name}'" in p.stderr, p.stderr
        p = ok(sf("topic", "create", name, "-p", "2", "--dry-run", "-o", "json"), "dry run json")
        doc = json.loads(p.stdout)
        assert doc["dry_run"] is True and doc["created"] is False and doc["name"] == name
        time.sleep(1)  # a topic created by mistake would show in the metadata by now
        assert name not in kcat_topic_names(kcat)
        listed = ok(sf("topic", "list", "-o", "json"), "topic list").stdout
        assert name not in [t["name"] for t in json.loads(listed)["topics"]]
        # The broker validates: what a real creation would refuse, the dry run refuses too.
        p = sf("topic", "create", name, "--dry-run", "--config", "no.such.topic.setting=1")
        assert p.returncode == 1, p.stderr
        assert p.stderr.startswith("sfcrime: error:") and f"'{name}'" in p.stderr
        p = sf("topic", "create", name, "--dry-run", "--replication-factor", "3")
        n_brokers = len(json.loads(ok(sf("inspect", "-o", "json")).stdout)["brokers"])
        assert p.returncode == (0 if n_brokers >= 3 else 1), p.stderr
        assert name not in kcat_topic_names(kcat)
        # The real creation still works, and a dry run of an existing topic says it exists.
        make_topic(kcat, name, 2)
        p = sf("topic", "create", name, "--dry-run")
        assert p.returncode == 1 and "already exists" in p.stderr, p.stderr
        ok(sf("topic", "create", name, "--dry-run", "--if-not-exists"), "dry run --if-not-exists")
    finally:
        drop_topics(name)


def test_list_has_a_header_and_json_with_the_same_figures(broker, kcat):
    name = fresh("list")
    try:
        make_topic(kcat, name, 4)
        text = ok(sf("topic", "list"), "topic list").stdout
        lines = text.splitlines()
        assert lines[0].split("\t") == ["NAME", "PARTITIONS", "REPLICAS"], lines[0]
        rows = {r[0]: r[1:] for r in (line.split("\t") for line in lines[1:])}
        meta = kcat_meta(kcat, name)
        assert rows[name] == [str(len(meta)), str(len(meta[0]["replicas"]))]
        doc = json.loads(ok(sf("topic", "list", "--output", "json"), "topic list json").stdout)
        mine = [t for t in doc["topics"] if t["name"] == name]
        assert mine == [{"name": name, "partitions": len(meta), "replicas": len(meta[0]["replicas"])}]
        assert sorted(t["name"] for t in doc["topics"]) == sorted(rows), "table and JSON list other topics"
        assert not any(n.startswith("__") for n in rows)
        assert "__consumer_offsets" in ok(sf("topic", "list", "--all"), "list --all").stdout or \
            "__consumer_offsets" not in kcat_topic_names(kcat)
    finally:
        drop_topics(name)


def test_describe_shows_summary_configs_and_partitions(broker, kcat):
    name = fresh("desc")
    counts = [3, 0, 5]
    try:
        make_topic(kcat, name, 3, "--config", "retention.ms=123456789", "--config", "max.message.bytes=200000")
        fill(kcat, name, counts)
        ends = kcat_end_offsets(kcat, name, 3)
        assert [ends[i] for i in range(3)] == counts
        meta = kcat_meta(kcat, name)
        own = kafka_topic_config(name)
        assert own == {"retention.ms": "123456789", "max.message.bytes": "200000"}, own

        doc = json.loads(ok(sf("topic", "describe", name, "-o", "json"), "describe json").stdout)
        assert doc["name"] == name and doc["messages"] == sum(counts)
        assert doc["replication_factor"] == len(meta[0]["replicas"])
        parts = {p["partition"]: p for p in doc["partitions"]}
        assert sorted(parts) == [0, 1, 2]
        for i in range(3):
            assert parts[i]["leader"] == meta[i]["leader"]
            assert sorted(parts[i]["replicas"]) == meta[i]["replicas"]
            assert sorted(parts[i]["isr"]) == meta[i]["isrs"]
            assert (parts[i]["low"], parts[i]["high"], parts[i]["messages"]) == (0, ends[i], ends[i])
        configs = {c["name"]: c for c in doc["configs"]}
        dynamic = {k: c["value"] for k, c in configs.items() if c["source"] == "DYNAMIC_TOPIC_CONFIG"}
        assert dynamic == own
        assert configs["cleanup.policy"]["source"] != "DYNAMIC_TOPIC_CONFIG"
        assert all(c["value"] is None for c in doc["configs"] if c["sensitive"])

        # Table: all three sections by default, with the same figures.
        text = ok(sf("topic", "describe", name), "describe").stdout
        summary = dict(line.split(None, 1) for line in section(text, "SUMMARY"))
        assert summary["NAME"] == name and summary["PARTITIONS"] == "3" and summary["MESSAGES"] == str(sum(counts))
        conf_rows = [line.split() for line in section(text, "CONFIGS")]
        assert conf_rows[0] == ["KEY", "VALUE", "SOURCE", "READ-ONLY", "SENSITIVE"]
        conf_table = {r[0]: r for r in conf_rows[1:]}
        assert conf_table["retention.ms"][1:3] == ["123456789", "DYNAMIC_TOPIC_CONFIG"]
        assert set(conf_table) == set(configs)
        rows = table("\n".join(section(text, "PARTITIONS")))
        assert [(int(r["PARTITION"]), int(r["LOG-START-OFFSET"]), int(r["HIGH-WATERMARK"]), int(r["MESSAGES"]))
                for r in rows] == [(i, 0, ends[i], ends[i]) for i in range(3)]
        assert [int(r["LEADER"]) for r in rows] == [meta[i]["leader"] for i in range(3)]

        # One section each with rpk's options.
        only_configs = ok(sf("topic", "describe", name, "--print-configs"), "-c").stdout
        assert "CONFIGS" in only_configs.splitlines() and "PARTITIONS" not in only_configs.splitlines()
        assert "SUMMARY" not in only_configs.splitlines()
        only_parts = ok(sf("topic", "describe", name, "-p"), "-p").stdout.splitlines()
        assert "PARTITIONS" in only_parts and "CONFIGS" not in only_parts
        both = ok(sf("topic", "describe", name, "-s", "-p"), "-s -p").stdout.splitlines()
        assert "SUMMARY" in both and "PARTITIONS" in both and "CONFIGS" not in both
    finally:
        drop_topics(name)


@pytest.mark.parametrize("words", [["topic", "describe", "{t}"], ["topic", "alter-config", "{t}", "--set", "retention.ms=1"],
                                   ["topic", "add-partitions", "{t}", "--num", "1"], ["topic", "delete", "{t}"]],
                         ids=lambda w: " ".join(w[:2]))
def test_missing_topic_is_exit_66(broker, words):
    name = fresh("missing")
    p = sf(*[name if w == "{t}" else w for w in words])
    assert p.returncode == 66, p.stderr
    assert f"'{name}'" in p.stderr and p.stderr.startswith("sfcrime: error:"), p.stderr


def test_missing_topic_is_one_sentence(broker):
    """Whichever command finds the topic missing (metadata or an Admin API answer), the words are
    the same: one helper writes them."""
    name = fresh("missing")
    sentence = (f"sfcrime: error: topic '{name}' does not exist on '{BOOTSTRAP}' (sfcrime topic list shows the "
                f"topics; sfcrime topic create {name} makes one)\n")
    for words in (["topic", "describe", name], ["topic", "alter-config", name, "--set", "retention.ms=1"],
                  ["topic", "add-partitions", name, "--num", "1"], ["consume", "-t", name, "-e"],
                  ["inspect", "--topic", name]):
        p = sf(*words)
        assert p.returncode == 66, (words, p.stderr)
        assert p.stderr == sentence, (words, p.stderr)


def test_alter_config_keeps_the_other_settings(broker, kcat):
    """Setting or deleting one key (IncrementalAlterConfigs) leaves the others as they were."""
    name = fresh("alter")
    try:
        make_topic(kcat, name, 1, "--config", "retention.ms=123456789")
        p = ok(sf("topic", "alter-config", name, "--set", "segment.ms=3600000", "--set", "cleanup.policy=compact"),
               "alter-config --set")
        assert kafka_topic_config(name) == {"retention.ms": "123456789", "segment.ms": "3600000",
                                            "cleanup.policy": "compact"}
        rows = {r[0]: r[1:] for r in (line.split() for line in p.stdout.splitlines()[1:])}
        assert rows == {"segment.ms": ["-", "3600000"], "cleanup.policy": ["-", "compact"]}, p.stdout

        # --delete reverts one key to its default; the others stay.
        p = ok(sf("topic", "alter-config", name, "-d", "segment.ms", "-o", "json"), "alter-config --delete")
        assert json.loads(p.stdout)["changes"] == [{"key": "segment.ms", "old": "3600000", "new": None}]
        assert kafka_topic_config(name) == {"retention.ms": "123456789", "cleanup.policy": "compact"}

        # --dry-run: the broker validates, nothing changes.
        p = ok(sf("topic", "alter-config", name, "--set", "retention.ms=1000", "--dry-run"), "dry run")
        assert "nothing was changed" in p.stderr
        assert kafka_topic_config(name) == {"retention.ms": "123456789", "cleanup.policy": "compact"}

        # The broker's refusals: exit 1 with its reason; nothing changes.
        p = sf("topic", "alter-config", name, "--set", "retention.ms=abc")
        assert p.returncode == 1 and "retention.ms" in p.stderr, p.stderr
        p = sf("topic", "alter-config", name, "--set", "no.such.topic.setting=1")
        assert p.returncode == 1 and "no.such.topic.setting" in p.stderr, p.stderr
        assert kafka_topic_config(name) == {"retention.ms": "123456789", "cleanup.policy": "compact"}

        # What describe shows agrees.
        doc = json.loads(ok(sf("topic", "describe", name, "-o", "json")).stdout)
        assert {c["name"]: c["value"] for c in doc["configs"] if c["source"] == "DYNAMIC_TOPIC_CONFIG"} == \
            {"retention.ms": "123456789", "cleanup.policy": "compact"}
    finally:
        drop_topics(name)


@pytest.mark.parametrize("args", [[], ["--set", "retention.ms"], ["--set", "=1"], ["--delete", "a=b"],
                                  ["--set", "a=1", "--delete", "a"], ["--set", "a=1", "-o", "csv"]],
                         ids=lambda a: " ".join(a) or "nothing")
def test_alter_config_usage_errors(sfcrime_bin, args):
    p = run("-b", UNREACHABLE, "--timeout", "1s", "topic", "alter-config", "t", *args, timeout=30)
    assert p.returncode == 64, p.stderr


def test_add_partitions(broker, kcat):
    name = fresh("parts")
    try:
        make_topic(kcat, name, 2)
        p = ok(sf("topic", "add-partitions", name, "--num", "3", "--dry-run"), "add-partitions --dry-run")
        assert "nothing was changed" in p.stderr
        assert len(kcat_meta(kcat, name)) == 2
        p = ok(sf("topic", "add-partitions", name, "-n", "3", "-o", "json"), "add-partitions")
        assert json.loads(p.stdout) == {"name": name, "before": 2, "after": 5, "dry_run": False}
        assert len(kcat_meta(kcat, name)) == 5
        assert sf("topic", "add-partitions", name, "--num", "0").returncode == 64
    finally:
        drop_topics(name)


def test_topic_produce_and_consume_are_rpks_names(broker, kcat):
    """`topic produce T` and `topic consume T` (rpk's words) are `produce --topic T` and
    `consume --topic T`; T may also be produce's and consume's first bare word. Checked with kcat:
    what `topic produce` sent is there, and `topic consume` prints exactly what kcat reads."""
    name = fresh("alias")
    records = [{"crime_id": f"id-{i}", "call_date_time": f"2018-10-01T00:{i:02d}:00", "n": str(i)} for i in range(7)]
    lines = "".join(json.dumps(r) + "\n" for r in records)
    try:
        make_topic(kcat, name, 2)
        p = ok(run("-b", BOOTSTRAP, "topic", "produce", name, input=lines, timeout=90), "topic produce")
        assert "7 read, 7 sent" in p.stderr
        ok(run("-b", BOOTSTRAP, "produce", name, "--limit", "2", input=lines, timeout=90), "produce TOPIC")
        sent = sorted(m["payload"] for m in _h.kcat_read(kcat, BOOTSTRAP, name))
        assert sent == sorted([json.dumps(r, separators=(",", ":")) for r in records] +
                              [json.dumps(r, separators=(",", ":")) for r in records[:2]])
        for words in (["topic", "consume", name], ["consume", name], ["consume", "--topic", name]):
            p = ok(sf(*words, "-o", "beginning", "-e"), " ".join(words))
            assert sorted(p.stdout.splitlines()) == sent, words
        p = sf("consume", name, "--topic", name, "-e")
        assert p.returncode == 64 and "--topic" in p.stderr, p.stderr
        p = ok(sf("topic", "consume", "--help"))
        assert p.stdout.startswith("usage: sfcrime consume")
    finally:
        drop_topics(name)


def test_delete_several_topics(broker, kcat):
    a, b, missing = fresh("del"), fresh("del"), fresh("missing")
    try:
        make_topic(kcat, a, 1)
        make_topic(kcat, b, 1)
        p = sf("topic", "delete", a, missing, b, "-o", "json")
        assert p.returncode == 66, p.stderr
        results = json.loads(p.stdout)["topics"]
        assert [(r["name"], r["deleted"]) for r in results] == [(a, True), (missing, False), (b, True)]
        assert results[1]["error"] and missing in results[1]["error"]
        assert f"'{missing}'" in p.stderr
        deadline = time.monotonic() + 30
        while {a, b} & kcat_topic_names(kcat) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not {a, b} & kcat_topic_names(kcat)
        p = ok(sf("topic", "delete", a, missing, "--if-exists"), "delete --if-exists")
    finally:
        drop_topics(a, b)


# ------------------------------------------------------------------------------------ groups

def described(group, *extra):
    doc = json.loads(ok(sf("group", "describe", group, "-o", "json", *extra), "group describe").stdout)
    (g,) = doc["groups"]
    return g


def test_group_describe_offsets_and_lag(broker, kcat):
    """Known commits set by Kafka's own tool; end offsets from kcat; lag = end - committed, and
    end - start for a partition without a commit (rpk's rule)."""
    topic, group = fresh("lag"), fresh("grp")
    counts = [4, 7, 10]
    try:
        make_topic(kcat, topic, 3)
        fill(kcat, topic, counts)
        ends = kcat_end_offsets(kcat, topic, 3)
        kafka_set_offset(group, topic, 0, 1)
        kafka_set_offset(group, topic, 1, 5)
        committed = {0: 1, 1: 5, 2: None}
        theirs = kafka_group_offsets(group)
        assert {p: theirs[(topic, p)][0] for p in (0, 1)} == {0: 1, 1: 5}

        g = described(group)
        assert g["group"] == group and g["state"] == "Empty" and g["members"] == []
        rows = {r["partition"]: r for r in g["partitions"] if r["topic"] == topic}
        assert sorted(rows) == [0, 1, 2], g
        expected_lag = {p: ends[p] - (committed[p] if committed[p] is not None else 0) for p in range(3)}
        for p in range(3):
            assert rows[p]["committed"] == committed[p]
            assert (rows[p]["log_start"], rows[p]["log_end"]) == (0, ends[p])
            assert rows[p]["lag"] == expected_lag[p]
            assert rows[p]["member_id"] is None
        assert g["total_lag"] == sum(expected_lag.values())
        # The end offsets agree with Kafka's own tool where it shows them.
        for (t, p), (_, end) in theirs.items():
            if t == topic and end is not None:
                assert rows[p]["log_end"] == end

        # The table holds the same figures.
        text = ok(sf("group", "describe", group), "group describe table").stdout
        summary = dict(line.split(None, 1) for line in text.split("\n\n")[0].splitlines())
        assert summary["GROUP"] == group and summary["STATE"] == "Empty" and summary["MEMBERS"] == "0"
        assert summary["TOTAL-LAG"] == str(sum(expected_lag.values()))
        trows = {int(r["PARTITION"]): r for r in table(text)}
        for p in range(3):
            assert number(trows[p]["CURRENT-OFFSET"]) == committed[p]
            assert int(trows[p]["LOG-END-OFFSET"]) == ends[p] and int(trows[p]["LAG"]) == expected_lag[p]
            assert trows[p]["MEMBER-ID"] == "-"
        assert "TOPIC" not in ok(sf("group", "describe", group, "--print-summary")).stdout
        assert "TOTAL-LAG" not in ok(sf("group", "describe", group, "--print-commits")).stdout

        # `inspect group G` is the same command.
        assert json.loads(ok(sf("inspect", "group", group, "-o", "json")).stdout)["groups"] == [g]
        assert json.loads(ok(sf("inspect", "-o", "json", "group", group)).stdout)["groups"] == [g]

        # group list shows it.
        listed = json.loads(ok(sf("group", "list", "-o", "json"), "group list").stdout)["groups"]
        assert {"group": group, "state": "Empty", "type": "consumer"} in listed or \
            {"group": group, "state": "Empty", "type": "simple"} in listed, listed
        lines = ok(sf("group", "list")).stdout.splitlines()
        assert lines[0].split() == ["GROUP", "STATE", "TYPE"]
        assert any(line.split()[:2] == [group, "Empty"] for line in lines[1:])
    finally:
        drop_group(group)
        drop_topics(topic)


def test_group_describe_after_sfcrime_consume(broker, kcat):
    """A group that `sfcrime consume --group` committed: the committed offsets add up to what it read."""
    topic, group = fresh("cons"), fresh("grp")
    counts = [6, 2, 9]
    try:
        make_topic(kcat, topic, 3)
        fill(kcat, topic, counts)
        p = ok(sf("consume", "--topic", topic, "--group", group, "--from-beginning", "--max-messages", "8",
                  timeout=120), "consume --group")
        read = len(p.stdout.splitlines())
        assert read == 8
        g = described(group)
        theirs = kafka_group_offsets(group)
        rows = {r["partition"]: r for r in g["partitions"]}
        assert sorted(rows) == [0, 1, 2]
        for p_ in range(3):
            assert rows[p_]["committed"] == theirs.get((topic, p_), (None, None))[0]
        assert sum(r["committed"] or 0 for r in rows.values()) == read
        assert g["total_lag"] == sum(counts) - read
    finally:
        drop_group(group)
        drop_topics(topic)


def test_group_with_a_member(broker, kcat):
    """A live member (kcat -G): describe shows it on every partition; delete and seek are refused."""
    topic, group = fresh("live"), fresh("grp")
    member = None
    try:
        make_topic(kcat, topic, 3)
        fill(kcat, topic, [1, 1, 1])
        member = subprocess.Popen([kcat, "-b", BOOTSTRAP, "-G", group, "-q", topic], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        g = None
        while time.monotonic() < deadline:
            g = described(group) if sf("group", "describe", group).returncode == 0 else None
            if g and g["state"] == "Stable" and g["members"] and g["members"][0]["assignment"]:
                break
            time.sleep(1)
        assert g and g["state"] == "Stable", g
        (m,) = g["members"]
        assert sorted(a["partition"] for a in m["assignment"] if a["topic"] == topic) == [0, 1, 2]
        assert g["balancer"]
        assert all(r["member_id"] == m["member_id"] and r["client_id"] == m["client_id"]
                   for r in g["partitions"] if r["topic"] == topic)

        p = sf("group", "delete", group)
        assert p.returncode == 1, p.stderr
        assert "NON_EMPTY_GROUP" in p.stderr and f"'{group}'" in p.stderr
        p = sf("group", "seek", group, "--to", "start")
        assert p.returncode == 1 and "member" in p.stderr, p.stderr
    finally:
        if member:
            member.send_signal(signal.SIGTERM)
            try:
                member.wait(timeout=30)
            except subprocess.TimeoutExpired:
                member.kill()
                member.wait()
        deadline = time.monotonic() + 60
        while run("-b", BOOTSTRAP, "group", "delete", group, timeout=60).returncode == 1 and \
                time.monotonic() < deadline:
            time.sleep(1)
        drop_topics(topic)


def test_group_seek(broker, kcat):
    topic, other, group = fresh("seek"), fresh("seek"), fresh("grp")
    counts = [5, 3]
    try:
        make_topic(kcat, topic, 2)
        make_topic(kcat, other, 1)
        fill(kcat, topic, counts)
        ends = kcat_end_offsets(kcat, topic, 2)
        kafka_set_offset(group, topic, 0, 2)

        # Dry run: shows the offsets, commits nothing.
        p = ok(sf("group", "seek", group, "--to", "end", "--dry-run", "-o", "json"), "seek --dry-run")
        doc = json.loads(p.stdout)
        assert doc["dry_run"] is True
        assert {(o["partition"], o["prior"], o["offset"]) for o in doc["offsets"]} == \
            {(0, 2, ends[0]), (1, None, ends[1])}
        theirs = kafka_group_offsets(group)
        assert theirs[(topic, 0)][0] == 2 and theirs.get((topic, 1), (None,))[0] is None

        ok(sf("group", "seek", group, "--to", "end"), "seek --to end")
        theirs = kafka_group_offsets(group)
        assert {p_: theirs[(topic, p_)][0] for p_ in range(2)} == {0: ends[0], 1: ends[1]}

        # An OFFSET is clamped to each partition's end, as kafka-consumer-groups.sh does.
        ok(sf("group", "seek", group, "--to", "4"), "seek --to 4")
        theirs = kafka_group_offsets(group)
        assert {p_: theirs[(topic, p_)][0] for p_ in range(2)} == {0: min(4, ends[0]), 1: min(4, ends[1])}

        ok(sf("group", "seek", group, "--to", "start"), "seek --to start")
        theirs = kafka_group_offsets(group)
        assert {p_: theirs[(topic, p_)][0] for p_ in range(2)} == {0: 0, 1: 0}

        # By time: kcat wrote the records just now; a time far ahead is the end, the epoch the start.
        ok(sf("group", "seek", group, "--to", "@%d" % ((time.time() + 86400) * 1000)), "seek --to @future")
        theirs = kafka_group_offsets(group)
        assert {p_: theirs[(topic, p_)][0] for p_ in range(2)} == {0: ends[0], 1: ends[1]}
        ok(sf("group", "seek", group, "--to", "@0"), "seek --to @0")
        theirs = kafka_group_offsets(group)
        assert {p_: theirs[(topic, p_)][0] for p_ in range(2)} == {0: 0, 1: 0}

        # --topics: a topic without offsets needs --allow-new-topics.
        p = sf("group", "seek", group, "--to", "end", "--topics", other)
        assert p.returncode == 64 and "--allow-new-topics" in p.stderr, p.stderr
        ok(sf("group", "seek", group, "--to", "end", "--topics", other, "--allow-new-topics"), "allow new")
        theirs = kafka_group_offsets(group)
        assert theirs[(other, 0)][0] == 0 and theirs[(topic, 0)][0] == 0

        assert sf("group", "seek", group, "--to", "middle").returncode == 64
        assert sf("group", "seek", fresh("nogroup"), "--to", "end").returncode == 66
    finally:
        drop_group(group)
        drop_topics(topic, other)


@pytest.mark.parametrize("words", [["group", "describe", "{g}"], ["inspect", "group", "{g}"], ["group", "delete", "{g}"]],
                         ids=lambda w: " ".join(w[:2]))
def test_missing_group_is_exit_66(broker, words):
    group = fresh("nogroup")
    p = sf(*[group if w == "{g}" else w for w in words])
    assert p.returncode == 66, p.stderr
    assert f"consumer group '{group}' does not exist" in p.stderr, p.stderr


def test_group_delete_several(broker, kcat):
    topic, g1, g2, missing = fresh("gdel"), fresh("grp"), fresh("grp"), fresh("nogroup")
    try:
        make_topic(kcat, topic, 1)
        fill(kcat, topic, [2])
        kafka_set_offset(g1, topic, 0, 1)
        kafka_set_offset(g2, topic, 0, 2)
        p = sf("group", "delete", g1, missing, g2, "-o", "json")
        assert p.returncode == 66, p.stderr
        assert [(r["group"], r["deleted"]) for r in json.loads(p.stdout)["groups"]] == \
            [(g1, True), (missing, False), (g2, True)]
        listed = {g["group"] for g in json.loads(ok(sf("group", "list", "-o", "json")).stdout)["groups"]}
        assert not {g1, g2} & listed
    finally:
        drop_group(g1)
        drop_group(g2)
        drop_topics(topic)


@pytest.mark.parametrize("words", [["group", "list"], ["group", "describe", "g"], ["group", "delete", "g"],
                                   ["group", "seek", "g", "--to", "end"], ["inspect", "group", "g"],
                                   ["topic", "alter-config", "t", "--set", "a=b"],
                                   ["topic", "add-partitions", "t", "--num", "1"],
                                   ["topic", "create", "t", "--dry-run"]],
                         ids=lambda w: " ".join(w[:2]))
def test_unreachable_broker(sfcrime_bin, words):
    start = time.monotonic()
    p = run("-b", UNREACHABLE, "--timeout", "2s", *words, timeout=30)
    assert p.returncode == 69, p.stderr
    assert f"cannot reach broker '{UNREACHABLE}'" in p.stderr and "waited for" in p.stderr, p.stderr
    assert time.monotonic() - start < 10


def test_group_usage_errors(sfcrime_bin):
    assert run("group", timeout=20).returncode == 64
    p = run("group", "descrbe", "g", timeout=20)
    assert p.returncode == 64 and "did you mean 'describe'" in p.stderr
    assert run("-b", UNREACHABLE, "group", "describe", timeout=20).returncode == 64
    assert run("-b", UNREACHABLE, "group", "describe", "g", "-s", "-c", timeout=20).returncode == 64
    assert run("-b", UNREACHABLE, "inspect", "frobnicate", timeout=20).returncode == 64
    p = run("group", "--help", timeout=20)
    assert p.returncode == 0 and {"list", "describe", "delete", "seek"} <= set(
        re.findall(r"^  ([a-z-]+)\s{2,}", p.stdout, re.M))
