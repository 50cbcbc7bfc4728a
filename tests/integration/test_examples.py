"""Every documented example that reads the real data gives the batch answer (issue 13, "No silent
loss"): README.md's tour, the man pages and `--help`.

The examples are extracted from README.md's tour code block, from every .EX block (and any command
line of the EXAMPLES section) of man/*.1, and from the `Examples:` part of `sfcrime COMMAND --help`
and `sfcrime COMMAND SUBCOMMAND --help` (run on the binary under test; a subcommand that prints
another command's help, as `topic produce` does, is that command's). An example is one shell
command line once comments are removed and continuation lines joined (`\\`, a trailing `|`, the
body of a `for ... do ... done`). Those that run `aggregate`, and those that `produce` the real data
(police-department-calls-for-service.json.xz, or calls.json: the same decompressed), are kept.

EXAMPLES maps each of them (its normalized text) to the docs that show it and to how it is run on
the real data and checked. An example found in the docs that is not in the table fails
test_documented_examples_are_covered ("documented example not covered by ..."), and so does a
table entry no longer in the doc it names; there is one such test per document (README.md, each
man page, each command's --help), so a change to one document fails only its own test.

How an example is run (test_example): as a user would, through bash, in a scratch directory where
police-department-calls-for-service.json.xz, radio_code.json, calls.json (the real file decompressed
once per module) and ../shared/data/ lead to the real data; `sfcrime` is the binary under test
(first on PATH) and so is `$sf` (README); the broker is the test broker (SFCRIME_BOOTSTRAP_SERVERS,
and `-b`/kcat's `-b` replaced); every topic and group name is replaced by a unique one (police-calls
by the topic the case reads). Where an example would otherwise run forever, options are added (the
table says which): `--exit-at-end`, and the 3600x replay of the live demos (the query in the
background, the replay started at once after it, SIGINT to the query once it has counted every
record) runs at 1,440,000x with `--watermark 400h` added to the query, which keeps the one
second of delivery delay the default 1h watermark covers at 3600x (docs/streaming.md, "Input
order"). Table and CSV examples run as written (exit status and summary line) and again with
`--output json` for their rows, or their CSV is parsed.

What is checked: the rows equal the batch answer computed independently, by tests/oracle.py
(tumbling windows per crime type) or by tests/stream_oracle.py (hopping windows, --by, --top,
--filter), whose final rows with a watermark longer than the input's disorder are the batch answer
(for an example that reads the file in file order, newest first, it replays that order with the
example's own --watermark 91d and must find no late record); --top keeps each window's first K rows
in the contract's order (count descending, then group key), so ties are decided as the contract
says. The summary line on stderr ('sfcrime aggregate: N records, L late, ...') says every record
was read and 0 late, and no late warning is printed. An example that produces the real data into a
topic that is then aggregated is followed by `aggregate --from-beginning --exit-at-end` of that
topic: 0 late, the 30-minute batch answer. Produce examples about other things (dead letters,
resume, keys, compression, rpk's words) send the file as it is and feed no documented aggregate:
they must send every record. No example shows late records on purpose: all are held to 0 late (one
that did would need a doc sentence stating its late count, and a check of that count here).

The topic examples that only read share one topic, produced by the tour's own produce line.
Real data needed (marked `realdata`, skipped without it), and a broker for most (marked `broker`).
About 2 minutes.
"""
import collections
import csv
import dataclasses
import functools
import io
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid

import pytest
from conftest import BIN, RADIO_CODES, REAL_FILE, clean_env, integration_helpers

h = integration_helpers()
oracle, so = h.oracle, h.stream_oracle

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MAN = ROOT / "man"
REAL_RECORDS = 199_999  # shared/data/README.md
# The broker address the documented examples name: scripts/kafka's default (its `port=` line), as
# README.md and the man pages write it. Only text to replace: an example runs against the broker
# scripts/test brought up (SFCRIME_TEST_BOOTSTRAP), whatever its port.
DOCUMENTED_BROKER = "localhost:" + re.search(
    r"^port=\$\{SFCRIME_KAFKA_PORT:-(\d+)\}", (ROOT / "scripts" / "kafka").read_text(), re.M).group(1)
