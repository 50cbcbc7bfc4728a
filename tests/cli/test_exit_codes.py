"""Every exit status of include/sfcrime/base/errors.hpp, reached through the real binary the way a user
reaches it (issue 6, item 7), and a closed or failing standard output.

- one or more user actions per status (CASES): 0, 1 (the broker refuses), 64 (usage), 65 (bad
  input data), 66 (no such file or topic), 69 (broker unreachable), 74 (output cannot be written),
  78 (configuration); 130 and 143 (SIGINT, SIGTERM) are tested in tests/cli/test_signals.py, and
  70 (internal error) is a bug no user action should reach. A status added to errors.hpp without a
  case here fails test_every_status_has_a_case;
- each message is one `sfcrime: error: ...` line on stderr, lowercase after the prefix (DESIGN.md,
  convention 7), never "internal error";
- every status a command is shown to return here is listed in the EXIT STATUS section of that
  command's man page (test_docs.py checks that sfcrime.1 lists them all);
- a reader that goes away (`sfcrime ... | head -3`) ends the command promptly with status 0 and
  nothing on stderr but the usual summary; writing to a full device (/dev/full) exits 74.

The binary is $SFCRIME_BIN or build/sfcrime; the broker $SFCRIME_TEST_BOOTSTRAP (tests/conftest.py).
"""
import os
import pathlib
import re
import subprocess
import sys
import time
import uuid

import pytest

from conftest import BIN, BOOTSTRAP, ROOT, clean_env, run

ERRORS_HPP = ROOT / "include" / "sfcrime" / "base" / "errors.hpp"
MAN = ROOT / "man"
# Statuses tested elsewhere or not reachable by a user.
ELSEWHERE = {130: "tests/cli/test_signals.py", 143: "tests/cli/test_signals.py",
             70: "internal error: a bug, no user action reaches it"}

sys.path.insert(0, str(ROOT / "tests"))
import gen_synthetic  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("exit")
    good = d / "calls.ndjson"
    gen_synthetic.write_records(gen_synthetic.generate(200, 6), "ndjson", str(good))
    bad = d / "bad.ndjson"
    bad.write_text('{"crime_id": "1"\nnot json at all\n')
    config = d / "bad.conf"
    config.write_text("bootstrap.servers=localhost:9092\nthis line has no equals sign\n")
    return {"good": good, "bad": bad, "bad_config": config, "dir": d}


@pytest.fixture(scope="module")
def live_topic(sfcrime_bin):
    """A topic with 200 records, deleted afterwards (module-wide: the cases only read it)."""
    p = run("-b", BOOTSTRAP, "inspect", timeout=30)
    assert p.returncode == 0, f"broker {BOOTSTRAP} does not answer (scripts/kafka up):\n{p.stderr}"
    name = "exit-" + uuid.uuid4().hex[:10]
    run("-b", BOOTSTRAP, "topic", "create", name, "--partitions", "2", check=True)
    yield name
    run("-b", BOOTSTRAP, "topic", "delete", name, "--if-exists")


