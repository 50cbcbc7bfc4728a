"""The man pages and shell completions cover what the binary offers.

- every command word listed by `sfcrime --help` (but `help`) has man/sfcrime-<word>.1;
- every long option printed by `sfcrime --help`, `sfcrime COMMAND --help` and
  `sfcrime topic SUBCOMMAND --help` appears in the command's man page (sfcrime.1 for the top
  level, sfcrime-topic.1 for the topic subcommands) and in the bash, zsh and fish completions;
  those of the help's option tables have an entry in the man page's OPTIONS section and are offered
  by the bash completion after `sfcrime [COMMAND [SUBCOMMAND]] --` (and by the fish one when fish
  exists);
- the options of issue 3 (the streaming engine, docs/streaming.md) are listed by `--help` (this
  fails against a binary built before the engine), and are documented and completed with their
  values; the aggregate page describes the engine, its exit statuses and the live demo;
- every exit status of include/sfcrime/base/errors.hpp is listed in sfcrime.1;
- every page has the sections a man page is expected to have, `man -l` renders it without
  warnings (skipped only when man is not installed) and `mandoc -T lint -W warning` finds nothing;
- the bash completion loads and offers words and option values; the zsh and fish ones parse and
  offer the option values when those shells exist (live topic and group names: test_completion.py).

The binary is $SFCRIME_BIN or build/sfcrime (tests/conftest.py).
"""
import os
import pathlib
import re
import shlex
import shutil
import subprocess

import pytest

from conftest import clean_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAN = ROOT / "man"
BASH = ROOT / "completions" / "sfcrime.bash"
ZSH = ROOT / "completions" / "_sfcrime"
FISH = ROOT / "completions" / "sfcrime.fish"
ERRORS_HPP = ROOT / "include" / "sfcrime" / "base" / "errors.hpp"

SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]
LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# An option of the --help's option tables (Boost.Program_options' layout: "  -t [ --topic ] TOPIC",
# "  --from-beginning"), as opposed to one merely named in the prose.
TABLE_OPTION = re.compile(r"^  (?:-\w \[ )?(--[a-z][a-z0-9-]*)", re.M)

# The options of issue 3 (docs/streaming.md) per command, with the values they choose from (None:
# a free value or a flag). `sfcrime COMMAND --help` lists them once the streaming engine is in.
ISSUE3_OPTIONS = {
    "aggregate": {
        "--topic": None, "--file": None, "--window": None, "--slide": None, "--time-field": None,
        "--watermark": None, "--output-mode": ["append", "update", "complete"], "--trigger": None,
        "--max-records-per-trigger": None, "--by": None, "--top": None, "--filter": None,
        "--output": ["table", "json", "csv"], "--output-topic": None, "--late-topic": None,
        "--progress": ["auto", "text", "json", "none"], "--max-idle": None, "--from-beginning": None,
        "--exit-at-end": None, "--group": None, "--radio-codes": None,
    },
    "produce": {"--order": ["file", "event-time"], "--speedup": None},
}
# The exit statuses of `sfcrime aggregate` (issue 3: "as before").
AGGREGATE_EXIT_STATUSES = {0, 64, 65, 66, 69, 74, 78, 130, 143}


def _env():
    e = clean_env()
    e.update({"MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"})
    return e


def _help(binary, *words):
    p = subprocess.run([str(binary), *words, "--help"], capture_output=True, text=True, timeout=30, env=_env())
    assert p.returncode == 0, f"sfcrime {' '.join(words)} --help exited {p.returncode}\n{p.stderr}"
    assert p.stdout.strip(), f"sfcrime {' '.join(words)} --help printed nothing"
    return p.stdout


def _listed_words(help_text, heading):
    """The words of a "Commands:" / "Subcommands:" list: indented lines up to the next blank line."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    words = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        m = re.match(r"^\s+([a-z][a-z-]*)\s{2,}\S", line)
        assert m, f"unexpected line in the {heading} list: {line!r}"
        words.append(m.group(1))
    assert words, f"empty {heading} list in:\n{help_text}"
    return words


def _roff_text(path):
    """A man page's source with roff escapes for '-' and fonts removed, for plain searching."""
    s = path.read_text(encoding="utf-8")
    s = s.replace("\\-", "-").replace("\\&", "").replace("\\c", "").replace("\\e", "\\")
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    return s


