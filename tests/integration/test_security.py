"""Issue 4 item 8: SASL over TLS to a real broker through -X properties (and a --config file), and
no secret ever printed.

A broker of the test's own (scripts/kafka up --sasl-ssl-port, in a temporary folder; never the
shared broker of scripts/test), Kafka of scripts/kafka-pom.xml (4.x), on localhost:19292 (PLAINTEXT),
19293 (controller) and 19294 (SASL_SSL: SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN, client certificates
required), from the jars scripts/test resolved for the shared broker.

The test makes a CA, the broker's certificate (for localhost, its key encrypted) and a client
certificate (its key encrypted: ssl.key.password) with openssl; the SCRAM credentials are created
when the broker's storage is formatted (kafka-storage format --add-scram). Every password is random
and distinct.

  - test_commands_through_sasl_ssl[mechanism-via]: topic create, produce, consume, aggregate,
    inspect, topic list/describe/delete through SASL_SSL given by -X flags or by a --config file;
    what is read back equals what was sent, the aggregate equals tests/oracle.py.
  - test_wrong_password_fails_clearly[mechanism]: a wrong password: an error on stderr, an exit
    status documented in man/sfcrime.1 (not 0) within the timeout.
  - test_wrong_password_error_names_authentication[mechanism]: the message says authentication
    failed (librdkafka's error callback only runs from rd_kafka_poll(); the log callback keeps the
    failed login as the last error).
  - test_secrets_never_printed: -X dump (flags, --config, SFCRIME_CONFIG), -v/-vv with librdkafka's
    debug logs, config errors and bad key passwords: no output holds a password or a private key.
  - test_scram_to_kafka_4[mechanism]: SCRAM-SHA-256 and -512 with the right password log in to
    Kafka 4.x. Kafka 4.0.0 and later check the nonce of SCRAM's client-final message strictly (its
    fix of CVE-2024-56128), which librdkafka before 2.6.1 got wrong (librdkafka#4895): sfcrime links
    librdkafka 2.8.0 (scripts/build-librdkafka), and this test holds that.

Every output of every command is kept and grepped for every secret (check_no_secret).
"""
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
from conftest import load_module

HERE = pathlib.Path(__file__).resolve().parent
TESTS_DIR = HERE.parent
ROOT = TESTS_DIR.parent


h = load_module("sfcrime_integration_helpers", HERE / "helpers.py")
sc = load_module("sfcrime_soak_cluster", TESTS_DIR / "soak" / "soak_cluster.py")

SCRAM_256, SCRAM = "SCRAM-SHA-256", "SCRAM-SHA-512"
PORT = 19292          # Kafka 4.x (scripts/kafka-pom.xml): PLAINTEXT (the controller: 19293)
SASL_PORT = 19294     # its SASL_SSL listener (SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN)
TIMEOUT_S = 3         # --timeout of the commands expected to fail
BIN = pathlib.Path(os.environ.get("SFCRIME_BIN", ROOT / "build" / "sfcrime"))