# (status, command whose man page must list it, args, needs the broker). In args, "{good}",
# "{bad}", "{bad_config}", "{dir}" are the files above and "{topic}" the live topic.
CASES = [
    (0, None, ["--version"], False),
    (0, "aggregate", ["aggregate", "--file", "{good}", "--progress", "none"], False),
    (1, "topic", ["topic", "create", "{topic}"], True),  # it exists already
    (64, None, ["--no-such-option"], False),
    (64, None, ["frobnicate"], False),
    (64, "consume", ["consume", "--topic", "t", "--max-messages", "many"], False),
    (64, "aggregate", ["aggregate", "--file", "{good}", "--window", "banana"], False),
    (64, "produce", ["produce", "--topic", "t", "--file", "{good}", "--order", "sideways"], False),
    (64, "inspect", ["inspect", "--output", "yaml"], False),
    (64, "topic", ["topic", "create", "t", "--partitions", "0"], False),
    (64, "topic", ["-b", "", "topic", "list"], False),
    (65, "aggregate", ["aggregate", "--file", "{bad}", "--progress", "none"], False),
    (65, "produce", ["produce", "--topic", "{topic}", "--file", "{bad}"], True),
    (66, "aggregate", ["aggregate", "--file", "{dir}/no-such-file.json"], False),
    (66, "produce", ["produce", "--topic", "{topic}", "--file", "{dir}/no-such-file.json"], True),
    (66, "consume", ["consume", "--topic", "no-such-topic-{uid}", "--exit-at-end"], True),
    (66, "topic", ["topic", "describe", "no-such-topic-{uid}"], True),
    (69, "inspect", ["-b", "localhost:1", "--timeout", "1s", "inspect"], False),
    (69, "consume", ["-b", "localhost:1", "--timeout", "1s", "consume", "--topic", "t", "--exit-at-end"], False),
    (69, "topic", ["-b", "localhost:1", "--timeout", "1s", "topic", "list"], False),
    (69, "inspect", ["--timeout", "2s", "-X", "security.protocol=SSL", "inspect"], True),
    (74, "produce", ["produce", "--topic", "{topic}", "--file", "{bad}", "--dead-letter-file",
                     "/nonexistent/dir/rejects.ndjson"], True),
    (74, "aggregate", ["aggregate", "--file", "{good}", "--output", "json", "--progress", "none",
                       ">/dev/full"], False),
    (74, "consume", ["consume", "--topic", "{topic}", "--from-beginning", "--exit-at-end", ">/dev/full"], True),
    (74, "inspect", ["inspect", "--topic", "{topic}", ">/dev/full"], True),
    (74, None, ["--help", ">/dev/full"], False),
    (78, None, ["--config", "{bad_config}", "inspect"], False),
    (78, "inspect", ["-X", "no.such.property=1", "inspect"], False),
    (78, "consume", ["consume", "--topic", "t", "-X", "no.such.property=1"], False),
    (78, "inspect", ["-X", "bootstrap.servers=", "inspect"], False),
]


def _case_id(case):
    status, _, args, _ = case
    return f"{status}-" + "_".join(a.strip("-{}>/").replace("/", "") for a in args[:3])


@pytest.fixture(scope="module")
def filled_topic(request, files):
    """The live topic with the 200 good records in it (only for the broker cases)."""
    name = request.getfixturevalue("live_topic")
    p = run("-b", BOOTSTRAP, "produce", "--topic", name, "--file", files["good"], timeout=60)
    assert p.returncode == 0, p.stderr
    return name


def _run_case(args, files, topic):
    uid = uuid.uuid4().hex[:8]
    out = subprocess.DEVNULL
    words = []
    for a in args:
        if a.startswith(">"):
            out = open(a[1:], "w")
            continue
        words.append(a.format(good=files["good"], bad=files["bad"], bad_config=files["bad_config"],
                              dir=files["dir"], topic=topic, uid=uid))
    env = clean_env()
    env["SFCRIME_BOOTSTRAP_SERVERS"] = BOOTSTRAP
    env["XDG_CONFIG_HOME"] = str(files["dir"])  # no user config file
    try:
        return subprocess.run([str(BIN), *words], stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              text=True, timeout=90, env=env)
    finally:
        if out is not subprocess.DEVNULL:
            out.close()


@pytest.mark.parametrize("case", [pytest.param(c, id=_case_id(c), marks=[pytest.mark.broker] if c[3] else [])
                                  for c in CASES])
def test_status(request, sfcrime_bin, files, case):
    status, _, args, needs_broker = case
    topic = request.getfixturevalue("filled_topic") if needs_broker else "t"
    p = _run_case(args, files, topic)
    assert p.returncode == status, f"sfcrime {' '.join(args)} exited {p.returncode}, not {status}:\n{p.stderr}"
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert "internal error" not in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and "terminate called" not in p.stderr, p.stderr
    if status == 0:
        assert not [line for line in lines if "error" in line], p.stderr
        return
    errors = [line for line in lines if line.startswith("sfcrime: error: ")]
    assert errors, f"no 'sfcrime: error: ...' line for status {status}:\n{p.stderr}"
    for line in errors:
        text = line[len("sfcrime: error: "):]
        assert text and not text[0].isupper(), f"the message does not start in lowercase: {line!r}"


def _statuses_in_errors_hpp():
    return {int(v) for v in re.findall(r"^\s*\w+\s*=\s*(\d+)\s*,?", ERRORS_HPP.read_text(), re.M)}


