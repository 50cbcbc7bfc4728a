"""Issue 15, item 1: no output ever shows the value of a secret property (is_secret_property in
src/base/config.cpp: *password*, *secret*, *jaas*, ssl.key.pem, sasl.oauthbearer.config, in any
case), whatever the path: a value librdkafka refuses (sasl.jaas.config, which it refuses with a
reason of its own), an unknown property next to a secret, a config file with a secret and then a
bad line, the SFCRIME_* variables, a misspelt option, -X dump and config show (table and JSON),
librdkafka's log lines at -v and -vv (with -X debug=all) against an unreachable and a reachable
broker, a SASL login or a TLS handshake refused by the PLAINTEXT test broker, and every command
run with secrets set.

Every secret here is MARKER or holds it; every run's stdout and stderr are searched for it, and
for the parts of it librdkafka could quote (check_clean). The broker is $SFCRIME_TEST_BOOTSTRAP
(tests/conftest.py); nothing listens on localhost:1.
"""
import json
import sys
import uuid

import pytest

from conftest import BOOTSTRAP, ROOT, run

sys.path.insert(0, str(ROOT / "tests"))
import gen_synthetic  # noqa: E402

MARKER = "Sfc-" + uuid.uuid4().hex[:12] + "-hunter2"
JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="u" '
        'password="%s";' % MARKER)
UNREACHABLE = ["-b", "localhost:1", "--timeout", "1s"]
# Secret properties librdkafka accepts as given, and their values.
ACCEPTED = {
    "sasl.password": MARKER,
    "ssl.key.password": MARKER,
    "ssl.keystore.password": MARKER,
    "ssl.key.pem": MARKER,
    "sasl.oauthbearer.config": "principal=admin extension_token=%s" % MARKER,
}
# Every secret property tried, with a value that holds MARKER.
ALL_SECRETS = {**ACCEPTED, "sasl.jaas.config": JAAS, "sasl.oauthbearer.client.secret": MARKER,
               "my.custom.password": MARKER}


def xflags(props):
    return [w for k, v in props.items() for w in ("-X", "%s=%s" % (k, v))]


def check_clean(p, what=""):
    """Neither stream of `p` shows the marker, nor its middle (a quoted part of it)."""
    for name, text in (("stdout", p.stdout), ("stderr", p.stderr)):
        for part in (MARKER, MARKER[4:16], "hunter2"):
            assert part not in text, "%s: %r shows a secret on %s:\n%s" % (what, part, name, text)
    assert "internal error" not in p.stderr, p.stderr


def write_conf(tmp_path, text, name="secret.conf"):
    f = tmp_path / name
    f.write_text(text)
    return f


# --------------------------------------------------------------------------- refused values

@pytest.mark.parametrize("via", ["flag", "file"])
def test_jaas_config_is_refused_without_its_password(tmp_path, via):
    """The Java client's sasl.jaas.config, which librdkafka does not support: a configuration error
    naming the property and giving librdkafka's reason, without the value (it holds the password)."""
    if via == "flag":
        p = run("-X", "sasl.jaas.config=" + JAAS, *UNREACHABLE, "topic", "list", timeout=30)
    else:
        conf = write_conf(tmp_path, "sasl.jaas.config=%s\n" % JAAS)
        p = run("--config", conf, *UNREACHABLE, "topic", "list", timeout=30)
    check_clean(p, via)
    assert p.returncode == 78, p.stderr
    assert "'sasl.jaas.config'" in p.stderr and "JAAS configuration is not supported" in p.stderr, p.stderr


@pytest.mark.parametrize("key", sorted(ALL_SECRETS))
@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL", "SASL_SSL"])
def test_each_secret_property_on_every_failure(key, protocol):
    """Each secret property with a marked value (invalid for several: a PEM that is none, a JAAS
    line, a property this build lacks) under each security.protocol, against no broker: whatever
    fails (the property, the client's creation, the connection), the value is not shown."""
    args = ["-X", "%s=%s" % (key, ALL_SECRETS[key]), "-X", "security.protocol=" + protocol]
    if protocol == "SASL_SSL":
        args += ["-X", "sasl.mechanism=PLAIN", "-X", "sasl.username=u"]
    p = run(*args, *UNREACHABLE, "topic", "list", timeout=30)
    check_clean(p, key)
    assert p.returncode in (69, 78), p.stderr
    assert p.stderr.startswith("sfcrime: error: "), p.stderr