def librdkafka_version():
    """librdkafka's version as a tuple, from `sfcrime --version` (None if it does not say)."""
    try:
        out = subprocess.run([str(BIN), "--version"], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"librdkafka (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(g) for g in m.groups()) if m else None


LIBRDKAFKA = librdkafka_version()
MECHANISMS = [pytest.param(SCRAM_256, id="scram-sha-256"), pytest.param(SCRAM, id="scram-sha-512"),
              pytest.param("PLAIN", id="plain")]


def documented_exit_codes():
    """The exit statuses man/sfcrime.1 lists under EXIT STATUS."""
    text = (ROOT / "man" / "sfcrime.1").read_text(encoding="utf-8")
    section = text.split(".SH EXIT STATUS", 1)[1].split("\n.SH ", 1)[0]
    return {int(c) for c in re.findall(r"^\.B (\d+)\s*$", section, re.M)}


# --------------------------------------------------------------------------- the broker

def openssl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "openssl %s failed:\n%s" % (" ".join(args), p.stderr)


def make_pki(d):
    """A CA, the broker's certificate and a client certificate, in folder d. Private keys are
    PKCS#8, encrypted with PBE-SHA1-3DES, which both Java (Kafka's PEM key store) and OpenSSL
    (librdkafka) read; Java cannot read OpenSSL 3's default PBES2 scheme. Returns the passwords."""
    pw = {"broker_key": "BrokerKey-" + secrets.token_hex(8),
          "client_key": "ClientKey-" + secrets.token_hex(8)}
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=sfcrime test CA", cwd=d)
    (d / "broker.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who, subj in (("broker", "/CN=localhost"), ("client", "/CN=sfcrime-test-client")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", who + "-plain.key", "-out",
                who + ".csr", "-subj", subj, cwd=d)
        openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", who + ".pem", "-days", "2", "-extfile", who + ".ext",
                cwd=d)
        openssl("pkcs8", "-topk8", "-in", who + "-plain.key", "-out", who + ".key", "-v1",
                "PBE-SHA1-3DES", "-passout", "pass:" + pw[who + "_key"], cwd=d)
        (d / (who + "-plain.key")).unlink()
    return pw


class SecureBroker:
    """A broker and everything a client needs: paths, users, passwords (all random).

    d: the folder of the PKI (make_pki; shared by both brokers), pw: its passwords; mechanisms:
    those the SASL_SSL listener offers (SCRAM, meaning SCRAM-SHA-256 and -512 for one user, and
    PLAIN)."""

    def __init__(self, d, pw, port, sasl_port, mechanisms):
        self.dir = d
        self.pw = pw
        self.port, self.sasl_port = port, sasl_port
        self.bootstrap = "localhost:%d" % sasl_port
        self.users = {m: (u, p + secrets.token_hex(8)) for m, u, p in (
            (SCRAM, "scram-user", "ScramPw-"), ("PLAIN", "plain-user", "PlainPw-"))
            if m in mechanisms}
        if SCRAM in self.users:  # scripts/kafka gives a SCRAM user both mechanisms' credentials
            self.users[SCRAM_256] = self.users[SCRAM]
        self.state = pathlib.Path(tempfile.gettempdir()) / ("sfcrime-security-broker-%d" % port)
        extra = {
            "SFCRIME_KAFKA_SSL_CERT": str(d / "broker.pem"),
            "SFCRIME_KAFKA_SSL_KEY": str(d / "broker.key"),
            "SFCRIME_KAFKA_SSL_KEY_PASSWORD": self.pw["broker_key"],
            "SFCRIME_KAFKA_SSL_CA": str(d / "ca.pem"),
        }
        if SCRAM in self.users:
            extra["SFCRIME_KAFKA_SCRAM_USERS"] = "%s=%s" % self.users[SCRAM]
        if "PLAIN" in self.users:
            extra["SFCRIME_KAFKA_PLAIN_USERS"] = "%s=%s" % self.users["PLAIN"]
        self.env = sc.script_env(self.state, port, extra)
        self.key_pem = (d / "client.key").read_text()

    def secrets(self):
        """Every secret of the set-up: no sfcrime output may contain any of them."""
        out = {"broker key password": self.pw["broker_key"],
               "client key password": self.pw["client_key"]}
        for mech, (_, password) in self.users.items():
            out[mech + " password"] = password
        # The client's private key (its base64 body lines), should it ever be echoed.
        body = [l for l in self.key_pem.splitlines() if l and not l.startswith("-----")]
        out["client private key"] = body[1]
        return out

    def up(self):
        if self.state.exists():  # left over from an interrupted run of this test
            sc.run_script(self.env, "down", check=False, timeout=120)
            shutil.rmtree(self.state, ignore_errors=True)
        taken = [p for p in (self.port, self.port + 1, self.sasl_port) if sc.port_in_use(p)]
        assert not taken, "ports %r are in use: the security test needs them free" % taken
        t0 = time.monotonic()
        p = sc.run_script(self.env, "up", "--sasl-ssl-port", self.sasl_port, timeout=300)
        return time.monotonic() - t0, p.stderr

    def down(self):
        if self.state.exists():
            sc.run_script(self.env, "down", check=False, timeout=120)
            shutil.rmtree(self.state, ignore_errors=True)

    def properties(self, mechanism, password=None):
        """The librdkafka properties of a client logging in with `mechanism`."""
        user, good = self.users[mechanism]
        return [("security.protocol", "SASL_SSL"), ("sasl.mechanisms", mechanism),
                ("sasl.username", user), ("sasl.password", good if password is None else password),
                ("ssl.ca.location", str(self.dir / "ca.pem")),
                ("ssl.certificate.location", str(self.dir / "client.pem")),
                ("ssl.key.location", str(self.dir / "client.key")),
                ("ssl.key.password", self.pw["client_key"])]

    def x_flags(self, mechanism, password=None):
        return [a for k, v in self.properties(mechanism, password)
                for a in ("-X", "%s=%s" % (k, v))]

    def config_file(self, mechanism, password=None):
        f = self.dir / ("client-%s-%s.conf" % (mechanism, uuid.uuid4().hex[:6]))
        f.write_text("# sfcrime client configuration (SASL_SSL)\nbootstrap.servers=%s\n"
                     % self.bootstrap
                     + "".join("%s=%s\n" % kv for kv in self.properties(mechanism, password)))
        f.chmod(0o600)
        return f