# The command words of `sfcrime --help` (test_help_commands_are_known checks the list), one
# coverage test each for its --help and its subcommands'.
COMMANDS = ("produce", "consume", "aggregate", "topic", "group", "inspect", "config")
# The live demos' bounded replay: 400 times faster than 3600x, with a watermark 400 times longer.
LIVE_SPEEDUP = 1_440_000
LIVE_WATERMARK = "%dh" % (LIVE_SPEEDUP // 3600)


# --------------------------------------------------------------------------- extraction

def strip_comment(line):
    """`line` without its shell comment: a # that starts a word, outside quotes."""
    quote, i = None, 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"':
                i += 1
        elif c in "'\"":
            quote = c
        elif c == "\\":
            i += 1
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
        i += 1
    return line


_CONTINUED = ("\\", "|", "&&", "||")
_NESTING = {"do": 1, "then": 1, "done": -1, "fi": -1}


def _join(parts):
    text = " ".join(p[:-1] if p.endswith("\\") else p for p in parts)
    return re.sub(r"\s+", " ", text).strip()


def logical_lines(lines):
    """The shell command lines of a block of lines: comments removed, blank lines dropped, a line
    joined to the one before when that ends with \\, |, && or || or is inside for/if ... done/fi;
    whitespace runs as one space."""
    out, parts, depth = [], [], 0
    for raw in lines:
        code = strip_comment(raw).strip()
        if not code:
            continue
        if parts and depth <= 0 and not parts[-1].endswith(_CONTINUED):
            out.append(_join(parts))
            parts = []
        parts.append(code)
        depth += sum(_NESTING.get(w, 0) for w in re.split(r"[\s;&|()]+", code))
    if parts:
        out.append(_join(parts))
    return out


def roff_plain(line):
    """A line of man-page source as the reader sees it (roff escapes of examples undone)."""
    line = line.replace("\\e", "\0")
    line = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", line)
    for a, b in (("\\-", "-"), ("\\(aq", "'"), ("\\(dq", '"'), ("\\(ga", "`"), ("\\&", ""),
                 ("\\|", ""), ("\\^", ""), ("\\ ", " ")):
        line = line.replace(a, b)
    return line.replace("\0", "\\")


def readme_examples():
    text = README.read_text(encoding="utf-8")
    m = re.search(r"^## A tour\n+```sh\n(.*?)^```", text, re.M | re.S)
    assert m, "README.md has no ```sh code block after '## A tour'"
    return logical_lines(m.group(1).splitlines())


def man_examples(page):
    """The command lines of every .EX block of `page`, and any command line of its EXAMPLES
    section outside one."""
    out, block, section = [], None, None
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith(".SH"):
            section = line[3:].strip().strip('"')
        if line.startswith(".EX"):
            block = []
        elif line.startswith(".EE"):
            out += logical_lines(block or [])
            block = None
        elif block is not None:
            if not line.startswith((".", "'")):
                block.append(roff_plain(line))
        elif section == "EXAMPLES" and re.match(r"(sfcrime|xz)\s", roff_plain(line)):
            out += logical_lines([roff_plain(line)])
    return out


def _help_text(binary, *words):
    p = subprocess.run([str(binary), *words, "--help"], capture_output=True, text=True,
                       timeout=30, env=clean_env())
    assert p.returncode == 0, "sfcrime %s --help exited %d:\n%s" % (" ".join(words), p.returncode,
                                                                   p.stderr)
    return p.stdout


def _listed_words(text, heading):
    lines = text.splitlines()
    start = [i for i, line in enumerate(lines) if line.strip() == heading]
    words = []
    for line in lines[start[0] + 1:] if start else []:
        if not line.strip():
            break
        m = re.match(r"^\s+([a-z][a-z-]*)\s{2,}\S", line)
        assert m, "unexpected line in the %s list: %r" % (heading, line)
        words.append(m.group(1))
    return words


def _help_examples(text):
    lines = text.splitlines()
    if "Examples:" not in lines:
        return []
    block = []
    for line in lines[lines.index("Examples:") + 1:]:
        if not line.strip():
            break
        block.append(line[2:] if line.startswith("  ") else line)
    return logical_lines(block)


def help_examples(binary, command):
    """{"sfcrime COMMAND [SUB] --help": [examples]} for a command and its subcommands (but those
    that print another command's help: `topic produce` is `produce`)."""
    text = _help_text(binary, command)
    out = {"sfcrime %s --help" % command: _help_examples(text)}
    for sub in _listed_words(text, "Subcommands:"):
        sub_text = _help_text(binary, command, sub)
        alias = re.match(r"usage: sfcrime (\S+)", sub_text)
        if alias and alias.group(1) != command:
            continue
        out["sfcrime %s %s --help" % (command, sub)] = _help_examples(sub_text)
    return out


def documents():
    """The documents whose examples are checked, one coverage test each."""
    return (["README.md"] + ["man/" + p.name for p in sorted(MAN.glob("*.1"))]
            + ["help " + c for c in COMMANDS])


def examples_of(document, binary):
    """{source: [example, ...]} of one document of documents()."""
    if document == "README.md":
        return {"README.md": readme_examples()}
    if document.startswith("man/"):
        return {document: man_examples(ROOT / document)}
    return help_examples(binary, document.split()[1])


def document_of(source):
    """The document of documents() that holds `source` (a `where` of the table)."""
    m = re.match(r"sfcrime (\S+)", source)
    return "help " + m.group(1) if m else source


_SF = r"(?:\bsfcrime|\$sf)\b"
_AGGREGATE = re.compile(_SF + r"[^|;&]*?\baggregate\b(?!:)")
_PRODUCE = re.compile(_SF + r"[^|;&]*?\bproduce\b(?!:)")
_REAL_DATA = re.compile(r"police-department-calls-for-service\.json\.xz"
                        r"|(?:--file|-f)[ =]calls\.json(?![\w.])")


def involves_real_data(example):
    """Runs `aggregate`, or `produce`s the real data (the .xz file or calls.json)."""
    return bool(_AGGREGATE.search(example)
                or (_PRODUCE.search(example) and _REAL_DATA.search(example)))


# --------------------------------------------------------------------------- the table

@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    where: tuple       # the sources that show it (README.md, man/PAGE, sfcrime COMMAND --help)
    kind: str          # the runner (RUNNERS below)
    how: str           # how it is run and checked, in words
    params: dict = dataclasses.field(default_factory=dict)


def _case(id, where, kind, how, **params):
    return Case(id, tuple(where), kind, how, params)


README_ = "README.md"
MAN_AGG, MAN_PRODUCE, MAN_SFCRIME = ("man/sfcrime-aggregate.1", "man/sfcrime-produce.1",
                                     "man/sfcrime.1")
HELP_AGG, HELP_PRODUCE = "sfcrime aggregate --help", "sfcrime produce --help"

# Oracles: ("batch", window, radio codes?) is tests/oracle.py; ("stream", dict) is
# tests/stream_oracle.py's Params (by, slide, top, filters, window).
BATCH_30M = ("batch", "30m", False)
README_PRODUCE = ("xz -dc ../shared/data/police-department-calls-for-service.json.xz | "
                  "$sf produce --topic police-calls --order event-time")
TOP5_BY_DISPOSITION = ("stream", dict(window="1h", slide="15m", by=("disposition",), top=5))

EXAMPLES = {
    # ----- producing the real data into a topic that is then aggregated
    README_PRODUCE: _case(
        "readme-produce", [README_], "produce_aggregate",
        "fills the topic every read-only topic example below reads (created with 6 partitions, as "
        "the tour's topic create does): all 199,999 sent; aggregate of the topic 0 late, the "
        "30-minute batch answer", shared=True),
    "xz -dc police-department-calls-for-service.json.xz | sfcrime produce --topic police-calls "
    "--order event-time": _case(
        "produce-event-time", [MAN_PRODUCE, HELP_PRODUCE], "produce_aggregate",
        "into a fresh 6-partition topic: all sent; then aggregate --from-beginning --exit-at-end "
        "of it: 0 late, the 30-minute batch answer"),
    "xz -dc police-department-calls-for-service.json.xz | sfcrime produce --topic police-calls "
    "--file - --order event-time": _case(
        "sfcrime1-produce", [MAN_SFCRIME], "produce_aggregate",
        "as produce-event-time"),
    "TMPDIR=/var/tmp sfcrime produce -t police-calls -f calls.json --order event-time": _case(
        "produce-tmpdir", [MAN_PRODUCE], "produce_aggregate",
        "as written (the sort spills to /var/tmp), then as produce-event-time"),
    "xz -dc police-department-calls-for-service.json.xz | sfcrime produce -t police-calls "
    "--order event-time --speedup 3600": _case(
        "produce-replay-man", [MAN_PRODUCE], "produce_aggregate",
        "--speedup 3600 replaced by 1440000 (5 s instead of 36 min); then as produce-event-time",
        replace=(("--speedup 3600", "--speedup %d" % LIVE_SPEEDUP),)),
    "xz -dc police-department-calls-for-service.json.xz | sfcrime produce --topic police-calls "
    "--order event-time --speedup 3600": _case(
        "produce-replay-help", [HELP_PRODUCE], "produce_aggregate",
        "as produce-replay-man", replace=(("--speedup 3600", "--speedup %d" % LIVE_SPEEDUP),)),

    # ----- the live demos: the query first, then the replay, then SIGINT
    "$sf aggregate --topic live --output-mode update --from-beginning --progress text &": _case(
        "readme-live", [README_], "live",
        "after the tour's `topic create live`, with its replay line: the query started in the "
        "background, the replay at once after it; --output json and --watermark 400h added, the "
        "replay at 1440000x; SIGINT once its progress lines counted every record: exit 130, "
        "summary 0 late, the last version of each row the 30-minute batch answer",
        produce="xz -dc ../shared/data/police-department-calls-for-service.json.xz | $sf produce "
                "--topic live --order event-time --speedup 3600",
        setup=("$sf topic create live --partitions 6 --replication-factor 1",)),
    "xz -dc ../shared/data/police-department-calls-for-service.json.xz | $sf produce --topic "
    "live --order event-time --speedup 3600": _case(
        "readme-live-replay", [README_], "live", "the replay of readme-live (run with it)",
        scenario="$sf aggregate --topic live --output-mode update --from-beginning --progress "
                 "text &"),
    "sfcrime aggregate --topic police-calls --output-mode update --from-beginning &": _case(
        "man-live", [MAN_AGG], "live",
        "after its topic create line, with its replay line, as readme-live (--progress text "
        "also added, to see when it has caught up)",
        setup=("sfcrime topic create police-calls --partitions 6",),
        produce="sfcrime produce --topic police-calls --order event-time --speedup 3600 "
                "--file calls.json"),
    "sfcrime produce --topic police-calls --order event-time --speedup 3600 --file calls.json":
        _case("man-live-replay", [MAN_AGG], "live", "the replay of man-live (run with it)",
              scenario="sfcrime aggregate --topic police-calls --output-mode update "
                       "--from-beginning &"),
    "sfcrime aggregate --topic live --output-mode update --from-beginning &": _case(
        "sfcrime1-live", [MAN_SFCRIME], "live", "as man-live",
        setup=("sfcrime topic create live --partitions 6 --replication-factor 1",),
        produce="sfcrime produce --topic live --order event-time --speedup 3600 --file calls.json"),
    "sfcrime produce --topic live --order event-time --speedup 3600 --file calls.json": _case(
        "sfcrime1-live-replay", [MAN_SFCRIME], "live", "the replay of sfcrime1-live (run with it)",
        scenario="sfcrime aggregate --topic live --output-mode update --from-beginning &"),

    # ----- aggregate of the topic produced in event-time order (shared, read only)
    "$sf aggregate --topic police-calls --window 30m --from-beginning --exit-at-end "
    "--radio-codes ../shared/data/radio_code.json": _case(
        "readme-table", [README_], "aggregate_topic",
        "as written (table), then with --output json: 30-minute batch answer with descriptions",
        oracle=("batch", "30m", True), output="table"),
    "$sf aggregate --topic police-calls --from-beginning -e --output json | head -1": _case(
        "readme-json-head", [README_], "aggregate_topic",
        "as written: the line is the batch answer's first row; without `| head -1`: every row "
        "and the summary", oracle=BATCH_30M, output="json", head=True),
    "sfcrime aggregate --topic police-calls --window 30m --from-beginning --exit-at-end": _case(
        "aggregate-30m", [MAN_AGG, HELP_AGG], "aggregate_topic",
        "as written (table), then with --output json", oracle=BATCH_30M, output="table"),
    "sfcrime aggregate --topic police-calls --window 30m --from-beginning -e": _case(
        "sfcrime1-aggregate-30m", [MAN_SFCRIME], "aggregate_topic", "as aggregate-30m",
        oracle=BATCH_30M, output="table"),
    "sfcrime aggregate -t police-calls --from-beginning -e -w 1h --slide 15m --top 5 "
    "--filter disposition=ARR,CIT": _case(
        "man-hopping-filter", [MAN_AGG], "aggregate_topic",
        "as written (table), then with --output json: stream oracle, 1h every 15m, top 5, "
        "ARR and CIT only (summary: the others filtered)",
        oracle=("stream", dict(window="1h", slide="15m", top=5,
                               filters=(("disposition", ("ARR", "CIT")),))), output="table"),
    "sfcrime aggregate --topic police-calls --from-beginning -e --filter "
    "'original_crime_type_name=Assault / Battery,Burglary,Robbery'": _case(
        "help-filter", [HELP_AGG], "aggregate_topic",
        "as written (table), then with --output json: stream oracle, 30m, three crime types",
        oracle=("stream", dict(window="30m", filters=(
            ("original_crime_type_name", ("Assault / Battery", "Burglary", "Robbery")),))),
        output="table"),
    "sfcrime aggregate --topic police-calls --from-beginning --output-mode update --trigger 5s "
    "--progress json": _case(
        "help-update-trigger", [HELP_AGG], "aggregate_topic",
        "goes on waiting for new records: --exit-at-end and --output json added; the last "
        "version of each row is the 30-minute batch answer, the progress reports count 0 late",
        oracle=BATCH_30M, output="json", mode="update", add=("--exit-at-end", "--output", "json")),
    "sfcrime aggregate -t police-calls --from-beginning -e -o json | jq -c -s "
    "'group_by(.window_start)[] | max_by(.count)'": _case(
        "man-jq", [MAN_AGG], "aggregate_topic",
        "as written: one row per window of the batch answer, each with its window's largest "
        "count; the summary (the rows themselves: readme-json-head)", oracle=BATCH_30M,
        output="json", jq=True),

    # ----- aggregate in a group, into topics (bounded with --exit-at-end)
    "sfcrime aggregate -t police-calls -g counters --from-beginning --output-topic "
    "calls-per-30m --late-topic calls-late --progress json 2>progress.ndjson": _case(
        "man-group-topics", [MAN_AGG], "aggregate_group",
        "after its two topic create lines; --exit-at-end added: the rows of the output topic "
        "(kcat) are the 30-minute batch answer, the late topic is empty, progress.ndjson "
        "counts every record and 0 late",
        setup=("sfcrime topic create calls-per-30m", "sfcrime topic create calls-late"),
        output_topic="calls-per-30m", late_topic="calls-late", stderr_file="progress.ndjson"),
    "sfcrime aggregate -t police-calls -g counters --exactly-once --from-beginning "
    "--output-topic calls-per-30m": _case(
        "man-exactly-once", [MAN_AGG], "aggregate_group",
        "calls-per-30m created first, as the example before it does; --exit-at-end added: the "
        "committed rows (read by kcat with isolation.level=read_committed, as its kcat line "
        "does) are the batch answer, each once",
        precreate=("sfcrime topic create calls-per-30m",), output_topic="calls-per-30m",
        committed=True),
    "sfcrime aggregate --topic police-calls --group calls-30m --exactly-once --from-beginning "
    "--output-topic calls-30m": _case(
        "help-exactly-once", [HELP_AGG], "aggregate_group",
        "as man-exactly-once, the topic calls-30m created first",
        precreate=("sfcrime topic create calls-30m",), output_topic="calls-30m",
        committed=True),
    "for i in 1 2 3; do sfcrime aggregate -t police-calls -g counters --scale-out "
    "--from-beginning -e --output-topic calls-per-30m --progress none & done; wait": _case(
        "man-scale-out", [MAN_AGG], "aggregate_group",
        "as written (three processes), calls-per-30m created first: three summaries with 0 "
        "late, the committed rows are the batch answer, each once",
        precreate=("sfcrime topic create calls-per-30m",), output_topic="calls-per-30m",
        committed=True, scale_out=3),

    # ----- aggregate of the file itself (file order: newest first), no broker
    "$sf aggregate --file calls.json --watermark 91d --window 1h --slide 15m --by disposition "
    "--top 5 --output csv": _case(
        "readme-file-csv", [README_], "aggregate_file",
        "as written, its CSV parsed: the stream oracle's replay of the file in file order with "
        "--watermark 91d finds no late record and gives these rows", oracle=TOP5_BY_DISPOSITION,
        output="csv"),
    "sfcrime aggregate --file calls.json --watermark 91d --window 1h --slide 15m --by disposition "
    "--top 5 --output csv": _case(
        "help-file-csv", [HELP_AGG], "aggregate_file", "as readme-file-csv",
        oracle=TOP5_BY_DISPOSITION, output="csv"),
    "xz -dc police-department-calls-for-service.json.xz | sfcrime aggregate --file - "
    "--watermark 91d -o csv --radio-codes radio_code.json": _case(
        "man-xz-csv", [MAN_AGG], "aggregate_file",
        "as written, its CSV parsed: the 30-minute batch answer with descriptions; the file's "
        "disorder (computed here) is under 91 days", oracle=("batch", "30m", True), output="csv"),
    "sfcrime aggregate --file calls.json --window 1h --watermark 91d --output csv": _case(
        "sfcrime1-file-csv", [MAN_SFCRIME], "aggregate_file", "as man-xz-csv, 1-hour windows",
        oracle=("batch", "1h", False), output="csv"),

    # ----- producing the real data, about something else: every record must be sent
    "sfcrime topic produce police-calls --file calls.json": _case(
        "help-topic-produce", [HELP_PRODUCE], "produce_only",
        "rpk's words; sends in file order, aggregated by none: all 199,999 sent"),
    "sfcrime produce -t police-calls -f calls.json --dead-letter-topic police-calls-rejected "
    "--dead-letter-file rejected.ndjson --failed-file failed.ndjson": _case(
        "produce-dead-letter", [MAN_PRODUCE, HELP_PRODUCE], "produce_only",
        "after the man page's topic create line: all sent, none kept as dead letter or failed; "
        "its kcat line shows nothing",
        setup=("sfcrime topic create police-calls-rejected --partitions 1",),
        then="kcat -C -b localhost:9092 -t police-calls-rejected -e -f '%h\\n%s\\n'",
        then_output="", kept=True),
    "sfcrime produce -t police-calls -f calls.json -z zstd -H source=cad -H batch=7": _case(
        "produce-zstd-headers", [MAN_PRODUCE, HELP_PRODUCE], "produce_only",
        "all sent; the man page's kcat line shows the headers",
        then="kcat -C -b localhost:9092 -t police-calls -e -f '%h\\n' | head -1",
        then_output="source=cad,batch=7\n"),
    "xz -dc police-department-calls-for-service.json.xz | sfcrime produce -t police-calls "
    "--skip 57204": _case(
        "produce-skip", [MAN_PRODUCE], "produce_only",
        "a resume: the records after 57204 all sent, 57204 skipped", skip=57204),
    "sfcrime -b kafka1:9092,kafka2:9092 produce -t police-calls -f calls.json --key address":
        _case("produce-key", [MAN_PRODUCE], "produce_only",
              "the test broker for kafka1:9092,kafka2:9092: all sent",
              replace=(("-b kafka1:9092,kafka2:9092", "-b {broker}"),)),
}


# --------------------------------------------------------------------------- coverage

@pytest.fixture(scope="module")
def found_examples(sfcrime_bin):
    cache = {}

    def get(document):
        if document not in cache:
            cache[document] = examples_of(document, sfcrime_bin)
        return cache[document]
    return get


@pytest.mark.parametrize("document", documents())
def test_documented_examples_are_covered(document, found_examples):
    found = found_examples(document)
    problems = []
    for source, examples in found.items():
        for example in examples:
            if not involves_real_data(example):
                continue
            case = EXAMPLES.get(example)
            if case is None or source not in case.where:
                problems.append("documented example not covered by "
                                "tests/integration/test_examples.py: %r (%s)" % (example, source))
    for example, case in EXAMPLES.items():
        for source in case.where:
            if document_of(source) == document and example not in found.get(source, []):
                problems.append("table entry %s no longer in %s: %r" % (case.id, source, example))
    assert not problems, "\n".join(problems)


def test_table_is_consistent():
    docs = set(documents())
    ids = collections.Counter(c.id for c in EXAMPLES.values())
    assert not [i for i, n in ids.items() if n > 1], ids
    for example, case in EXAMPLES.items():
        assert case.where, case.id
        assert all(document_of(s) in docs for s in case.where), (case.id, case.where)
        assert involves_real_data(example), "%s is not an example the test keeps" % case.id
        assert case.kind in RUNNERS, case.id
        partner = case.params.get("scenario")
        assert partner is None or EXAMPLES[partner].params.get("produce") == example, case.id


# The lines of a case that are not examples of their own but that it runs as written: they must
# be in one of the documents that show the example (precreate: the test's own, not documented).
COMPANIONS = ("setup", "then", "produce", "scenario")


def test_companion_lines_are_documented(found_examples):
    everything = {}
    for document in documents():
        everything.update(found_examples(document))
    missing = []
    for case in EXAMPLES.values():
        for what in COMPANIONS:
            lines = case.params.get(what, ())
            for line in [lines] if isinstance(lines, str) else lines:
                if not any(line in everything.get(source, []) for source in case.where):
                    missing.append("%s: its %s line %r is in none of %s" % (case.id, what, line,
                                                                            case.where))
    assert not missing, "\n".join(missing)


def test_help_commands_are_known(sfcrime_bin):
    words = [w for w in _listed_words(_help_text(sfcrime_bin), "Commands:") if w != "help"]
    assert sorted(words) == sorted(COMMANDS), "COMMANDS is out of date: the binary lists %r" % words


def test_extraction():
    lines = logical_lines([
        "$sf x --a \\", "    --b   # comment", "xz -dc f |   # c", "    $sf produce -t t",
        "for i in 1 2; do", "    $sf aggregate -e &", "done; wait", "# only a comment",
        "$sf consume --format '%p # not a comment'  # a comment"])
    assert lines == ["$sf x --a --b", "xz -dc f | $sf produce -t t",
                     "for i in 1 2; do $sf aggregate -e & done; wait",
                     "$sf consume --format '%p # not a comment'"]
    assert roff_plain(r"sfcrime \-\-format \(aq%p\en\(aq \e") == "sfcrime --format '%p\\n' \\"
    assert involves_real_data("sfcrime aggregate --topic t")
    assert involves_real_data("xz -dc police-department-calls-for-service.json.xz | sfcrime "
                              "produce -t t")
    assert not involves_real_data("sfcrime produce -t t -f calls.ndjson")
    assert not involves_real_data("sfcrime consume -t A | sfcrime produce -t B")
    assert not involves_real_data("sfcrime produce: 199999 read, 0 sent")


# --------------------------------------------------------------------------- running examples

@dataclasses.dataclass
class Real:
    calls_json: pathlib.Path   # the real file decompressed
    records: list              # its records in file order
    disorder_ms: int           # the largest (newest seen so far - this record) in file order
    span_ms: int               # newest - oldest event time


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    if not REAL_FILE.exists():
        pytest.skip("real data not present at %s" % REAL_FILE)
    d = tmp_path_factory.mktemp("real")
    calls = d / "calls.json"
    with open(calls, "wb") as f:
        subprocess.run(["xz", "-dc", str(REAL_FILE)], stdout=f, check=True, timeout=120)
    records = oracle.load_records(calls)
    assert len(records) == REAL_RECORDS
    newest, disorder = so.NEG_INF, 0
    times = [so.parse_time_ms(r["call_date_time"]) for r in records]
    for t in times:
        newest = max(newest, t)
        disorder = max(disorder, newest - t)
    return Real(calls, records, disorder, max(times) - min(times))


@functools.lru_cache(maxsize=None)
def _radio():
    return oracle.load_radio_codes(RADIO_CODES)


_ORACLES = {}


def expected_rows(real, spec, watermark=None):
    """The answer of oracle `spec` over the real data, as (rows projected on the row fields, by,
    filtered count). Stream oracle: over the file order with `watermark` (the example's own, for
    an example that reads the file in file order; none found late), or with a watermark longer
    than any disorder (then any order gives the batch answer)."""
    key = (repr(spec), watermark)
    if key not in _ORACLES:
        if spec[0] == "batch":
            _, window, radio = spec
            rows = oracle.aggregate(real.records, oracle.parse_window(window),
                                    _radio() if radio else None)
            _ORACLES[key] = (rows, ("original_crime_type_name",), 0)
        else:
            p = dict(spec[1])
            top = p.pop("top", None)
            p.setdefault("by", ("original_crime_type_name",))
            res = so.run(real.records, so.Params(watermark=watermark or "36500d", **p))
            assert res.late == 0 and res.invalid == 0, (
                "the stream oracle finds %d late records with --watermark %s" % (res.late,
                                                                                  watermark))
            rows = [so.project(r, p["by"]) for r in so.apply_top(res.rows, top)]
            _ORACLES[key] = (rows, p["by"], res.filtered)
    return _ORACLES[key]


def check_rows(real, spec, rows, what, mode="append", watermark=None):
    expected, by, _ = expected_rows(real, spec, watermark)
    if mode == "append":
        assert all(r.get("final") is True for r in rows), "%s: a row without final: true" % what
    view = so.final_view(rows, mode, by)
    if spec[0] == "batch":
        h.assert_rows_match(view, expected)
    else:
        d = so.diff_rows(view, expected, by)
        assert not d, "%s differs from the stream oracle: %s" % (what, d)


_SUMMARY = re.compile(r"^sfcrime aggregate: (\d+) records, (\d+) late, (\d+) invalid, "
                      r"(\d+) filtered,", re.M)


def check_summary(stderr, what, filtered=0):
    """The one summary line says every record was read, none late, invalid or (but `filtered`)
    filtered; no late warning."""
    found = _SUMMARY.findall(stderr)
    assert len(found) == 1, "%s: %d summary lines on stderr:\n%s" % (what, len(found),
                                                                      stderr[-3000:])
    got = tuple(map(int, found[0]))
    assert got == (REAL_RECORDS, 0, 0, filtered), (
        "%s: the summary says %d records, %d late, %d invalid, %d filtered; expected %d records, "
        "0 late, 0 invalid, %d filtered:\n%s" % ((what,) + got + (REAL_RECORDS, filtered,
                                                                   stderr[-3000:])))
    assert "were late" not in stderr, "%s: a late warning:\n%s" % (what, stderr[-3000:])


def csv_rows(stdout, by):
    reader = csv.DictReader(io.StringIO(stdout))
    header = ["window_start", "window_end", *by, "count", "usual_disposition",
              "usual_disposition_description", "window_total", "window_distinct", "final",
              "batch_id"]
    assert reader.fieldnames == header, "CSV header %r, expected %r" % (reader.fieldnames, header)
    rows = []
    for r in reader:
        for k in ("count", "window_total", "window_distinct", "batch_id"):
            r[k] = int(r[k])
        r["final"] = {"true": True, "false": False}[r["final"]]
        if r["usual_disposition_description"] == "":
            r["usual_disposition_description"] = None  # null is an empty field
        rows.append(r)
    return rows


class Runner:
    """Runs example text through bash as a user would (see the module docstring), with unique
    names for topics and groups; deletes what it created."""

    def __init__(self, tmp_path, broker, kcat, real):
        self.broker, self.kcat = broker, kcat
        data = tmp_path / "shared" / "data"
        data.mkdir(parents=True)
        self.cwd = tmp_path / "work"
        self.cwd.mkdir()
        bindir = tmp_path / "bin"
        bindir.mkdir()
        (bindir / "sfcrime").symlink_to(BIN.resolve())
        for d in (data, self.cwd):
            (d / REAL_FILE.name).symlink_to(REAL_FILE)
            (d / RADIO_CODES.name).symlink_to(RADIO_CODES)
        (self.cwd / "calls.json").symlink_to(real.calls_json)
        self.env = clean_env({"PATH": "%s:%s" % (bindir, os.environ.get("PATH", "")),
                              "sf": str(BIN.resolve())})
        if broker:
            self.env["SFCRIME_BOOTSTRAP_SERVERS"] = broker
        self.names, self.topics, self.groups = {}, set(), set()

    def name(self, doc_name, kind="topic"):
        """The unique name that stands for `doc_name` (a topic, or a group with kind='group'; the
        same for both when the example uses the word for both)."""
        if doc_name not in self.names:
            self.names[doc_name] = "ex-%s-%s" % (doc_name, uuid.uuid4().hex[:10])
        (self.groups if kind == "group" else self.topics).add(self.names[doc_name])
        return self.names[doc_name]

    def use(self, doc_name, actual):
        self.names[doc_name] = actual

    def text(self, example, add=(), replace=()):
        for old, new in replace:
            assert old in example, "%r not in %r" % (old, example)
            example = example.replace(old, new.format(broker=self.broker))
        for old, new in self.names.items():
            example = re.sub(r"(?<![\w.-])%s(?![\w.-])" % re.escape(old), new, example)
        # The docs' examples name scripts/kafka's default address; one that reaches a broker runs
        # against the broker scripts/test brought up, never that one.
        if DOCUMENTED_BROKER in example:
            assert self.broker, "an example naming a broker, run without one: %r" % example
            example = example.replace(DOCUMENTED_BROKER, self.broker)
        if add:
            example = re.sub(r"\baggregate\b", "aggregate " + " ".join(map(str, add)), example,
                             count=1)
        return example

    def shell(self, text, timeout=300):
        return subprocess.run(["bash", "-c", text], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, encoding="utf-8", errors="replace",
                              timeout=timeout)

    def run(self, example, what, add=(), replace=(), timeout=300):
        """Runs `example` (self.text); it must exit 0."""
        p = self.shell(self.text(example, add, replace), timeout)
        assert p.returncode == 0, "%s exited %d:\n%s" % (what, p.returncode, p.stderr[-3000:])
        return p

    def create_topic(self, doc_name, partitions=6):
        topic = self.name(doc_name)
        p = self.shell("sfcrime topic create %s --partitions %d" % (topic, partitions), 60)
        assert p.returncode == 0, p.stderr
        h.wait_topic_ready(self.kcat, self.broker, topic, partitions)
        return topic

    def setup(self, line):
        """A `topic create` line of the example's own block, then the wait for the topic."""
        m = re.search(r"topic create (\S+)(?: --partitions (\d+))?", line)
        assert m, line
        self.name(m.group(1))
        p = self.run(line, "setup line %r" % line, timeout=60)
        h.wait_topic_ready(self.kcat, self.broker, self.names[m.group(1)], int(m.group(2) or 1))
        return p

    def close(self):
        if not self.broker:
            return
        internal = ["%s-aggregate-%s" % (g, s) for g in self.groups for s in (
            "changelog", "repartition", "rows", "scaleout-changelog", "done")]
        names = sorted(self.topics) + internal
        if names:
            subprocess.run([str(BIN), "-b", self.broker, "topic", "delete", *names, "--if-exists"],
                           capture_output=True, timeout=120, env=clean_env())
        if self.groups:
            subprocess.run([str(BIN), "-b", self.broker, "group", "delete", *sorted(self.groups)],
                           capture_output=True, timeout=120, env=clean_env())


def aggregate_topic_answer(run, real, topic, what):
    """`aggregate --topic T --from-beginning --exit-at-end --output json`: 0 late, the 30-minute
    batch answer."""
    p = run.shell("sfcrime aggregate --topic %s --from-beginning --exit-at-end --output json"
                  % topic, 300)
    assert p.returncode == 0, "%s: aggregate exited %d:\n%s" % (what, p.returncode, p.stderr)
    check_summary(p.stderr, what + ", then aggregate")
    check_rows(real, BATCH_30M, h.parse_json_lines(p.stdout), what + ", then aggregate")


def check_produced(stderr, what, read=REAL_RECORDS):
    assert h.produce_summary(stderr) == (read, read, 0, 0), "%s:\n%s" % (what, stderr[-3000:])


def run_produce_aggregate(case, example, run, real, shared):
    if case.params.get("shared"):
        topic, stderr = shared
    else:
        topic = run.create_topic("police-calls")
        stderr = run.run(example, case.id, replace=case.params.get("replace", ())).stderr
    check_produced(stderr, case.id)
    aggregate_topic_answer(run, real, topic, case.id)


def run_produce_only(case, example, run, real, shared):
    run.create_topic("police-calls")
    for line in case.params.get("setup", ()):
        run.setup(line)
    p = run.run(example, case.id, replace=case.params.get("replace", ()))
    skip = case.params.get("skip", 0)
    check_produced(p.stderr, case.id, REAL_RECORDS - skip)
    if skip:
        assert "; %d skipped" % skip in p.stderr, p.stderr
    if case.params.get("kept"):
        for what in ("dead-letter topic", "dead-letter file", "failed file"):
            assert re.search(r"; 0 kept in %s" % what, p.stderr), "%s: %s" % (what, p.stderr)
    if "then" in case.params:
        q = run.run(case.params["then"], case.id + ", then", timeout=120)
        assert q.stdout == case.params["then_output"], (case.id, q.stdout[:500])


def run_aggregate_topic(case, example, run, real, shared):
    topic, _ = shared
    run.use("police-calls", topic)
    spec = case.params["oracle"]
    filtered = expected_rows(real, spec)[2]
    mode = case.params.get("mode", "append")
    if case.params.get("add"):  # a bounded run: only that one
        p = run.run(example, case.id, add=case.params["add"])
        check_summary(p.stderr, case.id, filtered)
        reports = h.progress_reports(p.stderr)
        assert reports and sum(r["numLateRecords"] for r in reports) == 0, p.stderr[-3000:]
        check_rows(real, spec, h.parse_json_lines(p.stdout), case.id, mode)
        return
    p = run.run(example, case.id)
    if case.params.get("head"):
        expected, _, _ = expected_rows(real, spec)
        got = h.parse_json_lines(p.stdout)
        assert len(got) == 1, p.stdout[:2000]
        h.assert_rows_match(got, expected[:1])
        example = example.rsplit("|", 1)[0]
        p = run.run(example, case.id + " without | head -1")
    elif case.params.get("jq"):
        check_summary(p.stderr, case.id, filtered)
        if shutil.which("jq") is None:
            pytest.skip("jq is not installed: the example ran, its rows were not checked")
        expected, _, _ = expected_rows(real, spec)
        best = {}
        for r in expected:
            best[r["window_start"]] = max(best.get(r["window_start"], 0), r["count"])
        got = h.parse_json_lines(p.stdout)
        assert sorted(r["window_start"] for r in got) == sorted(best), "jq: not one row a window"
        rows = {(r["window_start"], r["original_crime_type_name"]): r for r in expected}
        for r in got:
            k = (r["window_start"], r["original_crime_type_name"])
            assert k in rows and r["count"] == best[r["window_start"]], r
            assert {f: r[f] for f in h.ORACLE_KEYS} == rows[k], r
        return
    check_summary(p.stderr, case.id, filtered)
    if case.params["output"] == "table":
        p = run.run(example, case.id + " with --output json", add=("--output", "json"))
        check_summary(p.stderr, case.id + " with --output json", filtered)
    check_rows(real, spec, h.parse_json_lines(p.stdout), case.id, mode)


def _kcat_rows(run, topic, committed):
    p = subprocess.run([run.kcat, "-b", run.broker, "-X", "isolation.level=" + (
        "read_committed" if committed else "read_uncommitted"), "-C", "-t", topic, "-o",
        "beginning", "-e", "-J", "-q"], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    out = []
    for line in p.stdout.decode("utf-8").splitlines():
        if line.strip():
            m = json.loads(line)
            out.append((m["key"], json.loads(m["payload"])))
    return out


_SCALE_OUT_SUMMARY = re.compile(r"^sfcrime aggregate: (\d+) records regrouped, (\d+) late, "
                                r"(\d+) invalid, (\d+) filtered,", re.M)


def run_aggregate_group(case, example, run, real, shared):
    topic, _ = shared
    run.use("police-calls", topic)
    run.name(re.search(r"(?:-g|--group) (\S+)", example).group(1), "group")
    for line in case.params.get("setup", ()) + case.params.get("precreate", ()):
        run.setup(line)
    processes = case.params.get("scale_out")
    p = run.run(example, case.id, add=() if processes else ("--exit-at-end",), timeout=300)
    stderr = p.stderr
    if case.params.get("stderr_file"):
        stderr = (run.cwd / case.params["stderr_file"]).read_text(encoding="utf-8")
        reports = h.progress_reports(stderr)
        assert sum(r["numInputRows"] for r in reports) == REAL_RECORDS, stderr[-3000:]
        assert sum(r["numLateRecords"] for r in reports) == 0, stderr[-3000:]
    if processes:
        found = [tuple(map(int, m)) for m in _SCALE_OUT_SUMMARY.findall(stderr)]
        assert len(found) == processes and "error:" not in stderr, stderr[-3000:]
        assert all(late == 0 and inv == 0 for _, late, inv, _ in found), stderr[-3000:]
        assert sum(n for n, _, _, _ in found) >= REAL_RECORDS, stderr[-3000:]
    else:
        check_summary(stderr, case.id)
    keyed = _kcat_rows(run, run.names[case.params["output_topic"]], case.params.get("committed"))
    for key, row in keyed:
        assert json.loads(key) == [row["window_start"], row["original_crime_type_name"]], key
    check_rows(real, BATCH_30M, [r for _, r in keyed], case.id + ": the output topic")
    if case.params.get("late_topic"):
        late = _kcat_rows(run, run.names[case.params["late_topic"]], False)
        assert late == [], "%d records on the late topic" % len(late)


def run_aggregate_file(case, example, run, real, shared):
    spec = case.params["oracle"]
    p = run.run(example, case.id)
    check_summary(p.stderr, case.id)
    m = re.search(r"--watermark (\S+)", example)
    watermark = m.group(1) if m else "1h"
    if spec[0] == "batch":  # the batch oracle has no watermark: the file's disorder must be less
        assert real.disorder_ms < so.parse_duration_ms(watermark), (
            "the file is %dd %dh %dm out of event-time order, more than --watermark %s" % (
                real.disorder_ms // 86_400_000, real.disorder_ms // 3_600_000 % 24,
                real.disorder_ms // 60_000 % 60, watermark))
        expected_watermark = None
    else:
        expected_watermark = watermark
    _, by, _ = expected_rows(real, spec, expected_watermark)
    check_rows(real, spec, csv_rows(p.stdout, by), case.id, watermark=expected_watermark)


_LIVE_DONE = {}


def run_live(case, example, run, real, shared):
    agg_example = case.params.get("scenario", example)
    if agg_example not in _LIVE_DONE:
        try:
            _live(EXAMPLES[agg_example], agg_example, run, real)
            _LIVE_DONE[agg_example] = None
        except Exception as e:  # the partner line reports the same failure
            _LIVE_DONE[agg_example] = e
            raise
    if _LIVE_DONE[agg_example] is not None:
        raise AssertionError("its scenario %s failed: %s" % (EXAMPLES[agg_example].id,
                                                             _LIVE_DONE[agg_example]))


def _live(case, agg_example, run, real):
    if case.params.get("setup"):
        for line in case.params["setup"]:
            run.setup(line)
    else:
        run.create_topic("police-calls")
    add = ["--output", "json", "--watermark", LIVE_WATERMARK]
    if "--progress" not in agg_example:
        add += ["--progress", "text"]
    agg_text = "exec " + run.text(agg_example.rstrip(" &"), add=add)
    rows_path = run.cwd / "live-rows.ndjson"
    seen, lines, caught_up = [0], [], threading.Event()
    with open(rows_path, "w", encoding="utf-8") as out:
        agg = subprocess.Popen(["bash", "-c", agg_text], cwd=run.cwd, env=run.env, stdout=out,
                               stderr=subprocess.PIPE, text=True, encoding="utf-8",
                               errors="replace")

        def read_stderr():
            for line in agg.stderr:
                lines.append(line)
                m = re.search(r": batch \d+: (\d+) in,", line)
                if m:
                    seen[0] += int(m.group(1))
                    if seen[0] >= REAL_RECORDS:
                        caught_up.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        watchdog = threading.Timer(180, agg.kill)
        watchdog.start()
        try:
            start = time.monotonic()
            p = run.run(case.params["produce"], case.id + "'s replay",
                        replace=(("--speedup 3600", "--speedup %d" % LIVE_SPEEDUP),))
            seconds = time.monotonic() - start
            check_produced(p.stderr, case.id + "'s replay")
            assert seconds >= 0.5 * real.span_ms / 1000 / LIVE_SPEEDUP, "not a replay: %.1f s" % (
                seconds)
            assert caught_up.wait(60), "the query counted %d of %d records:\n%s" % (
                seen[0], REAL_RECORDS, "".join(lines)[-3000:])
            assert agg.poll() is None, "the query ended by itself:\n" + "".join(lines)[-3000:]
            agg.send_signal(signal.SIGINT)
            agg.wait(timeout=60)
            reader.join(timeout=10)
        finally:
            watchdog.cancel()
            if agg.poll() is None:
                agg.kill()
                agg.wait()
    err = "".join(lines)
    assert agg.returncode == 130, "the query exited %d after SIGINT:\n%s" % (agg.returncode,
                                                                            err[-3000:])
    check_summary(err, case.id)
    rows = h.parse_json_lines(rows_path.read_text(encoding="utf-8"))
    check_rows(real, BATCH_30M, rows, case.id, mode="update")


RUNNERS = {
    "produce_aggregate": run_produce_aggregate, "produce_only": run_produce_only,
    "aggregate_topic": run_aggregate_topic, "aggregate_group": run_aggregate_group,
    "aggregate_file": run_aggregate_file, "live": run_live,
}
NO_BROKER = {"aggregate_file"}


@pytest.fixture(scope="module")
def shared_topic(sfcrime_bin, broker, kcat, real, tmp_path_factory):
    """The topic of the read-only topic examples, filled by the tour's produce line:
    (topic, produce's stderr)."""
    run = Runner(tmp_path_factory.mktemp("shared"), broker, kcat, real)
    try:
        topic = run.create_topic("police-calls")
        p = run.run(README_PRODUCE, "the tour's produce line")
        yield topic, p.stderr
    finally:
        run.close()


def _params():
    out = []
    for example, case in EXAMPLES.items():
        marks = [pytest.mark.realdata]
        if case.kind not in NO_BROKER:
            marks.append(pytest.mark.broker)
        out.append(pytest.param(example, id=case.id, marks=marks))
    return out


@pytest.mark.parametrize("example", _params())
def test_example(example, request, sfcrime_bin, real, tmp_path):
    case = EXAMPLES[example]
    broker = kcat = shared = None
    if case.kind not in NO_BROKER:
        broker, kcat = request.getfixturevalue("broker"), request.getfixturevalue("kcat")
        if case.kind != "live":
            shared = request.getfixturevalue("shared_topic")
    run = Runner(tmp_path, broker, kcat, real)
    try:
        RUNNERS[case.kind](case, example, run, real, shared)
    finally:
        run.close()