@pytest.mark.parametrize("order", ["secret-first", "unknown-first"])
def test_unknown_property_next_to_a_secret(order):
    pairs = [("sasl.password", MARKER), ("no.such.property", "1")]
    if order == "unknown-first":
        pairs.reverse()
    p = run(*xflags(dict(pairs)), *UNREACHABLE, "topic", "list", timeout=30)
    check_clean(p, order)
    assert p.returncode == 78 and "'no.such.property'" in p.stderr, p.stderr


@pytest.mark.parametrize("bad", [
    "this line has no equals sign",
    "sfcrime.timeout=soon",
    "sfcrime.no.such.key=1",
    "no.such.property=1",
    "security.protocol=SASL_CARRIER_PIGEON",
    "[not a profile",
    "sasl.jaas.config=" + JAAS,
    "bootstrap.servers=",
])
def test_config_file_with_a_secret_then_a_bad_line(tmp_path, bad):
    conf = write_conf(tmp_path, "bootstrap.servers=localhost:1\nsasl.password=%s\nssl.key.password = %s \n%s\n"
                      % (MARKER, MARKER, bad))
    p = run("--config", conf, "--timeout", "1s", "inspect", timeout=30)
    check_clean(p, bad)
    assert p.returncode == 78, p.stderr


def test_secret_in_the_profile_applied(tmp_path):
    conf = write_conf(tmp_path, "bootstrap.servers=localhost:1\n[prod]\nsasl.password=%s\nno.such=1\n" % MARKER)
    p = run("--config", conf, "--profile", "prod", "--timeout", "1s", "inspect", timeout=30)
    check_clean(p)
    assert p.returncode == 78, p.stderr


# --------------------------------------------------------------------------- the environment

@pytest.mark.parametrize("env,args,code", [
    ({"SFCRIME_TIMEOUT": "soon"}, ["inspect"], 78),
    ({"SFCRIME_PROFILE": "missing"}, ["inspect"], 78),
    ({"SFCRIME_WINDOW": "30x"}, ["aggregate", "--file", "-"], 78),
    ({"SFCRIME_TOPIC": "no-such-topic-x"}, ["consume", "-e"], 69),
    ({"SFCRIME_BOOTSTRAP_SERVERS": ","}, ["inspect"], 78),
    ({"SFCRIME_RADIO_CODES": "/nonexistent/radio.json"}, ["aggregate", "--file", "-"], 66),
    ({}, ["inspect"], 69),
])
@pytest.mark.parametrize("via", ["SFCRIME_CONFIG", "-X"])
def test_environment_paths(tmp_path, env, args, code, via):
    """Each SFCRIME_* variable that can fail, with the secrets in the file SFCRIME_CONFIG names or
    in -X flags."""
    conf = write_conf(tmp_path, "bootstrap.servers=localhost:1\n" +
                      "".join("%s=%s\n" % kv for kv in ACCEPTED.items()))
    e = {"SFCRIME_TIMEOUT": "1s", **env}
    flags = []
    if via == "SFCRIME_CONFIG":
        e["SFCRIME_CONFIG"] = str(conf)
    else:
        flags = xflags(ACCEPTED)
        e.setdefault("SFCRIME_BOOTSTRAP_SERVERS", "localhost:1")
    p = run(*flags, *args, env=e, input="", timeout=30)
    check_clean(p, str(env))
    assert p.returncode == code, p.stderr


# --------------------------------------------------------------------------- the command line

