"""Shared pytest fixtures for the CLI (tests/cli) and integration (tests/integration) tests.

The binary under test is $SFCRIME_BIN (default: build/sfcrime). Integration tests talk to the real
broker at $SFCRIME_TEST_BOOTSTRAP (default localhost:9092), which scripts/test brings up with
scripts/kafka (and sets to localhost:$SFCRIME_KAFKA_PORT unless it is set); every test names it
(-b, SFCRIME_BOOTSTRAP_SERVERS), none relies on sfcrime's default. When it does not answer they
fail (they are never silently skipped), unless SFCRIME_TEST_NO_BROKER=1 is set, which skips only
tests marked `broker`.
The real data is read from ../shared/data when present (tests needing it are marked `realdata`
and skipped when it is absent: a fresh machine without shared/ still runs everything else).
"""
import importlib.util
import os
import tempfile
import pathlib
import sys
import shutil
import subprocess
import uuid

import pytest

# Spawn with fork, not vfork. The fault and soak tests start processes from several threads at
# once; with vfork (CPython's default on Linux, which since gh-104372 lets other threads run while
# the child shares the parent's memory until it execs) one CI run failed to start the mock cluster
# with "OSError: [Errno 14] Bad address" (2026-11-21). fork costs a few ms more per process.
subprocess._USE_VFORK = False

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(os.environ.get("SFCRIME_BIN", ROOT / "build" / "sfcrime"))
BOOTSTRAP = os.environ.get("SFCRIME_TEST_BOOTSTRAP", "localhost:9092")
DATA = pathlib.Path(os.environ.get("SFCRIME_DATA", ROOT.parent / "shared" / "data"))
REAL_FILE = DATA / "police-department-calls-for-service.json.xz"
RADIO_CODES = DATA / "radio_code.json"


def load_module(name, path):
    """The module at `path`, loaded once under the unique `name`: a plain `import helpers` could
    pick up another directory's module of that name already in sys.modules when the whole tests/
    tree is collected."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def integration_helpers():
    """tests/integration/helpers.py (kcat read-back, oracle comparison, topics)."""
    return load_module("sfcrime_integration_helpers", ROOT / "tests" / "integration" / "helpers.py")


def pytest_configure(config):
    config.addinivalue_line("markers", "broker: needs the real Kafka broker")
    config.addinivalue_line("markers", "realdata: needs ../shared/data")
    config.addinivalue_line("markers", "soak: kills brokers of a throwaway cluster (tests/soak; "
                            "the long variants need SFCRIME_SOAK=1)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "realdata" in item.keywords and not REAL_FILE.exists():
            item.add_marker(pytest.mark.skip(reason=f"real data not present at {REAL_FILE}"))
        if "broker" in item.keywords and os.environ.get("SFCRIME_TEST_NO_BROKER") == "1":
            item.add_marker(pytest.mark.skip(reason="SFCRIME_TEST_NO_BROKER=1"))


# Where `produce` makes a failed file when none was given ($XDG_STATE_HOME/sfcrime): a directory
# of the test session's, not the developer's ~/.local/state.
STATE_HOME = tempfile.mkdtemp(prefix="sfcrime-tests-state-")
os.environ["XDG_STATE_HOME"] = STATE_HOME


def clean_env(extra=None):
    """A copy of os.environ for running sfcrime in a test: every SFCRIME_* variable removed,
    XDG_CONFIG_HOME pointing nowhere, so that neither the developer's settings nor their
    ~/.config/sfcrime/config leak into a test (a test sets XDG_CONFIG_HOME to use a file of its
    own), and XDG_STATE_HOME the session's STATE_HOME; plus the `extra` entries."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("SFCRIME_")}
    e["XDG_CONFIG_HOME"] = "/nonexistent/sfcrime-tests"
    e["XDG_STATE_HOME"] = STATE_HOME
    if extra:
        e.update(extra)
    return e


def run(*args, input=None, timeout=120, env=None, check=False):
    """Runs the sfcrime binary with `args`; returns subprocess.CompletedProcess (text mode).

    `env` entries are added to a copy of os.environ with every SFCRIME_* variable removed and
    XDG_CONFIG_HOME pointing nowhere, so the developer's own settings never leak into a test.
    """
    p = subprocess.run([str(BIN), *map(str, args)], input=input, capture_output=True, text=True,
                       encoding="utf-8", timeout=timeout, env=clean_env(env))
    if check and p.returncode != 0:
        raise AssertionError(f"sfcrime {' '.join(map(str, args))} exited {p.returncode}\n{p.stderr}")
    return p


@pytest.fixture(scope="session")
def sfcrime_bin():
    assert BIN.exists(), f"{BIN} is missing: build first (cmake --build build)"
    return BIN


@pytest.fixture(scope="session")
def broker(sfcrime_bin):
    """The bootstrap servers of the real broker; fails if it does not answer."""
    p = run("-b", BOOTSTRAP, "--timeout", "10s", "inspect", timeout=30)
    assert p.returncode == 0, f"broker {BOOTSTRAP} does not answer (scripts/kafka up):\n{p.stderr}"
    return BOOTSTRAP


@pytest.fixture
def topic(broker):
    """A fresh topic name with 3 partitions, deleted afterwards."""
    name = "test-" + uuid.uuid4().hex[:12]
    run("-b", broker, "topic", "create", name, "--partitions", "3", check=True)
    yield name
    run("-b", broker, "topic", "delete", name, "--if-exists")


@pytest.fixture(scope="session")
def kcat():
    path = shutil.which("kcat")
    assert path, "kcat is not installed (scripts/install-deps installs it)"
    return path
