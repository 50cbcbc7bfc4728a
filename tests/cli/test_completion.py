"""Live words in the shell completions (issue 6, item 2): topic names and consumer group ids come
from the real broker through the hidden `sfcrime __complete topics|groups`.

- `sfcrime __complete topics` prints the cluster's topics sorted, one a line, without the internal
  `__` ones; `groups` the consumer group ids; it is hidden from `sfcrime --help`, quiet and quick
  when the broker cannot be reached (no output, nothing on stderr, a non-zero status, about 2 s);
- the bash completion, driven the way readline drives it (COMP_LINE, COMP_POINT, and COMP_WORDS
  split at ':' and '=' as COMP_WORDBREAKS splits them), offers a fresh topic after
  `consume --topic`, `topic describe`, `aggregate --output-topic`, ..., and a fresh group after
  `consume --group` and `group describe`; it passes on the -b typed on the line, so an
  unreachable -b offers nothing, prints nothing and ends within a few seconds;
- the zsh and fish completions offer the same live words (when those shells are installed).

Static words (commands, subcommands, options and their values) are tested in test_docs.py.
The binary is $SFCRIME_BIN or build/sfcrime; its directory is put first on PATH, so that the
completions' `sfcrime` is the binary under test. The broker is $SFCRIME_TEST_BOOTSTRAP.
"""
import os
import re
import shlex
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import BIN, BOOTSTRAP, ROOT, clean_env, run

BASH = ROOT / "completions" / "sfcrime.bash"
ZSH = ROOT / "completions" / "_sfcrime"
FISH = ROOT / "completions" / "sfcrime.fish"

pytestmark = pytest.mark.broker


def _env():
    e = clean_env()
    e["PATH"] = f"{BIN.parent}{os.pathsep}{e.get('PATH', '')}"
    e["SFCRIME_BOOTSTRAP_SERVERS"] = BOOTSTRAP
    return e


def _readline_words(line):
    """COMP_WORDS as bash builds them for `line`: blanks separate words, and runs of the
    COMP_WORDBREAKS characters ':' and '=' are words of their own."""
    words = []
    for token in re.findall(r"\S+", line):
        words += re.findall(r"[=:]+|[^=:]+", token)
    if not line or line[-1].isspace():
        words.append("")
    return words


def bash_complete(line):
    """(offers, stderr, seconds) of the bash completion at the end of `line` ("sfcrime ...")."""
    words = _readline_words(line)
    script = (f"source '{BASH}'; COMP_LINE=$1; COMP_POINT=${{#COMP_LINE}}; shift; COMP_WORDS=(\"$@\"); "
              "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _sfcrime; printf '%s\\n' \"${COMPREPLY[@]}\"")
    start = time.monotonic()
    p = subprocess.run(["bash", "-c", script, "bash", line, *words], capture_output=True, text=True, timeout=60,
                       cwd=ROOT, env=_env())
    assert p.returncode == 0, p.stderr
    return [w for w in p.stdout.splitlines() if w], p.stderr, time.monotonic() - start


@pytest.fixture(scope="module")
def live(sfcrime_bin):
    """A fresh topic `compl-<id>-calls` holding one record, and a group `compl-<id>-readers` that
    committed an offset on it; both deleted afterwards."""
    p = run("-b", BOOTSTRAP, "inspect", timeout=30)
    assert p.returncode == 0, f"broker {BOOTSTRAP} does not answer (scripts/kafka up):\n{p.stderr}"
    prefix = "compl-" + uuid.uuid4().hex[:8]
    topic, group = prefix + "-calls", prefix + "-readers"
    run("-b", BOOTSTRAP, "topic", "create", topic, check=True)
    record = ('{"crime_id": "1", "original_crime_type_name": "Noise", "report_date": "2018-01-01T00:00:00", '
              '"call_date": "2018-01-01T00:00:00", "offense_date": "2018-01-01T00:00:00", "call_time": "00:00", '
              '"call_date_time": "2018-01-01T00:00:00", "disposition": "HAN", "address": "Main St", '
              '"city": "San Francisco", "state": "CA", "agency_id": "1", "address_type": "Intersection", '
              '"common_location": ""}\n')
    run("-b", BOOTSTRAP, "produce", "--topic", topic, "--file", "-", input=record, check=True, timeout=60)
    run("-b", BOOTSTRAP, "consume", "--topic", topic, "--group", group, "--from-beginning", "--exit-at-end",
        check=True, timeout=60)
    yield {"prefix": prefix, "topic": topic, "group": group}
    run("-b", BOOTSTRAP, "group", "delete", group, timeout=60)
    run("-b", BOOTSTRAP, "topic", "delete", topic, "--if-exists", timeout=60)