@pytest.fixture(scope="module")
def pki(tmp_path_factory, sfcrime_bin, request):
    """The folder of the CA, certificates and keys (make_pki) and their passwords."""
    sc.show_figures(request.config)
    for tool in ("openssl", "java", "kcat"):
        assert shutil.which(tool), "%s is not installed (scripts/install-deps)" % tool
    d = tmp_path_factory.mktemp("security")
    return d, make_pki(d)


def brought_up(b):
    """Brings broker b up, yields it (figures recorded), and stops and deletes it at the end."""
    try:
        secs, log = b.up()
        resolved = "resolving its jars with Maven, " if "resolving the jars" in log else ""
        sc.figure("security: Kafka %s with SASL_SSL (%s; client certificates required) on %s up "
                  "in %.1f s (%sformatting and starting); librdkafka %s" % (
                      "of scripts/kafka-pom.xml", ", ".join(b.users), b.bootstrap,
                      secs, resolved, ".".join(map(str, LIBRDKAFKA or ("?",)))))
        yield b
    finally:
        b.down()


@pytest.fixture(scope="module")
def secure(pki):
    """Kafka of scripts/kafka-pom.xml (4.x), SASL_SSL with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN."""
    yield from brought_up(SecureBroker(*pki, PORT, SASL_PORT, (SCRAM, "PLAIN")))


class Outputs:
    """Every command run, with its outputs, for the secret check."""

    def __init__(self, secure):
        self.secure = secure
        self.runs = []

    def run(self, *args, via=None, input=None, timeout=120, env=None):
        """Runs sfcrime ARGS (the client settings come from `via`: a list of flags put first);
        returns CompletedProcess, with .elapsed in seconds."""
        cmd = [str(BIN), *(via or []), *map(str, args)]
        t0 = time.monotonic()
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, encoding="utf-8",
                           timeout=timeout, env=h.clean_env(env))
        p.elapsed = time.monotonic() - t0
        self.runs.append(p)
        return p

    def check_no_secret(self, extra=()):
        leaks = []
        found = dict(self.secure.secrets())
        for i, s in enumerate(extra):
            found["extra secret %d" % i] = s
        for p in self.runs:
            for stream, text in (("stdout", p.stdout), ("stderr", p.stderr)):
                for what, s in found.items():
                    if s and s in text:
                        leaks.append("%s of `%s` holds the %s" % (
                            stream, " ".join(p.args[-6:]), what))
        assert not leaks, "secrets printed:\n" + "\n".join(leaks)