def _has_option(text, option):
    return re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", text) is not None


def _section(roff, name):
    """The text of section `name` (.SH) of a page's _roff_text, up to the next .SH."""
    parts = re.split(r'^\.SH "?([^"\n]+?)"?$', roff, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2]))
    assert name in sections, f"no section {name} (has {list(sections)})"
    return sections[name]


def _option_entries(page):
    """{long option: its entry's text} for each .TP entry of the OPTIONS section of `page`: the
    tag line names the options, the text runs to the next .TP, .SS, .PP or .SH."""
    options = _section(_roff_text(page), "OPTIONS")
    entries = {}
    for tag, body in re.findall(r"^\.TP\n(.*)\n((?:(?!\.(?:TP|SS|PP|SH)\b).*\n)*)", options, re.M):
        for opt in LONG_OPTION.findall(tag):
            entries.setdefault(opt, tag + "\n" + body)
    return entries


def _fish_has_option(text, option):
    return re.search(r"(?<![\w-])-l " + re.escape(option[2:]) + r"(?![\w-])", text) is not None


@pytest.fixture(scope="module")
def commands(sfcrime_bin):
    return _listed_words(_help(sfcrime_bin), "Commands:")


@pytest.fixture(scope="module")
def subcommands(sfcrime_bin, commands):
    """Each nested command word (its --help lists "Subcommands:") -> its subcommands."""
    out = {}
    for word in commands:
        text = _help(sfcrime_bin, word)
        if "Subcommands:" in text:
            out[word] = _listed_words(text, "Subcommands:")
    return out


@pytest.fixture(scope="module")
def topic_subcommands(subcommands):
    return subcommands["topic"]


@pytest.fixture(scope="module")
def helps(sfcrime_bin, commands, subcommands):
    """(what, help text, man page) for the top level, each command and each subcommand (documented
    in its command's page)."""
    out = [("sfcrime", _help(sfcrime_bin), MAN / "sfcrime.1")]
    for word in commands:
        page = MAN / ("sfcrime.1" if word == "help" else f"sfcrime-{word}.1")
        out.append((f"sfcrime {word}", _help(sfcrime_bin, word), page))
    for word, subs in subcommands.items():
        for sub in subs:
            text = _help(sfcrime_bin, word, sub)
            # A subcommand that is another command under rpk's name (topic produce is produce)
            # prints that command's help, whose options its own page documents.
            alias = re.match(r"usage: sfcrime (\S+)", text)
            page = MAN / (f"sfcrime-{alias.group(1)}.1" if alias and alias.group(1) != word else f"sfcrime-{word}.1")
            out.append((f"sfcrime {word} {sub}", text, page))
    return out


def _pages():
    return sorted(MAN.glob("*.1"))


def test_commands_are_the_expected_ones(commands, subcommands):
    # Guards the parsing above: if these lists come out empty the other tests would prove nothing.
    assert {"produce", "consume", "aggregate", "topic", "group", "inspect", "config", "help"} <= set(commands)
    assert {"create", "list", "describe", "delete", "alter-config", "add-partitions", "produce", "consume"} <= set(
        subcommands["topic"])
    assert {"list", "describe", "delete", "seek"} <= set(subcommands["group"])
    assert {"show", "profiles", "path"} <= set(subcommands["config"])


def test_every_command_has_a_man_page(commands):
    assert (MAN / "sfcrime.1").is_file()
    missing = [f"man/sfcrime-{w}.1" for w in commands if w != "help" and not (MAN / f"sfcrime-{w}.1").is_file()]
    assert not missing, f"commands without a man page: {missing}"


def test_every_command_is_in_the_overview_page_and_completions(commands, subcommands):
    overview = _roff_text(MAN / "sfcrime.1")
    bash = BASH.read_text(encoding="utf-8")
    missing = []
    for w in commands:
        if w != "help" and f"sfcrime-{w}" not in overview:
            missing.append(f"sfcrime-{w} not named in man/sfcrime.1")
        if not re.search(rf"\b{re.escape(w)}\b", bash):
            missing.append(f"{w} not in completions/sfcrime.bash")
    for word, subs in subcommands.items():
        page = _roff_text(MAN / f"sfcrime-{word}.1")
        for s in subs:
            if not re.search(rf"\b{word} {re.escape(s)}\b", page):
                missing.append(f"'{word} {s}' not in man/sfcrime-{word}.1")
            if not re.search(rf"\b{re.escape(s)}\b", bash):
                missing.append(f"{word} subcommand {s} not in completions/sfcrime.bash")
    assert not missing, "\n".join(missing)