def _helper(*args):
    start = time.monotonic()
    p = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=60, env=_env())
    return p, time.monotonic() - start


def test_helper_lists_topics_sorted_without_internal_ones(live):
    p, _ = _helper("__complete", "topics")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    topics = p.stdout.splitlines()
    assert live["topic"] in topics
    assert topics == sorted(set(topics))
    assert not [t for t in topics if t.startswith("__")], "internal topics listed"


def test_helper_lists_groups(live):
    p, _ = _helper("-b", BOOTSTRAP, "__complete", "groups")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert live["group"] in p.stdout.splitlines()


def test_helper_is_hidden_and_quiet(sfcrime_bin):
    assert "__complete" not in run("--help", timeout=20).stdout
    p, seconds = _helper("-b", "localhost:1", "__complete", "topics")
    assert (p.returncode, p.stdout, p.stderr) == (69, "", "")
    assert seconds < 6, f"took {seconds:.1f} s with an unreachable broker (2 s by default)"
    p, seconds = _helper("-b", "localhost:1", "--timeout", "500ms", "-v", "__complete", "groups")
    assert (p.stdout, p.stderr) == ("", "") and p.returncode != 0
    assert seconds < 4
    for args in (["__complete"], ["__complete", "nonsense"], ["__complete", "topics", "--bogus"]):
        p, _ = _helper(*args)
        assert (p.returncode, p.stdout, p.stderr) == (64, "", ""), args


@pytest.mark.parametrize("line", [
    "sfcrime consume --topic {prefix}",
    "sfcrime consume -t {prefix}",
    "sfcrime consume --topic={prefix}",
    "sfcrime produce --topic {prefix}",
    "sfcrime aggregate --topic {prefix}",
    "sfcrime aggregate --output-topic {prefix}",
    "sfcrime aggregate --late-topic {prefix}",
    "sfcrime produce --dead-letter-topic {prefix}",
    "sfcrime inspect --topic {prefix}",
    "sfcrime topic describe {prefix}",
    "sfcrime topic delete other-topic {prefix}",
    "sfcrime topic alter-config {prefix}",
    "sfcrime topic add-partitions {prefix}",
    "sfcrime topic produce {prefix}",
    "sfcrime topic consume -e {prefix}",
    "sfcrime consume {prefix}",
    "sfcrime produce --file x.json {prefix}",
    "sfcrime -b localhost:9092 consume --topic {prefix}",
    "sfcrime --bootstrap-servers=localhost:9092 topic describe {prefix}",
    "sfcrime consume -b localhost:9092 --timeout 5s -X socket.timeout.ms=5000 --topic {prefix}",
])
def test_bash_offers_live_topics(live, line):
    line = line.format(prefix=live["prefix"]).replace("localhost:9092", BOOTSTRAP)
    offers, err, _ = bash_complete(line)
    assert offers == [live["topic"]], f"{line!r} offered {offers}"
    assert err == ""


def test_bash_offers_live_topics_in_a_comma_list(live):
    offers, _, _ = bash_complete(f"sfcrime group seek g --topics other,{live['prefix']}")
    assert offers == [f"other,{live['topic']}"]