def via_flags(secure, mechanism, via, password=None):
    if via == "flags":
        return ["-b", secure.bootstrap, *secure.x_flags(mechanism, password)]
    return ["--config", str(secure.config_file(mechanism, password))]


COMMAND_WORDS = {"inspect", "topic", "produce", "consume", "aggregate"}


def command_summary(runs):
    """'inspect 0, topic create 0, consume 0 (x2), ...': each command word and its exit status."""
    out = []
    for p in runs:
        words = [str(a) for a in p.args]
        i = next((i for i, w in enumerate(words) if w in COMMAND_WORDS), None)
        name = "?" if i is None else " ".join(words[i:i + (2 if words[i] == "topic" else 1)])
        item = "%s %d" % (name, p.returncode)
        if out and out[-1][0] == item:
            out[-1][1] += 1
        else:
            out.append([item, 1])
    return ", ".join(item if k == 1 else "%s (x%d)" % (item, k) for item, k in out)


def ok(p, what):
    assert p.returncode == 0, "%s exited %d:\n%s" % (what, p.returncode, p.stderr[-2000:])
    return p


# --------------------------------------------------------------------------- the tests

@pytest.mark.parametrize("via", ["flags", "config"])
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_commands_through_sasl_ssl(secure, tmp_path, mechanism, via):
    o = Outputs(secure)
    v = via_flags(secure, mechanism, via)
    n = 300
    data, codes = tmp_path / "in.ndjson", tmp_path / "codes.json"
    subprocess.run([sys.executable, str(TESTS_DIR / "gen_synthetic.py"), "--records", str(n),
                    "--seed", "77", "--format", "ndjson", "--out", str(data), "--radio-codes-out",
                    str(codes)], check=True, timeout=120)
    records = h.oracle.load_records(data)
    topic = "secure-" + uuid.uuid4().hex[:10]
    t0 = time.monotonic()
    created = False
    try:
        # A SCRAM login that fails should fail fast: the first command has a short timeout.
        ok(o.run("--timeout", "%ds" % TIMEOUT_S, "inspect", via=v), "inspect")
        ok(o.run("topic", "create", topic, "--partitions", 3, "--replication-factor", 1, via=v),
           "topic create")
        created = True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # a just-created topic may lack a leader a moment
            p = o.run("inspect", "--topic", topic, "--output", "json", via=v)
            if p.returncode == 0 and all(pt.get("leader", -1) >= 0 for t in json.loads(p.stdout)
                                         ["topics"] for pt in t["partitions"]):
                break
            time.sleep(0.2)
        p = ok(o.run("produce", "--topic", topic, "--file", data, via=v), "produce")
        assert h.produce_summary(p.stderr) == (n, n, 0, 0), p.stderr
        p = ok(o.run("consume", "--topic", topic, "--from-beginning", "--exit-at-end", via=v),
               "consume")
        got = h.multiset(h.canonical(json.loads(l)) for l in p.stdout.splitlines() if l.strip())
        assert got == h.multiset(h.canonical(r) for r in records), "consume: " + h.counter_diff(
            got, h.multiset(h.canonical(r) for r in records))
        if via == "flags":  # the config file reaches the same code: keep CI short
            p = ok(o.run("consume", "--topic", topic, "--group", "g-" + topic, "--from-beginning",
                         "--exit-at-end", via=v), "consume --group")
            assert len([l for l in p.stdout.splitlines() if l.strip()]) == n
        p = ok(o.run("aggregate", "--topic", topic, "--window", "30m", "--watermark", "36500d",
                     "--from-beginning", "--exit-at-end", "--group", "a-" + topic, "--output",
                     "json", "--radio-codes", codes, via=v), "aggregate")
        h.assert_rows_match(h.parse_json_lines(p.stdout),
                            h.oracle.aggregate(records, 1800, h.oracle.load_radio_codes(codes)))
        entry = json.loads(ok(o.run("inspect", "--topic", topic, "--output", "json", via=v),
                              "inspect --topic").stdout)["topics"][0]
        assert entry["messages"] == n, entry
        if via == "flags":
            assert topic in ok(o.run("topic", "list", via=v), "topic list").stdout
            ok(o.run("topic", "describe", topic, via=v), "topic describe")
    finally:
        if created:
            o.run("topic", "delete", topic, "--if-exists", via=v)
    ok(o.runs[-1], "topic delete")
    sc.figure("security[%s via %s, Kafka %s]: %d commands through SASL_SSL in %.1f s (%s); %d "
              "records produced, consumed and aggregated" % (
                  mechanism, via, "4.x", len(o.runs), time.monotonic() - t0,
                  command_summary(o.runs), n))
    o.check_no_secret()


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password_fails_clearly(secure, mechanism):
    o = Outputs(secure)
    wrong = "WrongPw-" + secrets.token_hex(8)
    codes = documented_exit_codes()
    assert 69 in codes, codes
    figures = []
    # Each run waits for the whole --timeout: a few commands, the rest share their code path.
    for via, args in (("flags", ["inspect"]),
                      ("flags", ["produce", "--topic", "x", "--file", "-"]),
                      ("config", ["consume", "--topic", "x", "--group", "g", "--exit-at-end"]),
                      ("config", ["aggregate", "--topic", "x", "--exit-at-end"])):
        v = via_flags(secure, mechanism, via, password=wrong)
        p = o.run("--timeout", "%ds" % TIMEOUT_S, *args, via=v, input="",
                  timeout=TIMEOUT_S + 60)
        what = "%s (%s)" % (" ".join(args), via)
        assert p.returncode != 0, "%s succeeded with a wrong password" % what
        assert p.returncode in codes - {0}, "%s exited %d, not a status man/sfcrime.1 " \
            "documents (%s)" % (what, p.returncode, sorted(codes))
        assert p.elapsed < TIMEOUT_S + 10, "%s took %.1f s (--timeout %ds)" % (
            what, p.elapsed, TIMEOUT_S)
        assert p.stderr.startswith("sfcrime: error: "), "%s: %r" % (what, p.stderr[:500])
        assert secure.bootstrap in p.stderr, p.stderr
        figures.append("%s %d in %.1f s" % (args[0], p.returncode, p.elapsed))
    sc.figure("security[%s, Kafka %s]: wrong password: %s; e.g. %r" % (
        mechanism, "4.x", ", ".join(figures), o.runs[0].stderr.strip()[:200]))
    o.check_no_secret(extra=[wrong])


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password_error_names_authentication(secure, mechanism):
    o = Outputs(secure)
    wrong = "WrongPw-" + secrets.token_hex(8)
    p = o.run("--timeout", "%ds" % TIMEOUT_S, "inspect",
              via=via_flags(secure, mechanism, "flags", password=wrong), timeout=TIMEOUT_S + 60)
    assert p.returncode != 0
    o.check_no_secret(extra=[wrong])
    assert "authentication" in p.stderr.lower(), (
        "the error does not say that the login failed: %r" % p.stderr)


