"""scripts/test hands the broker it brought up on to the tests (issue 15, item 5): pytest gets
SFCRIME_TEST_BOOTSTRAP=localhost:$SFCRIME_KAFKA_PORT (9092 by default) unless SFCRIME_TEST_BOOTSTRAP
is set already, and the benchmark smoke runs get the same broker.

scripts/test runs in a copy of its folder layout where every command it calls (install-deps,
build, kafka, fuzz-smoke, the benchmarks, ctest, python3) is a stub that records its arguments and
the SFCRIME_* variables it was given; nothing is built, started or tested for real.
"""
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import ROOT

STUB = """#!/usr/bin/env bash
{ printf '%s' "$(basename "$0")"; printf ' %s' "$@"; echo
  env | grep '^SFCRIME_' | sort | sed 's/^/  /'; } >>"$STUB_LOG"
"""


@pytest.fixture
def sandbox(tmp_path):
    repo = tmp_path / "repo"
    for d in ("scripts", "bench", "stubs"):
        (repo / d).mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test", repo / "scripts" / "test")
    for path in ("scripts/install-deps", "scripts/build", "scripts/kafka", "scripts/fuzz-smoke", "bench/run.py",
                 "bench/memory.py", "stubs/ctest", "stubs/python3"):
        (repo / path).write_text(STUB)
        (repo / path).chmod(0o755)
    return repo


def run_script(repo, **env):
    log = repo / "calls.log"
    e = {k: v for k, v in os.environ.items() if not k.startswith("SFCRIME_")}
    e.update(env, STUB_LOG=str(log), PATH="%s:%s" % (repo / "stubs", os.environ["PATH"]))
    p = subprocess.run(["bash", str(repo / "scripts" / "test")], env=e, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    calls = {}  # command -> [its line, then its SFCRIME_* variables]
    for entry in log.read_text().split("\n"):
        if entry and not entry.startswith("  "):
            name = entry.split(" ", 1)[0]
            calls[name] = [entry]
        elif entry:
            calls[name].append(entry.strip())
    return calls


@pytest.mark.parametrize("env,bootstrap", [
    ({"SFCRIME_KAFKA_PORT": "29511"}, "localhost:29511"),
    ({"SFCRIME_KAFKA_PORT": "29511", "SFCRIME_TEST_BOOTSTRAP": "broker.example:9093"}, "broker.example:9093"),
])
def test_the_tests_get_the_broker_scripts_test_brought_up(sandbox, env, bootstrap):
    calls = run_script(sandbox, **env)
    assert calls["python3"][0].startswith("python3 -m pytest"), calls
    assert "SFCRIME_TEST_BOOTSTRAP=" + bootstrap in calls["python3"][1:], calls["python3"]
    assert calls["run.py"][0].endswith("--bootstrap-servers " + bootstrap), calls["run.py"]
    assert calls["kafka"][0] == "kafka up", calls["kafka"]