def test_every_long_option_is_documented_and_completed(helps):
    bash = BASH.read_text(encoding="utf-8")
    zsh = ZSH.read_text(encoding="utf-8")
    fish = FISH.read_text(encoding="utf-8")
    missing = []
    checked = checked_tabled = 0
    for what, text, page in helps:
        options = sorted(set(LONG_OPTION.findall(text)))
        assert "--help" in options, f"{what} --help does not list --help:\n{text}"
        assert page.is_file(), f"{page.relative_to(ROOT)} is missing"
        man_text = _roff_text(page)
        entries = _option_entries(page)
        tabled = set(TABLE_OPTION.findall(text))
        checked_tabled += len(tabled)
        words = what.split()[1:]
        # `sfcrime help --` completes nothing: `help` takes a command word.
        offered = None if words == ["help"] else set(_complete(*words, "--"))
        for opt in options:
            checked += 1
            if not _has_option(man_text, opt):
                missing.append(f"{opt} ({what} --help) not in man/{page.name}")
            elif opt in tabled and opt not in entries:
                missing.append(f"{opt} ({what} --help) has no entry in OPTIONS of man/{page.name}")
            if not _has_option(bash, opt):
                missing.append(f"{opt} ({what} --help) not in completions/sfcrime.bash")
            elif opt in tabled and offered is not None and opt not in offered:
                missing.append(f"{opt} ({what} --help) not offered by completions/sfcrime.bash after '{what} --'")
            if not _has_option(zsh, opt):
                missing.append(f"{opt} ({what} --help) not in completions/_sfcrime")
            if not _fish_has_option(fish, opt):
                missing.append(f"{opt} ({what} --help) not in completions/sfcrime.fish")
    assert checked > 30, "too few options found: is the --help format still as expected?"
    assert checked_tabled > 30, "too few options found in option tables: is the --help format still as expected?"
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("command", sorted(ISSUE3_OPTIONS))
def test_issue3_options_are_in_help(sfcrime_bin, command):
    # Fails until the streaming engine (issue 3) lands: the docs describe it already.
    listed = set(LONG_OPTION.findall(_help(sfcrime_bin, command)))
    missing = [o for o in ISSUE3_OPTIONS[command] if o not in listed]
    assert not missing, f"sfcrime {command} --help does not list {missing}"


@pytest.mark.parametrize("command", sorted(ISSUE3_OPTIONS))
def test_issue3_options_are_documented_with_their_values(command):
    page = MAN / f"sfcrime-{command}.1"
    entries = _option_entries(page)
    synopsis = _section(_roff_text(page), "SYNOPSIS")
    texts = {"completions/sfcrime.bash": BASH.read_text(encoding="utf-8"),
             "completions/_sfcrime": ZSH.read_text(encoding="utf-8")}
    fish = FISH.read_text(encoding="utf-8")
    missing = []
    for opt, values in ISSUE3_OPTIONS[command].items():
        if opt not in entries:
            missing.append(f"{opt} has no entry in OPTIONS of man/{page.name}")
        if not _has_option(synopsis, opt):
            missing.append(f"{opt} not in the SYNOPSIS of man/{page.name}")
        for name, text in texts.items():
            if not _has_option(text, opt):
                missing.append(f"{opt} not in {name}")
        if not _fish_has_option(fish, opt):
            missing.append(f"{opt} not in completions/sfcrime.fish")
        for v in values or []:
            if opt in entries and not re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", entries[opt]):
                missing.append(f"value {v} of {opt} not in its OPTIONS entry of man/{page.name}")
    assert not missing, "\n".join(missing)