def test_secrets_never_printed(secure, tmp_path):
    o = Outputs(secure)
    s = secure.secrets()
    conf = secure.config_file("PLAIN")

    # -X dump: from flags, from --config, from SFCRIME_CONFIG; with the private key inline too.
    inline_key = ["-X", "ssl.key.pem=" + secure.key_pem, "-X",
                  "ssl.keystore.password=" + s["broker key password"]]
    # (Every run names this test's broker, so that none ever reaches the shared one.)
    b = ["-b", secure.bootstrap]
    dumps = [o.run(*secure.x_flags("PLAIN"), "-X", "dump", "inspect", via=b),
             o.run("-X", "dump", "inspect", via=["--config", str(conf)]),
             o.run("-X", "dump", "inspect", env={"SFCRIME_CONFIG": str(conf)}),
             o.run(*inline_key, "-X", "dump", "inspect", via=b)]
    for p in dumps:
        ok(p, "-X dump")
    for p in dumps[:3]:
        for key in ("sasl.password", "ssl.key.password"):
            # `key = value  # origin` (the origin says which flag or file line set it)
            assert re.search(r"^%s = \[redacted\]  # (flag|file) " % re.escape(key), p.stdout, re.M), (
                "-X dump does not show %s as [redacted]:\n%s" % (key, p.stdout))
    assert re.search(r"^ssl.key.pem = \[redacted\]  # flag -X$", dumps[3].stdout, re.M), dumps[3].stdout

    # -v and -vv, with every librdkafka debug context (its configuration dump included), on a
    # successful command and on a failed login.
    ok(o.run("-vv", "-X", "debug=all", "inspect", via=["--config", str(conf)]), "-vv inspect")
    assert "sasl.password" in o.runs[-1].stderr  # librdkafka did log its configuration
    o.run("-v", "--timeout", "3s", "inspect",
          via=via_flags(secure, "PLAIN", "flags", password=s["client key password"]),
          timeout=60)
    assert o.runs[-1].returncode != 0

    # Error messages: config-file lines without '=', -X without '=', a misspelt property, a wrong
    # key password (librdkafka cannot decrypt the client key), a secret in a bad value.
    bad = tmp_path / "bad.conf"
    bad.write_text("sasl.password %s\n" % s["PLAIN password"])
    errors = [o.run("--config", bad, "inspect", via=b),
              o.run("-X", "sasl.password:" + s["PLAIN password"], "inspect", via=b),
              o.run("-X", "sasl.pasword=" + s["PLAIN password"], "inspect", via=b),
              o.run("-X", "security.protocol=SSL", "-X", "ssl.key.password=" + s["PLAIN password"],
                    "-X", "ssl.key.location=%s" % (secure.dir / "client.key"), "-X",
                    "ssl.certificate.location=%s" % (secure.dir / "client.pem"), "inspect", via=b),
              o.run("-X", "sasl.password=" + s["PLAIN password"], "-X", "security.protocol=NOPE",
                    "inspect", via=b)]
    for p in errors:
        assert p.returncode in (64, 78), (p.args, p.returncode, p.stderr)
        assert p.stderr.startswith("sfcrime: error: "), p.stderr
    o.check_no_secret()
    sc.figure("security: %d runs (-X dump x4, -vv with debug=all, -v on a failed login, %d config "
              "errors): no password or private key in any output" % (len(o.runs), len(errors)))