@pytest.mark.parametrize("args", [
    ["--propertyy=sasl.password=%s" % MARKER, "topic", "list"],
    ["-X", "sasl.password", MARKER, "topic", "list"],
    ["-Xsasl.password", MARKER, "topic", "list"],
    ["topic", "list", "--bogus=sasl.password=%s" % MARKER],
    ["topic", "list", "-X", "sasl.password", MARKER],
    ["topic", "list", "-X", "sasl.password:%s" % MARKER],
    ["consume", "--topic", "t", "--max-messages", "x", "-X", "sasl.password=" + MARKER],
])
def test_misspelt_command_lines(args):
    """A secret on a command line that is wrong: the usage error does not quote it."""
    p = run(*args, *UNREACHABLE, timeout=30)
    check_clean(p, " ".join(args))
    assert p.returncode == 64, p.stderr


# --------------------------------------------------------------------------- dumps

DUMPS = [
    ["-X", "dump"],
    ["produce", "-X", "dump"],
    ["consume", "-X", "dump"],
    ["aggregate", "-X", "dump"],
    ["topic", "list", "-X", "dump"],
    ["group", "list", "-X", "dump"],
    ["inspect", "-X", "dump"],
    ["config", "show"],
    ["config", "show", "--all"],
    ["config", "show", "-o", "json"],
    ["config", "show", "--all", "--output", "json"],
]


@pytest.mark.parametrize("args", DUMPS, ids=lambda a: "_".join(a).replace("-", ""))
@pytest.mark.parametrize("via", ["flag", "file", "profile"])
def test_dumps_redact_every_secret(tmp_path, args, via):
    flags = []
    if via == "flag":
        flags = xflags(ACCEPTED)
    else:
        lines = "".join("%s=%s\n" % kv for kv in ACCEPTED.items())
        text = lines if via == "file" else "client.id=x\n[prod]\n" + lines
        flags = ["--config", write_conf(tmp_path, text)] + (["--profile", "prod"] if via == "profile" else [])
    p = run(*flags, *args, timeout=30)
    check_clean(p, via)
    assert p.returncode == 0, p.stderr
    if "json" in args:
        entries = {e["key"]: e["value"] for e in json.loads(p.stdout)["entries"]}
        shown = {k: entries.get(k) for k in ACCEPTED}
    else:
        shown = {k: v for k, _, v in (line.partition("  #")[0].partition(" = ") for line in p.stdout.splitlines())
                 if k in ACCEPTED}
    assert shown == {k: "[redacted]" for k in ACCEPTED}, p.stdout


@pytest.mark.parametrize("key", ["SASL.PASSWORD", "Sasl.Jaas.Config", "my.db.Secret", "app.password.2"])
def test_config_show_redacts_secrets_named_in_any_case(tmp_path, key):
    """config show lists what the file sets without asking librdkafka: a secret's name written in
    capitals, or a property of the user's own named like a secret, is redacted too."""
    conf = write_conf(tmp_path, "%s=%s\n" % (key, MARKER))
    for json_out in (False, True):
        p = run("--config", conf, "config", "show", *(["-o", "json"] if json_out else []), timeout=30)
        check_clean(p, key)
        assert p.returncode == 0 and "[redacted]" in p.stdout, p.stdout


# --------------------------------------------------------------------------- librdkafka's logs

VERBOSE = [["-v"], ["-vv"], ["-vv", "-X", "debug=all"]]


@pytest.mark.parametrize("verbose", VERBOSE, ids=lambda v: "".join(v).replace("-", ""))
def test_verbose_against_no_broker(verbose):
    p = run(*xflags(ACCEPTED), *verbose, *UNREACHABLE, "topic", "list", timeout=30)
    check_clean(p)
    assert p.returncode == 69, p.stderr


@pytest.mark.broker
@pytest.mark.parametrize("verbose", VERBOSE, ids=lambda v: "".join(v).replace("-", ""))
def test_verbose_against_the_broker(broker, verbose):
    p = run("-b", broker, *xflags(ACCEPTED), *verbose, "topic", "list", timeout=60)
    check_clean(p)
    assert p.returncode == 0, p.stderr
    if "debug=all" in verbose:
        # librdkafka's own dump of the configuration names the properties, never their values.
        assert "sasl.password = [redacted]" in p.stderr, p.stderr[-3000:]