def test_aggregate_page_describes_the_streaming_engine():
    text = _roff_text(MAN / "sfcrime-aggregate.1")
    description = _section(text, "DESCRIPTION")
    # The words of docs/streaming.md that a reader needs to find there.
    for word in ["watermark", "late", "tumbling", "hopping", "append", "update", "complete", "trigger",
                 "micro-batch", "numLateRecords", "numRowsDroppedByWatermark", "batchId", "window_total",
                 "window_distinct", "final", "batch_id", "--max-idle", "--late-topic", "--output-topic", "csv"]:
        assert word in description, f"'{word}' not in the DESCRIPTION of man/sfcrime-aggregate.1"
    listed = {int(c) for c in re.findall(r"^\.B (\d+)$", _section(text, "EXIT STATUS"), re.M)}
    assert listed == AGGREGATE_EXIT_STATUSES, f"EXIT STATUS of man/sfcrime-aggregate.1 lists {sorted(listed)}"
    examples = _section(text, "EXAMPLES")
    # The live demo: a replay in event time, watched in update mode.
    assert re.search(r"sfcrime produce .*--order event-time --speedup 3600", examples)
    assert "sfcrime aggregate --topic police-calls --output-mode update" in examples
    assert "--file -" in examples, "no example of aggregate --file"


def test_every_exit_status_is_in_the_overview_page():
    codes = sorted({int(c) for c in re.findall(r"=\s*(\d+)\s*,?\s*(?:///.*)?$", ERRORS_HPP.read_text(), re.M)})
    assert {0, 64, 65, 69, 78, 130} <= set(codes), f"could not read the exit codes from {ERRORS_HPP}: {codes}"
    text = _roff_text(MAN / "sfcrime.1")
    section = text.split(".SH EXIT STATUS", 1)[1].split("\n.SH ", 1)[0]
    listed = {int(c) for c in re.findall(r"^\.B (\d+)$", section, re.M)}
    assert set(codes) <= listed, f"exit statuses missing from man/sfcrime.1 EXIT STATUS: {sorted(set(codes) - listed)}"


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_page_has_the_usual_sections(page):
    text = page.read_text(encoding="utf-8")
    assert text.startswith(".TH "), f"{page.name} does not start with .TH"
    found = re.findall(r'^\.SH "?([^"\n]+?)"?$', text, re.M)
    missing = [s for s in SECTIONS if s not in found]
    assert not missing, f"{page.name} lacks sections {missing} (has {found})"
    order = [s for s in found if s in SECTIONS]
    assert order == SECTIONS, f"{page.name}: sections out of order: {order}"