@pytest.mark.parametrize("line", [
    "sfcrime consume --group {prefix}",
    "sfcrime aggregate -g {prefix}",
    "sfcrime group describe {prefix}",
    "sfcrime group delete {prefix}",
    "sfcrime group seek {prefix}",
    "sfcrime inspect group {prefix}",
    "sfcrime -b localhost:9092 group describe {prefix}",
])
def test_bash_offers_live_groups(live, line):
    line = line.format(prefix=live["prefix"]).replace("localhost:9092", BOOTSTRAP)
    offers, err, _ = bash_complete(line)
    assert offers == [live["group"]], f"{line!r} offered {offers}"
    assert err == ""


def test_bash_offers_no_topic_where_a_new_name_is_typed(live):
    assert bash_complete(f"sfcrime topic create {live['prefix']}")[0] == []
    assert bash_complete(f"sfcrime consume --max-messages {live['prefix']}")[0] == []
    # The topic was given already (-t T, or the operand): no second one.
    assert bash_complete(f"sfcrime consume -t other {live['prefix']}")[0] == []
    assert bash_complete(f"sfcrime topic produce other {live['prefix']}")[0] == []


@pytest.mark.parametrize("line", [
    "sfcrime -b localhost:1 consume --topic {prefix}",
    "sfcrime consume --bootstrap-servers=localhost:1 --topic {prefix}",
    "sfcrime -b localhost:1 topic describe {prefix}",
    "sfcrime -b localhost:1 group describe {prefix}",
])
def test_bash_with_an_unreachable_broker_offers_nothing_quietly(live, line):
    offers, err, seconds = bash_complete(line.format(prefix=live["prefix"]))
    assert offers == [] and err == ""
    assert seconds < 6, f"{line!r} took {seconds:.1f} s"
    offers, err, seconds = bash_complete(line.format(prefix=live["prefix"]).replace("sfcrime ", "sfcrime --timeout 500ms ", 1))
    assert offers == [] and err == "" and seconds < 4


def test_bash_static_words_with_split_words():
    # -b HOST:PORT is split by readline at ':'; the completion joins it again.
    assert bash_complete(f"sfcrime -b {BOOTSTRAP} ag")[0] == ["aggregate"]
    assert set(bash_complete(f"sfcrime -b {BOOTSTRAP} topic ")[0]) >= {"create", "describe", "delete"}
    assert set(bash_complete("sfcrime aggregate --output-mode=")[0]) == {"append", "update", "complete"}
    assert "--exit-at-end" in bash_complete(f"sfcrime --bootstrap-servers={BOOTSTRAP} consume --")[0]


# --- zsh and fish --------------------------------------------------------------------------------

def _zsh_complete(line):
    from conftest import load_module
    docs = load_module("sfcrime_test_docs", ROOT / "tests" / "cli" / "test_docs.py")
    p = subprocess.run([shutil.which("zsh"), "-f", "-c", docs._ZSH_CAPTURE, "zsh", str(ZSH.parent), line],
                       capture_output=True, text=True, timeout=60, cwd=ROOT, env=_env())
    assert p.returncode == 0, p.stderr
    return [w for w in p.stdout.splitlines() if w.strip()]


def _fish_complete(line):
    p = subprocess.run([shutil.which("fish"), "--no-config", "-c", f"source '{FISH}'; complete -C {shlex.quote(line)}"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT, env=_env())
    assert p.returncode == 0 and p.stderr == "", p.stderr
    return [w.split("\t", 1)[0] for w in p.stdout.splitlines() if w.strip()]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_offer_live_words(live, shell):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    complete = _zsh_complete if shell == "zsh" else _fish_complete
    p, t, g = live["prefix"], live["topic"], live["group"]
    assert complete(f"sfcrime consume --topic {p}") == [t]
    assert complete(f"sfcrime -b {BOOTSTRAP} topic describe {p}") == [t]
    assert complete(f"sfcrime aggregate --output-topic {p}") == [t]
    assert complete(f"sfcrime consume {p}") == [t]
    assert complete(f"sfcrime topic produce {p}") == [t]
    assert complete(f"sfcrime consume --group {p}") == [g]
    assert complete(f"sfcrime group describe {p}") == [g]
    start = time.monotonic()
    assert complete(f"sfcrime -b localhost:1 consume --topic {p}") == []
    assert time.monotonic() - start < 8