@pytest.mark.parametrize("mechanism", [SCRAM_256, SCRAM])
def test_scram_to_kafka_4(secure, mechanism):
    """SCRAM with the right password logs in to Kafka 4.x (librdkafka#4895 fixed in the librdkafka
    sfcrime links), and librdkafka's log (-vv, debug=security) shows the mechanism it used."""
    assert LIBRDKAFKA is not None and LIBRDKAFKA >= (2, 6, 1), \
        "sfcrime --version names librdkafka %r: SCRAM to Kafka 4 needs 2.6.1 or later" % (LIBRDKAFKA,)
    o = Outputs(secure)
    p = o.run("--timeout", "%ds" % TIMEOUT_S, "inspect", "--output", "json", "-X", "debug=security",
              "-vv", via=via_flags(secure, mechanism, "flags"), timeout=TIMEOUT_S + 60)
    o.check_no_secret()
    ok(p, "inspect over %s to Kafka 4.x" % mechanism)
    assert json.loads(p.stdout)["brokers"], p.stdout
    assert re.search(r"Authenticated as .*using %s" % re.escape(mechanism), p.stderr), p.stderr[-2000:]
    sc.figure("security[%s, Kafka 4.x]: the right password logs in (librdkafka %s): inspect in "
              "%.1f s" % (mechanism, ".".join(map(str, LIBRDKAFKA)), p.elapsed))
