"""Helpers for the tests of `sfcrime aggregate --scale-out` (tests/integration/test_scale_out.py
and tests/soak/test_scale_out_kill.py): the arguments of a scale-out process, the names of the
group's internal topics, cleaning them up, and reading the summary line and the task assignments
a process reports on stderr. Background runs, kcat read-back and Kafka's own tools are
tests/integration/exactly_once_helpers.py's. Nothing here computes an expected answer.

Names the program derives from the group G (the interface of --scale-out):
  G-aggregate-repartition        P partitions (P: the input's), records keyed by group key
  G-aggregate-rows               P partitions, changed rows keyed by window start
  G-aggregate-scaleout-changelog 2 x P partitions, cleanup.policy=compact (task state)
  G-aggregate-done               1 partition, cleanup.policy=compact (a marker per assemble task
                                 whose final batch committed; -e exits once all are there)
"""
import re
import subprocess

from conftest import ROOT, load_module

eo = load_module("sfcrime_exactly_once_helpers",
                 ROOT / "tests" / "integration" / "exactly_once_helpers.py")
h = eo.h

PUNCTUATION_KEY = "~punctuation"  # key of the stages' punctuation messages in internal topics


def so_args(topic, group, *extra):
    """The arguments (after `-b BROKER`) of a scale-out aggregate of `topic` in `group`, with a
    short session timeout (eo.SESSION) so that a killed process's tasks move within seconds."""
    return ["aggregate", "--topic", topic, "--group", group, "--scale-out", *eo.SESSION,
            *map(str, extra)]


def internal_topics(group):
    """{"repartition": ..., "rows": ..., "changelog": ..., "done": ...}: the group's internal
    topics."""
    return {"repartition": "%s-aggregate-repartition" % group,
            "rows": "%s-aggregate-rows" % group,
            "changelog": "%s-aggregate-scaleout-changelog" % group,
            "done": "%s-aggregate-done" % group}


def cleanup(bin_path, bootstrap, group):
    """Best effort: deletes the group's internal topics and the consumer group."""
    for t in internal_topics(group).values():
        try:
            h.sfcrime(bin_path, bootstrap, "topic", "delete", t, "--if-exists", timeout=60)
        except subprocess.TimeoutExpired:
            pass
    eo.cleanup_group(bin_path, bootstrap, group)


_SUMMARY = re.compile(r"sfcrime aggregate: (\d+) records regrouped, (\d+) late, (\d+) invalid, "
                      r"(\d+) filtered, (\d+) batches, (\d+) rows out, (\d+) rebalances, "
                      r"([0-9.]+) s")
_HOLDS = re.compile(r"this process holds (\d+) regroup, (\d+) aggregate, (\d+) assemble tasks")


def summary(stderr, what="sfcrime"):
    """The counters of the summary line "sfcrime aggregate: N records regrouped, L late, ..."
    as a dict (regrouped, late, invalid, filtered, batches, rows_out, rebalances, seconds).
    Per process; `regrouped` counts work done, aborted batches included."""
    m = _SUMMARY.search(stderr)
    assert m, "%s: no summary line on stderr:\n%s" % (what, stderr[-2000:])
    names = ("regrouped", "late", "invalid", "filtered", "batches", "rows_out", "rebalances")
    out = {k: int(v) for k, v in zip(names, m.groups())}
    out["seconds"] = float(m.group(8))
    return out


def holdings(stderr):
    """[(regroup, aggregate, assemble) tasks] of each assignment the process reported (printed
    with --progress text or json)."""
    return [tuple(map(int, m.groups())) for m in _HOLDS.finditer(stderr)]


def describe(run):
    """One line of figures about a finished eo.Run of a scale-out process."""
    s = summary(run.stderr(), run.name)
    return ("%s: %d regrouped, %d batches, %d rows out, %d rebalances, tasks %s, %.1f s" % (
        run.name, s["regrouped"], s["batches"], s["rows_out"], s["rebalances"],
        holdings(run.stderr()), s["seconds"]))


def regrouped(runs):
    """Input records regrouped by committed batches, as far as the --progress json reports of
    `runs` (eo.Run) tell: a committed batch is reported once, by the process that committed it
    (one killed right after a commit may not have reported it)."""
    return sum(r["numInputRows"] for run in runs for r in run.reports())