def test_every_status_has_a_case():
    statuses = _statuses_in_errors_hpp()
    assert {0, 1, 64, 65, 66, 69, 70, 74, 78, 130, 143} <= statuses, statuses
    covered = {c[0] for c in CASES} | set(ELSEWHERE)
    assert statuses <= covered, f"statuses of errors.hpp without a test: {sorted(statuses - covered)}"


def test_signal_statuses_are_tested_in_test_signals():
    text = (ROOT / "tests" / "cli" / "test_signals.py").read_text()
    assert "130" in text and "143" in text and "SIGTERM" in text and "SIGINT" in text


def _exit_statuses_of(page):
    text = page.read_text(encoding="utf-8")
    section = re.split(r'^\.SH "?EXIT STATUS"?\s*$', text, flags=re.M)[1].split("\n.SH ", 1)[0]
    return {int(c) for c in re.findall(r"^\.B (\d+)\s*$", section, re.M)}


def test_each_status_shown_is_in_the_command_page():
    missing = []
    for status, command, args, _ in CASES:
        if command is None:
            continue
        page = MAN / f"sfcrime-{command}.1"
        if status not in _exit_statuses_of(page):
            missing.append(f"{status} (sfcrime {' '.join(args)}) not in EXIT STATUS of man/{page.name}")
    for page in sorted(MAN.glob("sfcrime*.1")):
        listed = _exit_statuses_of(page)
        if not {0, 64} <= listed:
            missing.append(f"man/{page.name}: EXIT STATUS lists {sorted(listed)}, without 0 or 64")
    assert not missing, "\n".join(sorted(set(missing)))


# --- a broker that refuses the TLS handshake or the SASL login (issue 15, item 2) -----------------

SASL = ["security.protocol=SASL_PLAINTEXT", "sasl.username=u", "sasl.password=p"]
REFUSALS = {
    "sasl-plain": (SASL + ["sasl.mechanism=PLAIN"], "cannot log in to broker",
                   "SASL PLAIN mechanism handshake failed"),
    "sasl-scram": (SASL + ["sasl.mechanism=SCRAM-SHA-512"], "cannot log in to broker",
                   "SASL SCRAM-SHA-512 mechanism handshake failed"),
    "ssl": (["security.protocol=SSL"], "cannot open a TLS connection to broker", "SSL handshake failed"),
    "sasl-ssl": (["security.protocol=SASL_SSL", "sasl.mechanism=PLAIN", "sasl.username=u", "sasl.password=p"],
                 "cannot open a TLS connection to broker", "SSL handshake failed"),
}


@pytest.mark.broker
@pytest.mark.parametrize("refusal", sorted(REFUSALS))
@pytest.mark.parametrize("command", [["topic", "list"], ["inspect"], ["consume", "--topic", "t", "-e"],
                                     ["produce", "--topic", "t", "--file", "{good}"],
                                     ["aggregate", "--topic", "t", "-e"]], ids=lambda c: c[0])
def test_a_refused_login_or_handshake_is_named(files, refusal, command):
    """The PLAINTEXT test broker refuses a SASL handshake and a TLS one: without -v the one error
    says which, with librdkafka's reason and the settings to check, not "is Kafka running?"; the
    status stays 69 (man/sfcrime.1: the broker refused)."""
    props, says, reason = REFUSALS[refusal]
    args = [w for p in props for w in ("-X", p)] + ["--timeout", "2s"] + [a.format(good=files["good"]) for a in command]
    p = _run_case(args, files, "t")
    assert p.returncode == 69, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("sfcrime: error: %s '%s' (waited 2 s for " % (says, BOOTSTRAP)), p.stderr
    assert reason in p.stderr and "security.protocol" in p.stderr, p.stderr
    assert "is Kafka running" not in p.stderr, p.stderr


# --- an empty -b (issue 15, item 3) ---------------------------------------------------------------

