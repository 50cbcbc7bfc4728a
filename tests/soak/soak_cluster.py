"""Helpers for the broker-fault tests: a throwaway Kafka cluster brought up with scripts/kafka in a
folder of its own under the system's temporary folder and on ports of its own (never the shared
broker, $SFCRIME_TEST_BOOTSTRAP (the broker scripts/test brought up), which the tests must not touch), and what the tests read of it with
kcat and Kafka's own tools.

Loaded by path under one module name (sfcrime_soak_cluster) by tests/soak/test_cluster.py and
tests/integration/test_security.py, so both share one module object (and FIGURES). (No conftest.py
in tests/soak: a second conftest module would shadow tests/conftest.py for the tests that do
`from conftest import run`.)
"""
import hashlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

from conftest import clean_env

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "scripts" / "kafka"
POM = ROOT / "scripts" / "kafka-pom.xml"

# Lines the tests want shown at the end of the pytest run, in the terminal summary, whatever
# pytest's output capture (see show_figures).
FIGURES = []


def figure(line):
    """Records one line for the terminal summary (and prints it, for -s runs)."""
    FIGURES.append(line)
    print(line)


class _FiguresPlugin:
    def pytest_terminal_summary(self, terminalreporter):
        if FIGURES:
            terminalreporter.section("broker-fault and security figures")
            for line in FIGURES:
                terminalreporter.write_line(line)


def show_figures(config):
    """Makes pytest print FIGURES at the end of the run (call from a fixture: request.config)."""
    if not config.pluginmanager.has_plugin("sfcrime-figures"):
        config.pluginmanager.register(_FiguresPlugin(), "sfcrime-figures")


def jars_dir(version=None):
    """The folder of the broker's jars for scripts/kafka (SFCRIME_KAFKA_JARS).

    The repo's own .kafka/jars when they were resolved for the current scripts/kafka-pom.xml (the
    usual case: scripts/test brought the shared broker up first); otherwise a cache of our own in
    the temporary folder, which scripts/kafka fills with Maven. Never a stale shared folder:
    scripts/kafka would wipe and re-resolve it under the running shared broker.

    With `version`, a Kafka release other than the pom's (SFCRIME_KAFKA_VERSION): the repo's
    .kafka/jars-<version>, where scripts/kafka keeps that release's jars (resolving them when
    missing or stale) for the next runs; the shared broker never runs from it.
    """
    if version:
        return ROOT / ".kafka" / ("jars-" + version)
    want = hashlib.sha256(POM.read_bytes()).hexdigest()
    shared = ROOT / ".kafka" / "jars"
    stamp = shared / ".pom.sha256"
    if stamp.exists() and stamp.read_text().strip() == want:
        return shared
    return pathlib.Path(tempfile.gettempdir()) / ("sfcrime-kafka-jars-" + want[:12])