@pytest.mark.broker
@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"])
@pytest.mark.parametrize("verbose", [[]] + VERBOSE, ids=lambda v: "".join(v).replace("-", "") or "quiet")
def test_sasl_handshake_refused_by_the_broker(broker, mechanism, verbose):
    """A SASL login against the PLAINTEXT test broker: refused in the handshake."""
    p = run("-b", broker, "--timeout", "2s", "-X", "security.protocol=SASL_PLAINTEXT",
            "-X", "sasl.mechanism=" + mechanism, "-X", "sasl.username=u", *xflags(ACCEPTED), *verbose,
            "topic", "list", timeout=60)
    check_clean(p, mechanism)
    assert p.returncode == 69, p.stderr


@pytest.mark.broker
@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
@pytest.mark.parametrize("verbose", [[]] + VERBOSE, ids=lambda v: "".join(v).replace("-", "") or "quiet")
def test_tls_handshake_refused_by_the_broker(broker, protocol, verbose):
    props = {k: v for k, v in ACCEPTED.items() if k != "ssl.key.pem"}  # a PEM that is none fails earlier
    p = run("-b", broker, "--timeout", "2s", "-X", "security.protocol=" + protocol, "-X", "sasl.mechanism=PLAIN",
            "-X", "sasl.username=u", *xflags(props), *verbose, "inspect", timeout=60)
    check_clean(p, protocol)
    assert p.returncode == 69, p.stderr


# --------------------------------------------------------------------------- every command

@pytest.fixture(scope="module")
def records(tmp_path_factory):
    f = tmp_path_factory.mktemp("secrets") / "calls.ndjson"
    gen_synthetic.write_records(gen_synthetic.generate(300, 15), "ndjson", str(f))
    return f


@pytest.mark.broker
def test_every_command_with_secrets_set(broker, records, tmp_path):
    """The secrets set (unused: PLAINTEXT) while every command runs against the broker, with -v,
    and some of them fail (a topic that exists, a group that does not)."""
    conf = write_conf(tmp_path, "".join("%s=%s\n" % kv for kv in ACCEPTED.items()))
    topic = "secrets-" + uuid.uuid4().hex[:10]
    group = "secrets-" + uuid.uuid4().hex[:10]
    base = ["-b", broker, "--config", conf, "-v", "-X", "sasl.password=" + MARKER]
    steps = [
        (0, ["topic", "create", topic, "--partitions", "2"]),
        (1, ["topic", "create", topic]),
        (0, ["produce", "--topic", topic, "--file", records]),
        (0, ["consume", "--topic", topic, "--group", group, "--from-beginning", "--exit-at-end",
             "--max-messages", "5"]),
        (0, ["consume", "--topic", topic, "-o", "-1", "-e", "--output", "json"]),
        (0, ["aggregate", "--topic", topic, "--from-beginning", "--exit-at-end", "--progress", "json"]),
        (0, ["aggregate", "--file", records, "--window", "1h", "--output", "csv"]),
        (0, ["topic", "list"]),
        (0, ["topic", "describe", topic]),
        (0, ["topic", "alter-config", topic, "--set", "retention.ms=86400000"]),
        (0, ["topic", "add-partitions", topic, "--num", "1"]),
        (0, ["group", "list"]),
        (0, ["group", "describe", group]),
        (0, ["group", "seek", group, "--to", "start"]),
        (66, ["group", "describe", "no-such-group-" + group, "--output", "json"]),
        (0, ["inspect"]),
        (0, ["inspect", "--topic", topic]),
        (0, ["inspect", "group", group]),
        (0, ["group", "delete", group]),
        (0, ["topic", "delete", topic]),
        (66, ["topic", "describe", topic]),
    ]
    try:
        for code, args in steps:
            p = run(*base, *args, timeout=120)
            check_clean(p, " ".join(map(str, args)))
            assert p.returncode == code, "%s exited %d:\n%s" % (" ".join(map(str, args)), p.returncode, p.stderr)
    finally:
        run("-b", broker, "topic", "delete", topic, "--if-exists")
        run("-b", broker, "group", "delete", group)