@pytest.mark.parametrize("args,code,says", [
    (["-b", "", "topic", "list"], 64, "-b/--bootstrap-servers is empty"),
    (["topic", "list", "-b", ""], 64, "-b/--bootstrap-servers is empty"),
    (["--bootstrap-servers=", "inspect"], 64, "the argument for option '--bootstrap-servers'"),
    (["consume", "-t", "t", "--bootstrap-servers", " , "], 64, "-b/--bootstrap-servers is empty"),
    (["-X", "bootstrap.servers=", "inspect"], 78, "'bootstrap.servers' is empty (flag -X)"),
    (["--config", "{dir}/empty-servers.conf", "inspect"], 78, "'bootstrap.servers' is empty (file "),
])
def test_no_broker_named_is_refused_at_once(files, args, code, says):
    """Without a broker to ask, librdkafka would wait the whole --timeout: refused at once instead,
    naming the option (64) or where the empty setting came from (78)."""
    (files["dir"] / "empty-servers.conf").write_text("bootstrap.servers=\n")
    start = time.monotonic()
    # Not _run_case: its SFCRIME_BOOTSTRAP_SERVERS would win over the file's empty line.
    p = run(*[a.format(dir=files["dir"]) for a in args], "--timeout", "30s", timeout=60)
    assert p.returncode == code, p.stderr
    assert time.monotonic() - start < 5, p.stderr
    assert p.stderr.startswith("sfcrime: error: " + says), p.stderr


# --- a reader that goes away --------------------------------------------------------------------

def _into_head(args, lines, files, seconds=30):
    """Runs `sfcrime ARGS | head -LINES`; returns (status, stderr, lines head printed, elapsed s)."""
    env = clean_env()
    env["SFCRIME_BOOTSTRAP_SERVERS"] = BOOTSTRAP
    env["XDG_CONFIG_HOME"] = str(files["dir"])
    start = time.monotonic()
    proc = subprocess.Popen([str(BIN), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=env)
    head = subprocess.run(["head", f"-{lines}"], stdin=proc.stdout, capture_output=True, text=True, timeout=seconds)
    proc.stdout.close()  # head is gone: only it held the pipe's read end
    try:
        _, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"sfcrime {' '.join(map(str, args))} | head -{lines} did not end within {seconds} s")
    return proc.returncode, err.decode(), head.stdout.splitlines(), time.monotonic() - start


def _assert_clean(args, status, err, out, lines):
    what = f"sfcrime {' '.join(map(str, args))} | head -{len(out) if out else lines}"
    assert len(out) == lines, f"{what} gave {len(out)} lines"
    assert status == 0, f"{what}: exit {status} (-13 is death by SIGPIPE):\n{err}"
    bad = [line for line in err.splitlines() if re.search(r"error|Traceback|terminate|EPIPE|Broken pipe", line, re.I)]
    assert not bad, f"{what} wrote to stderr:\n{err}"


@pytest.mark.parametrize("args,lines", [
    (["--help"], 1),
    (["help", "aggregate"], 1),
    (["aggregate", "--file", "{good}"], 3),
    (["aggregate", "--file", "{good}", "--output", "csv", "--output-mode", "complete"], 1),
], ids=["help", "help-aggregate", "aggregate-file", "aggregate-csv"])
def test_closed_stdout_without_broker(sfcrime_bin, files, args, lines):
    args = [str(a).format(good=files["good"]) for a in args]
    status, err, out, _ = _into_head(args, lines, files)
    _assert_clean(args, status, err, out, lines)


@pytest.mark.parametrize("args,lines", [
    (["consume", "--topic", "{topic}", "--from-beginning", "--exit-at-end"], 3),
    (["consume", "--topic", "{topic}", "--from-beginning"], 3),  # no --exit-at-end: head ends it
    (["consume", "--topic", "{topic}", "--from-beginning", "--group", "exit-{uid}"], 3),
    (["inspect"], 1),
    (["topic", "list"], 1),
    (["topic", "describe", "{topic}"], 1),
], ids=["consume-exit-at-end", "consume-live", "consume-group", "inspect", "topic-list", "topic-describe"])
@pytest.mark.broker
def test_closed_stdout_with_broker(filled_topic, files, args, lines):
    uid = uuid.uuid4().hex[:8]
    args = [a.format(topic=filled_topic, uid=uid) for a in args]
    status, err, out, elapsed = _into_head(args, lines, files)
    _assert_clean(args, status, err, out, lines)
    assert elapsed < 20, f"sfcrime {' '.join(args)} | head took {elapsed:.1f} s"
    if "--group" in args:
        run("-b", BOOTSTRAP, "group", "delete", args[args.index("--group") + 1], timeout=30)