def test_there_are_pages_to_render():
    assert len(_pages()) >= 6


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_page_renders_without_warnings(page):
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    p = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True, timeout=60,
                       env=_env())
    assert p.returncode == 0, f"man -l {page.name} exited {p.returncode}:\n{p.stderr}"
    assert p.stderr.strip() == "", f"man --warnings -l {page.name}:\n{p.stderr}"
    assert "NAME" in p.stdout and "SYNOPSIS" in p.stdout


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_page_passes_mandoc_lint(page):
    # The man-page linter of issue 6: mandoc -T lint reports nothing at level warning or above
    # (style notes, such as a NAME line over 80 bytes, are allowed).
    mandoc = shutil.which("mandoc")
    assert mandoc, "mandoc is not installed (scripts/install-deps installs it)"
    p = subprocess.run([mandoc, "-T", "lint", "-W", "warning", str(page)], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "" and p.stderr.strip() == "", f"mandoc -T lint {page.name}:\n{p.stdout}{p.stderr}"
    assert p.returncode == 0, f"mandoc -T lint -W warning {page.name} exited {p.returncode}"


def test_bash_completion_loads():
    bash = shutil.which("bash")
    assert bash, "bash is not installed"
    p = subprocess.run([bash, "-c", f"source '{BASH}' && complete -p sfcrime"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert "-F _sfcrime" in p.stdout


def _complete(*words):
    """What the bash completion offers for `sfcrime WORDS` (the last word is being completed)."""
    script = (f"source '{BASH}'; COMP_WORDS=(sfcrime \"$@\"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); "
              "COMPREPLY=(); _sfcrime; printf '%s\\n' \"${COMPREPLY[@]}\"")
    p = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True, text=True, timeout=30,
                       cwd=ROOT)
    assert p.returncode == 0, p.stderr
    return [w for w in p.stdout.splitlines() if w]


def test_bash_completion_offers_words_and_values(commands, topic_subcommands):
    assert set(commands) == set(_complete(""))
    assert _complete("-b", "localhost:9092", "ag") == ["aggregate"]
    assert set(_complete("topic", "")) == set(topic_subcommands)
    assert set(_complete("help", "")) == set(commands) - {"help"}
    assert set(_complete("aggregate", "--output", "")) == {"table", "json", "csv"}
    assert set(_complete("aggregate", "-o", "")) == {"table", "json", "csv"}
    assert set(_complete("inspect", "-o", "")) == {"table", "json"}
    assert set(_complete("topic", "describe", "t", "--output", "")) == {"table", "json"}
    assert "--exit-at-end" in _complete("consume", "--topic", "t", "--")
    assert "--if-not-exists" in _complete("topic", "create", "t", "--")
    assert "CMakeLists.txt" in _complete("produce", "--file", "CMake")
    assert "CMakeLists.txt" in _complete("--config", "CMake")
    assert "CMakeLists.txt" in _complete("aggregate", "--radio-codes", "CMake")
    # After `topic create`, --config is a topic config KEY=VALUE, not a file.
    assert _complete("topic", "create", "t", "--config", "CMake") == []


def test_bash_completion_offers_the_issue3_values():
    assert set(_complete("aggregate", "--output-mode", "")) == {"append", "update", "complete"}
    assert _complete("aggregate", "--output-mode", "u") == ["update"]
    assert set(_complete("aggregate", "--output-mode", "=", "")) == {"append", "update", "complete"}
    assert set(_complete("aggregate", "--progress", "")) == {"auto", "text", "json", "none"}
    assert set(_complete("produce", "--order", "")) == {"file", "event-time"}
    assert _complete("produce", "--topic", "t", "--order", "e") == ["event-time"]
    assert "CMakeLists.txt" in _complete("aggregate", "--file", "CMake")
    assert "-" in _complete("aggregate", "--file", "")
    assert "CMakeLists.txt" in _complete("aggregate", "-f", "CMake")
    assert "call_date_time" in _complete("aggregate", "--time-field", "")
    assert _complete("aggregate", "--by", "original_crime_type_name,dispo") == ["original_crime_type_name,disposition"]
    assert _complete("aggregate", "--filter", "dispo") == ["disposition="]
    # The value of a value-taking option is not taken for a word: the options are still offered.
    after = _complete("aggregate", "--file", "-", "--by", "disposition", "--top", "3", "--output-m")
    assert after == ["--output-mode"]
    offered = set(_complete("aggregate", "--topic", "t", "--"))
    assert set(ISSUE3_OPTIONS["aggregate"]) <= offered
    assert set(ISSUE3_OPTIONS["produce"]) <= set(_complete("produce", "--"))
    # No completion for free values.
    assert _complete("aggregate", "--top", "") == []
    assert _complete("aggregate", "--output-topic", "") == []


def test_zsh_completion_parses():
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed")
    assert ZSH.read_text(encoding="utf-8").startswith("#compdef sfcrime")
    p = subprocess.run([zsh, "-n", str(ZSH)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr


def test_fish_completion_parses():
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed")
    p = subprocess.run([fish, "--no-execute", str(FISH)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr


# Types `line` and a Tab into an interactive zsh on a pseudo-terminal (zsh/zpty) whose compadd
# prints each match instead of listing it; $1 is the directory of _sfcrime.
_ZSH_CAPTURE = r"""
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compprefuncs=( no_list ); no_list() { compstate[list]=; }'
zpty -w z 'comppostfuncs=( finish ); finish() { print -r "<<END>>"; }'
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits; builtin compadd -A __hits "$@"
  local -A apre asuf; zparseopts -E P:=apre S:=asuf
  local h; for h in $__hits; do print -r -- "MATCH:$apre[-P]$h$asuf[-S]"; done
}'
zpty -w z "bindkey '^I' complete-word; PROMPT=; echo init-done"
zpty -r z line '*init-done*'
zpty -r z line '*init-done*'
zpty -w z "$2"$'\t'
while zpty -r z line; do
  [[ $line == *'<<END>>'* ]] && break
  [[ $line == *MATCH:* ]] && print -r -- "${${line##*MATCH:}%$'\r'}"
done
zpty -d z
"""


def _zsh_complete(line):
    """What the zsh completion offers at the end of `line`."""
    p = subprocess.run([shutil.which("zsh"), "-f", "-c", _ZSH_CAPTURE, "zsh", str(ZSH.parent), line],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    return [w for w in p.stdout.splitlines() if w.strip()]


def test_zsh_completion_offers_values():
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    assert set(_zsh_complete("sfcrime aggregate --output-mode ")) == {"append", "update", "complete"}
    assert set(_zsh_complete("sfcrime aggregate --output ")) == {"table", "json", "csv"}
    assert set(_zsh_complete("sfcrime inspect --output ")) == {"table", "json"}
    assert set(_zsh_complete("sfcrime aggregate --progress ")) == {"auto", "text", "json", "none"}
    assert set(_zsh_complete("sfcrime produce --order ")) == {"file", "event-time"}
    assert "CMakeLists.txt" in _zsh_complete("sfcrime aggregate --file CMake")
    assert "CMakeLists.txt" in _zsh_complete("sfcrime aggregate --radio-codes CMake")
    # --topic excludes --file and itself.
    assert set(ISSUE3_OPTIONS["aggregate"]) - {"--topic", "--file"} <= set(
        _zsh_complete("sfcrime aggregate --topic t --"))
    assert set(ISSUE3_OPTIONS["produce"]) <= set(_zsh_complete("sfcrime produce --"))


def _fish_complete(line):
    """What the fish completion offers for `line` (`complete -C`), without descriptions."""
    script = f"source '{FISH}'; complete -C {shlex.quote(line)}"
    p = subprocess.run([shutil.which("fish"), "--no-config", "-c", script], capture_output=True, text=True,
                       timeout=30, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    return [w.split("\t", 1)[0] for w in p.stdout.splitlines() if w.strip()]


def test_fish_completion_offers_options_and_values(helps):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    missing = []
    for what, text, _ in helps:
        if what == "sfcrime help":
            continue  # `help` takes a command word
        offered = set(_fish_complete(what + " --"))
        missing += [f"{o} ({what} --help) not offered by completions/sfcrime.fish after '{what} --'"
                    for o in sorted(set(TABLE_OPTION.findall(text))) if o not in offered]
    assert not missing, "\n".join(missing)
    assert set(_fish_complete("sfcrime aggregate --output-mode ")) == {"append", "update", "complete"}
    assert set(_fish_complete("sfcrime aggregate --output ")) == {"table", "json", "csv"}
    assert set(_fish_complete("sfcrime inspect --output ")) == {"table", "json"}
    assert set(_fish_complete("sfcrime aggregate --progress ")) == {"auto", "text", "json", "none"}
    assert set(_fish_complete("sfcrime produce --order ")) == {"file", "event-time"}
    assert "CMakeLists.txt" in _fish_complete("sfcrime aggregate --file CMake")
    assert _fish_complete("sfcrime aggregate --filter dispo") == ["disposition="]
    assert _fish_complete("sfcrime aggregate --by original_crime_type_name,dispo") == [
        "original_crime_type_name,disposition"]
    assert set(ISSUE3_OPTIONS["aggregate"]) <= set(_fish_complete("sfcrime aggregate --"))
    assert set(ISSUE3_OPTIONS["produce"]) <= set(_fish_complete("sfcrime produce --"))


def test_every_command_of_the_table_takes_config_keys(sfcrime_bin, commands, subcommands):
    """The words of src/main.cpp's table (what `sfcrime --help` and each nested word's --help list)
    are the words sfcrime.COMMAND.OPTION keys may name: for each, a key with an option the
    command lacks is refused as that command's ('has no option'), not as an unknown key; a word not
    in the table is an unknown key."""
    words = [[w] for w in commands if w not in subcommands and w != "help"]
    # A subcommand that is another command under rpk's name (topic produce is produce) has its keys.
    words += [[w, s] for w, subs in subcommands.items() for s in subs if s not in commands]
    for word in words:
        key = "sfcrime." + ".".join(word) + ".no-such-option"
        p = subprocess.run([str(sfcrime_bin), "-X", key + "=1", *word], capture_output=True, text=True,
                           timeout=30, env=_env())
        assert p.returncode == 78, (word, p.stderr)
        assert "'sfcrime %s' has no option --no-such-option" % " ".join(word) in p.stderr, (word, p.stderr)
    p = subprocess.run([str(sfcrime_bin), "-X", "sfcrime.nosuchcommand.window=1", "inspect"], capture_output=True,
                       text=True, timeout=30, env=_env())
    assert p.returncode == 78 and "unknown setting 'sfcrime.nosuchcommand.window'" in p.stderr, p.stderr