def port_in_use(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def script_env(state_dir, port, extra=None):
    """os.environ without SFCRIME_* variables, plus what scripts/kafka needs for this instance.

    A throwaway broker need not stop cleanly: `down` waits 3 s, then kills (SIGKILL)."""
    e = clean_env()
    e.update({"SFCRIME_KAFKA_DIR": str(state_dir), "SFCRIME_KAFKA_PORT": str(port),
              "SFCRIME_KAFKA_JARS": str(jars_dir()), "SFCRIME_KAFKA_STOP_WAIT": "3"})
    if extra:
        e.update(extra)
    return e


def run_script(env, *args, timeout=240, check=True):
    """Runs scripts/kafka ARGS with `env`; returns CompletedProcess (stderr holds its messages)."""
    p = subprocess.run([str(SCRIPT), *map(str, args)], env=env, capture_output=True, text=True,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("scripts/kafka %s exited %d:\n%s%s" % (
            " ".join(map(str, args)), p.returncode, p.stdout, p.stderr))
    return p


def kcat_metadata(kcat, bootstrap, topic=None, timeout=30):
    """kcat -L -J (of one topic, or all) as a dict, or None when no broker answered."""
    cmd = [kcat, "-b", bootstrap, "-L", "-J", "-m", "5"]
    if topic:
        cmd += ["-t", topic]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)


class Cluster:
    """A KRaft cluster of `nodes` combined broker+controller nodes run by scripts/kafka.

    Node i (1-based) listens on localhost:port+2(i-1) (controller: +1). State in `state_dir`,
    removed by down(). Use as a context manager, or call up() and down() (down() is safe to call
    twice, and after a failed up()).
    """

    def __init__(self, state_dir, port, nodes=3, kcat="kcat", properties=None):
        """`properties`: extra broker settings {key: value} for every node
        (SFCRIME_KAFKA_PROPERTIES)."""
        self.state_dir = pathlib.Path(state_dir)
        self.port = port
        self.nodes = nodes
        self.kcat = kcat
        extra = {}
        if properties:
            extra["SFCRIME_KAFKA_PROPERTIES"] = "\n".join(
                "%s=%s" % kv for kv in sorted(properties.items()))
        self.env = script_env(self.state_dir, port, extra)
        self.bootstrap = ",".join("localhost:%d" % self.node_port(i) for i in self.node_ids())

    def node_ids(self):
        return list(range(1, self.nodes + 1))

    def node_port(self, node):
        return self.port + 2 * (node - 1)

    def up(self):
        # Left over from an interrupted run of this very test (same folder): stop what it started.
        if self.state_dir.exists():
            run_script(self.env, "down", check=False, timeout=120)
            shutil.rmtree(self.state_dir, ignore_errors=True)
        taken = [p for i in self.node_ids() for p in (self.node_port(i), self.node_port(i) + 1)
                 if port_in_use(p)]
        assert not taken, "ports %r are in use: the cluster test needs them free" % taken
        t0 = time.monotonic()
        run_script(self.env, "up", "--nodes", self.nodes, timeout=300)
        return time.monotonic() - t0

    def down(self):
        if self.state_dir.exists():
            run_script(self.env, "down", check=False, timeout=120)
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()

    def stop_node(self, node):
        """SIGKILL node `node` (scripts/kafka stop-node)."""
        run_script(self.env, "stop-node", node, timeout=60)

    def start_node(self, node):
        """Starts node `node` again and waits until it answers (scripts/kafka start-node);
        returns the seconds that took."""
        t0 = time.monotonic()
        run_script(self.env, "start-node", node, timeout=200)
        return time.monotonic() - t0

    def start_node_async(self, node):
        """scripts/kafka start-node as a Popen (the caller waits for it)."""
        return subprocess.Popen([str(SCRIPT), "start-node", str(node)], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def log_tail(self, lines=40):
        return run_script(self.env, "logs", lines, check=False).stdout

    def metadata(self, topic=None):
        return kcat_metadata(self.kcat, self.bootstrap, topic)

    def partitions(self, topic):
        """[{partition, leader, replicas: [ids], isr: [ids]}] of `topic` (kcat's view)."""
        md = self.metadata(topic)
        assert md is not None, "no broker of %s answered" % self.bootstrap
        out = []
        for t in md.get("topics", []):
            if t.get("topic") != topic:
                continue
            for p in t.get("partitions", []):
                out.append({"partition": p["partition"], "leader": p.get("leader", -1),
                            "replicas": [r["id"] for r in p.get("replicas", [])],
                            "isr": [r["id"] for r in p.get("isrs", [])]})
        return sorted(out, key=lambda p: p["partition"])

    def leaders(self, topic):
        """{node: number of partitions of `topic` it leads}."""
        counts = {i: 0 for i in self.node_ids()}
        for p in self.partitions(topic):
            if p["leader"] in counts:
                counts[p["leader"]] += 1
        return counts

    def wait_full_isr(self, timeout=120):
        """Waits until every partition of every topic (the internal ones too) has a leader and
        all its replicas in sync; returns the seconds waited."""
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < timeout:
            md = self.metadata()
            if md is not None and len(md.get("brokers", [])) == self.nodes:
                lagging = [(t["topic"], p["partition"]) for t in md.get("topics", [])
                           for p in t.get("partitions", [])
                           if p.get("leader", -1) < 0
                           or len(p.get("isrs", [])) < len(p.get("replicas", []))]
                if not lagging:
                    return time.monotonic() - t0
                last = lagging[:5]
            time.sleep(0.5)
        raise AssertionError("replicas not all in sync after %d s (e.g. %r)\n%s" % (
            timeout, last, self.log_tail()))

    def high_watermarks(self, topic, partitions):
        """The sum of the high watermarks of `topic`'s partitions (kcat -Q), or None if some
        partition did not answer (its leader is down)."""
        cmd = [self.kcat, "-b", self.bootstrap, "-Q", "-J", "-m", "2"]
        for i in range(partitions):
            cmd += ["-t", "%s:%d:-1" % (topic, i)]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=10)
        except subprocess.TimeoutExpired:
            return None
        if p.returncode != 0:
            return None
        try:
            doc = json.loads(p.stdout)[topic]
            offsets = [doc[str(i)]["offset"] for i in range(partitions)]
        except (ValueError, KeyError):
            return None
        if any(o is None or o < 0 for o in offsets):
            return None
        return sum(offsets)

    def quorum_leader(self):
        """The node id of the active KRaft controller (Kafka's MetadataQuorumCommand), or None."""
        java = shutil.which("java")
        if not java:
            return None
        try:
            p = subprocess.run(
                [java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", str(jars_dir() / "*"),
                 "org.apache.kafka.tools.MetadataQuorumCommand", "--bootstrap-server",
                 self.bootstrap, "describe", "--status"],
                capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return None
        for line in p.stdout.splitlines():
            if line.startswith("LeaderId:"):
                return int(line.split(":", 1)[1])
        return None


def java_string_hash(s):
    """Java's String.hashCode (UTF-16 code units), as a signed 32-bit int."""
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def group_coordinator(cluster, group):
    """The node that coordinates consumer group `group`: the leader of its __consumer_offsets
    partition, (hashCode(group) & 0x7fffffff) % partitions, as Kafka's GroupCoordinator places it;
    None while that topic or its leader is unknown."""
    parts = cluster.partitions("__consumer_offsets")
    if not parts:
        return None
    p = (java_string_hash(group) & 0x7FFFFFFF) % len(parts)
    leader = parts[p]["leader"]
    return leader if leader >= 0 else None
