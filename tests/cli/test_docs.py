"""The man pages and shell completions cover what the binary offers.

- every command word listed by `sfcrime --help` (but `help`) has man/sfcrime-<word>.1;
- every long option printed by `sfcrime --help`, `sfcrime COMMAND --help` and
  `sfcrime topic SUBCOMMAND --help` appears in the command's man page (sfcrime.1 for the top
  level, sfcrime-topic.1 for the topic subcommands) and in completions/sfcrime.bash;
- every exit status of include/sfcrime/errors.hpp is listed in sfcrime.1;
- every page has the sections a man page is expected to have, and `man -l` renders it without
  warnings (skipped only when man is not installed);
- the bash completion loads (and the zsh and fish ones parse when those shells exist).

The binary is $SFCRIME_BIN or build/sfcrime (tests/conftest.py).
"""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAN = ROOT / "man"
BASH = ROOT / "completions" / "sfcrime.bash"
ZSH = ROOT / "completions" / "_sfcrime"
FISH = ROOT / "completions" / "sfcrime.fish"
ERRORS_HPP = ROOT / "include" / "sfcrime" / "errors.hpp"

SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]
LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _env():
    e = {k: v for k, v in os.environ.items() if not k.startswith("SFCRIME_")}
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


@pytest.fixture(scope="module")
def commands(sfcrime_bin):
    return _listed_words(_help(sfcrime_bin), "Commands:")


@pytest.fixture(scope="module")
def topic_subcommands(sfcrime_bin):
    return _listed_words(_help(sfcrime_bin, "topic"), "Subcommands:")


@pytest.fixture(scope="module")
def helps(sfcrime_bin, commands, topic_subcommands):
    """(what, help text, man page) for the top level, each command and each topic subcommand."""
    out = [("sfcrime", _help(sfcrime_bin), MAN / "sfcrime.1")]
    for word in commands:
        page = MAN / ("sfcrime.1" if word == "help" else f"sfcrime-{word}.1")
        out.append((f"sfcrime {word}", _help(sfcrime_bin, word), page))
    for sub in topic_subcommands:
        out.append((f"sfcrime topic {sub}", _help(sfcrime_bin, "topic", sub), MAN / "sfcrime-topic.1"))
    return out


def _pages():
    return sorted(MAN.glob("*.1"))


def test_commands_are_the_expected_ones(commands, topic_subcommands):
    # Guards the parsing above: if these lists come out empty the other tests would prove nothing.
    assert {"produce", "consume", "aggregate", "topic", "inspect", "help"} <= set(commands)
    assert {"create", "list", "describe", "delete"} <= set(topic_subcommands)


def test_every_command_has_a_man_page(commands):
    assert (MAN / "sfcrime.1").is_file()
    missing = [f"man/sfcrime-{w}.1" for w in commands if w != "help" and not (MAN / f"sfcrime-{w}.1").is_file()]
    assert not missing, f"commands without a man page: {missing}"


def test_every_command_is_in_the_overview_page_and_completions(commands, topic_subcommands):
    overview = _roff_text(MAN / "sfcrime.1")
    bash = BASH.read_text(encoding="utf-8")
    missing = []
    for w in commands:
        if w != "help" and f"sfcrime-{w}" not in overview:
            missing.append(f"sfcrime-{w} not named in man/sfcrime.1")
        if not re.search(rf"\b{re.escape(w)}\b", bash):
            missing.append(f"{w} not in completions/sfcrime.bash")
    topic_page = _roff_text(MAN / "sfcrime-topic.1")
    for s in topic_subcommands:
        if not re.search(rf"\btopic {re.escape(s)}\b", topic_page):
            missing.append(f"'topic {s}' not in man/sfcrime-topic.1")
        if not re.search(rf"\b{re.escape(s)}\b", bash):
            missing.append(f"topic subcommand {s} not in completions/sfcrime.bash")
    assert not missing, "\n".join(missing)


def test_every_long_option_is_documented_and_completed(helps):
    bash = BASH.read_text(encoding="utf-8")
    missing = []
    checked = 0
    for what, text, page in helps:
        options = sorted(set(LONG_OPTION.findall(text)))
        assert "--help" in options, f"{what} --help does not list --help:\n{text}"
        assert page.is_file(), f"{page.relative_to(ROOT)} is missing"
        man_text = _roff_text(page)
        for opt in options:
            checked += 1
            if not _has_option(man_text, opt):
                missing.append(f"{opt} ({what} --help) not in man/{page.name}")
            if not _has_option(bash, opt):
                missing.append(f"{opt} ({what} --help) not in completions/sfcrime.bash")
    assert checked > 30, "too few options found: is the --help format still as expected?"
    assert not missing, "\n".join(missing)


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


def test_bash_completion_offers_words_and_values():
    assert {"produce", "consume", "aggregate", "topic", "inspect", "help"} <= set(_complete(""))
    assert _complete("-b", "localhost:9092", "ag") == ["aggregate"]
    assert set(_complete("topic", "")) == {"create", "list", "describe", "delete"}
    assert set(_complete("aggregate", "--output", "")) == {"table", "json"}
    assert set(_complete("inspect", "-o", "")) == {"table", "json"}
    assert "--exit-at-end" in _complete("consume", "--topic", "t", "--")
    assert "--if-not-exists" in _complete("topic", "create", "t", "--")
    assert "CMakeLists.txt" in _complete("produce", "--file", "CMake")
    assert "CMakeLists.txt" in _complete("--config", "CMake")
    assert "CMakeLists.txt" in _complete("aggregate", "--radio-codes", "CMake")
    # After `topic create`, --config is a topic config KEY=VALUE, not a file.
    assert _complete("topic", "create", "t", "--config", "CMake") == []


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
