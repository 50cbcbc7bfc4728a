"""Configuration precedence (flags > environment > config file > defaults), observed through
`sfcrime -X dump` and through the behaviour of a command; -X properties; secrets; config errors."""
import datetime
import json
import pathlib
import re
import subprocess
import sys
import time

import pytest

from conftest import run

SECRETS = {"sasl.password": "Pz-hunter2-file", "ssl.key.password": "Kp-4711-file"}


LINE = re.compile(r"^(\S+) = (.*?)  # (default|file|env|flag)(?: (.*))?$")


def dump(*args, env=None):
    """Runs `sfcrime ARGS -X dump`; returns (librdkafka properties, sfcrime settings, origins, the
    process). Every line but the two header comments is `key = value  # kind [where]`: origins
    maps each key to its kind (default, file, env, flag), `origins["where:" + key]` to the rest."""
    p = run(*args, "-X", "dump", env=env, timeout=20)
    assert p.returncode == 0, p.stderr
    return (*parse_config(p.stdout), p)


def parse_config(text):
    props, settings, origins = {}, {}, {}
    lines = text.splitlines()
    assert lines[0].startswith("# effective configuration"), text
    assert lines[1].startswith("# config file: "), text
    for line in lines[2:]:
        m = LINE.match(line)
        assert m, f"not a `key = value  # origin` line: {line!r}"
        key, value, kind, where = m.groups()
        (settings if key.startswith("sfcrime.") else props)[key] = value
        origins[key] = kind
        origins["where:" + key] = where or ""
    return props, settings, origins


def seconds(duration):
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", duration)
    assert m, duration
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def brokers(props):
    """The effective bootstrap servers as librdkafka sees them."""
    return props.get("bootstrap.servers", props.get("metadata.broker.list"))


@pytest.fixture
def conf(tmp_path):
    f = tmp_path / "sfcrime.conf"
    f.write_text(
        "# a config file as a user writes it\n"
        "\n"
        "bootstrap.servers = filehost:1111\n"
        "sfcrime.timeout=7s\n"
        "client.id = from-file\n"
        "   # an indented comment\n"
        "socket.keepalive.enable=true\n"
    )
    return f


def test_defaults(sfcrime_bin):
    props, settings, origins, p = dump()
    assert brokers(props) == "localhost:9092"
    assert origins["bootstrap.servers"] == "default"
    assert settings["sfcrime.timeout"] == "10s"
    assert origins["sfcrime.timeout"] == "default"
    assert p.stdout.splitlines()[1] == "# config file: none"
    # sfcrime's settings come first, then every librdkafka property with librdkafka's default
    keys = [x.split(" = ")[0] for x in p.stdout.splitlines()[2:]]
    assert keys[:3] == ["bootstrap.servers", "sfcrime.timeout", "sfcrime.radio.codes"]
    assert "client.id" in keys and origins["where:client.id"].startswith("librdkafka ")


def test_config_file(sfcrime_bin, conf):
    props, settings, origins, _ = dump("--config", conf)
    assert brokers(props) == "filehost:1111"
    assert origins["bootstrap.servers"] == "file"
    assert settings["sfcrime.timeout"] == "7s"
    assert origins["sfcrime.timeout"] == "file"
    assert props["client.id"] == "from-file"
    assert props["socket.keepalive.enable"] == "true"


def test_config_file_from_env(sfcrime_bin, conf):
    props, settings, origins, _ = dump(env={"SFCRIME_CONFIG": str(conf)})
    assert brokers(props) == "filehost:1111"
    assert origins["bootstrap.servers"] == "file"
    assert settings["sfcrime.timeout"] == "7s"
    assert props["client.id"] == "from-file"


def test_config_flag_beats_config_env(sfcrime_bin, conf, tmp_path):
    other = tmp_path / "other.conf"
    other.write_text("bootstrap.servers=otherhost:4444\n")
    props, settings, _, _ = dump("--config", other, env={"SFCRIME_CONFIG": str(conf)})
    assert brokers(props) == "otherhost:4444"
    assert settings["sfcrime.timeout"] == "10s"  # conf's 7s was not read
    assert props["client.id"] != "from-file"


def test_config_file_alias(sfcrime_bin, conf):
    props, _, _, _ = dump("--config-file", conf)
    assert brokers(props) == "filehost:1111"


def test_env_beats_file(sfcrime_bin, conf):
    env = {"SFCRIME_CONFIG": str(conf), "SFCRIME_BOOTSTRAP_SERVERS": "envhost:2222", "SFCRIME_TIMEOUT": "5s"}
    props, settings, origins, p = dump(env=env)
    assert brokers(props) == "envhost:2222"
    assert origins["bootstrap.servers"] == "env"
    assert origins["where:bootstrap.servers"] == "SFCRIME_BOOTSTRAP_SERVERS"
    assert settings["sfcrime.timeout"] == "5s"
    assert origins["sfcrime.timeout"] == "env"
    assert props["client.id"] == "from-file"  # untouched by the environment


def test_env_alone(sfcrime_bin):
    props, settings, origins, _ = dump(env={"SFCRIME_BOOTSTRAP_SERVERS": "envhost:2222,envhost2:2223",
                                            "SFCRIME_TIMEOUT": "3m"})
    assert brokers(props) == "envhost:2222,envhost2:2223"
    assert seconds(settings["sfcrime.timeout"]) == 180  # shown as 3m or 180s
    assert origins == {**origins, "bootstrap.servers": "env", "sfcrime.timeout": "env"}


def test_flags_beat_env_and_file(sfcrime_bin, conf):
    env = {"SFCRIME_CONFIG": str(conf), "SFCRIME_BOOTSTRAP_SERVERS": "envhost:2222", "SFCRIME_TIMEOUT": "5s"}
    props, settings, origins, _ = dump("-b", "flaghost:3333", "--timeout", "4s", "-X", "client.id=from-flag",
                                       env=env)
    assert brokers(props) == "flaghost:3333"
    assert origins["bootstrap.servers"] == "flag"
    assert settings["sfcrime.timeout"] == "4s"
    assert origins["sfcrime.timeout"] == "flag"
    assert props["client.id"] == "from-flag"
    assert props["socket.keepalive.enable"] == "true"  # the file's other properties still apply


def test_flags_after_command_word(sfcrime_bin, conf):
    env = {"SFCRIME_BOOTSTRAP_SERVERS": "envhost:2222"}
    props, settings, origins, _ = dump("inspect", "--config", conf, "-b", "flaghost:3333", "--timeout", "2s", env=env)
    assert brokers(props) == "flaghost:3333"
    assert settings["sfcrime.timeout"] == "2s"
    assert props["client.id"] == "from-file"


def test_long_flag_names(sfcrime_bin):
    props, settings, _, _ = dump("--bootstrap-servers", "longhost:1", "--property", "client.id=long-x")
    assert brokers(props) == "longhost:1"
    assert props["client.id"] == "long-x"


def test_dedicated_flag_beats_x_property(sfcrime_bin):
    props, _, origins, _ = dump("-X", "bootstrap.servers=xhost:1", "-b", "bhost:2")
    assert brokers(props) == "bhost:2"
    props, settings, _, _ = dump("-X", "sfcrime.timeout=3s", "--timeout", "8s")
    assert settings["sfcrime.timeout"] == "8s"


def test_x_property_is_a_flag(sfcrime_bin, conf):
    env = {"SFCRIME_CONFIG": str(conf), "SFCRIME_BOOTSTRAP_SERVERS": "envhost:2222", "SFCRIME_TIMEOUT": "5s"}
    props, settings, origins, _ = dump("-X", "bootstrap.servers=xhost:9", "-X", "sfcrime.timeout=6s", env=env)
    assert brokers(props) == "xhost:9"
    assert origins["bootstrap.servers"] == "flag"
    assert settings["sfcrime.timeout"] == "6s"
    assert origins["sfcrime.timeout"] == "flag"


def test_later_x_wins(sfcrime_bin):
    props, _, _, _ = dump("-X", "client.id=first", "-X", "client.id=second")
    assert props["client.id"] == "second"


def test_x_property_values(sfcrime_bin):
    props, _, _, _ = dump("-X", "linger.ms=37", "-X", "compression.codec=lz4")
    assert props["compression.codec"] == "lz4"
    assert props.get("queue.buffering.max.ms", props.get("linger.ms")) == "37"


def test_radio_codes_precedence(sfcrime_bin, tmp_path):
    f = tmp_path / "c.conf"
    f.write_text("sfcrime.radio.codes=/from/file.json\n")
    _, settings, origins, _ = dump("--config", f)
    assert (settings["sfcrime.radio.codes"], origins["sfcrime.radio.codes"]) == ("/from/file.json", "file")
    _, settings, origins, _ = dump("--config", f, env={"SFCRIME_RADIO_CODES": "/from/env.json"})
    assert (settings["sfcrime.radio.codes"], origins["sfcrime.radio.codes"]) == ("/from/env.json", "env")
    _, settings, origins, _ = dump("aggregate", "--topic", "t", "--config", f, "--radio-codes", "/from/flag.json",
                                   env={"SFCRIME_RADIO_CODES": "/from/env.json"})
    assert (settings["sfcrime.radio.codes"], origins["sfcrime.radio.codes"]) == ("/from/flag.json", "flag")


# --------------------------------------------------------------------------------------------
# secrets

def test_secrets_from_flags_not_printed(sfcrime_bin):
    p = run("-X", "sasl.password=Pz-hunter2-flag", "-X", "ssl.key.password=Kp-4711-flag",
            "-X", "ssl.keystore.password=Ks-0815-flag", "-X", "sasl.username=alice-flag", "-X", "dump", timeout=20)
    assert p.returncode == 0, p.stderr
    out = p.stdout + p.stderr
    for secret in ("Pz-hunter2-flag", "Kp-4711-flag", "Ks-0815-flag"):
        assert secret not in out
    # the keys are still listed (redacted), and a non-secret is shown as is
    assert re.search(r"^sasl\.password = (?!Pz)", p.stdout, re.M)
    assert re.search(r"^ssl\.key\.password = (?!Kp)", p.stdout, re.M)
    assert "alice-flag" in p.stdout


def test_secrets_from_file_not_printed(sfcrime_bin, tmp_path):
    f = tmp_path / "secret.conf"
    f.write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    for args, env in (([ "--config", f], None), ([], {"SFCRIME_CONFIG": str(f)})):
        p = run(*args, "-X", "dump", env=env, timeout=20)
        assert p.returncode == 0, p.stderr
        for v in SECRETS.values():
            assert v not in p.stdout + p.stderr
        assert "sasl.password" in p.stdout


def test_secrets_not_printed_verbose(sfcrime_bin):
    p = run("-vv", "-X", "sasl.password=Pz-hunter2-vv", "-X", "dump", timeout=20)
    assert p.returncode == 0, p.stderr
    assert "Pz-hunter2-vv" not in p.stdout + p.stderr
    assert re.search(r"^sasl\.password = ", p.stdout, re.M)


# --------------------------------------------------------------------------------------------
# configuration errors

def test_unknown_property_flag(sfcrime_bin):
    p = run("-X", "no.such.property=1", "-X", "dump", timeout=20)
    assert p.returncode == 78, p.stderr
    assert "'no.such.property'" in p.stderr
    assert p.stdout == ""


def test_unknown_property_with_command(sfcrime_bin):
    p = run("-b", "localhost:1", "--timeout", "1s", "-X", "no.such.property=1", "inspect", timeout=20)
    assert p.returncode == 78, p.stderr
    assert "no.such.property" in p.stderr


def test_unknown_property_in_file(sfcrime_bin, tmp_path):
    f = tmp_path / "u.conf"
    f.write_text("client.id=ok\nbogus.rdkafka.thing=1\n")
    p = run("--config", f, "-X", "dump", timeout=20)
    assert p.returncode == 78, p.stderr
    assert "bogus.rdkafka.thing" in p.stderr


def test_invalid_property_value(sfcrime_bin):
    p = run("-X", "acks=banana", "-X", "dump", timeout=20)
    assert p.returncode == 78, p.stderr
    assert "acks" in p.stderr and "banana" in p.stderr


@pytest.mark.parametrize("bad_line", ["this line has no equals sign", "=value-without-key"])
def test_bad_config_line(sfcrime_bin, tmp_path, bad_line):
    f = tmp_path / "bad.conf"
    f.write_text("# comment\nclient.id=fine\n" + bad_line + "\n")
    p = run("--config", f, "-X", "dump", timeout=20)
    assert p.returncode == 78, p.stderr
    assert str(f) in p.stderr
    assert re.search(r"line 3\b", p.stderr), p.stderr
    p = run("-X", "dump", env={"SFCRIME_CONFIG": str(f)}, timeout=20)
    assert p.returncode == 78, p.stderr


def test_unknown_sfcrime_key_in_file(sfcrime_bin, tmp_path):
    f = tmp_path / "foo.conf"
    f.write_text("sfcrime.timeout=5s\nsfcrime.foo=1\n")
    p = run("--config", f, "-X", "dump", timeout=20)
    assert p.returncode == 78, p.stderr
    assert "sfcrime.foo" in p.stderr
    assert str(f) in p.stderr


def test_unknown_sfcrime_key_in_flag(sfcrime_bin):
    p = run("-X", "sfcrime.foo=1", "-X", "dump", timeout=20)
    assert p.returncode == 78, p.stderr
    assert "sfcrime.foo" in p.stderr


def test_missing_config_file(sfcrime_bin, tmp_path):
    f = tmp_path / "absent.conf"
    p = run("--config", f, "-X", "dump", timeout=20)
    assert p.returncode == 78, p.stderr
    assert str(f) in p.stderr
    p = run("-X", "dump", env={"SFCRIME_CONFIG": str(f)}, timeout=20)
    assert p.returncode == 78, p.stderr
    assert str(f) in p.stderr


def test_bad_timeout_in_file_and_env(sfcrime_bin, tmp_path):
    f = tmp_path / "t.conf"
    f.write_text("sfcrime.timeout=soon\n")
    p = run("--config", f, "-X", "dump", timeout=20)
    assert p.returncode == 78, p.stderr
    assert "'soon'" in p.stderr
    p = run("-X", "dump", env={"SFCRIME_TIMEOUT": "whenever"}, timeout=20)
    assert p.returncode == 78, p.stderr
    assert "'whenever'" in p.stderr and "SFCRIME_TIMEOUT" in p.stderr


def test_x_without_equals_is_usage_error(sfcrime_bin):
    p = run("-X", "client.id", "-X", "dump", timeout=20)
    assert p.returncode == 64, p.stderr
    assert "-X expects key=value" in p.stderr


def test_x_without_equals_does_not_echo_a_secret(sfcrime_bin):
    # A password typed with ':' instead of '=' must not end up on the terminal or in a CI log.
    p = run("-X", "sasl.password:hunter2", "inspect", timeout=20)
    assert p.returncode == 64, p.stderr
    assert "hunter2" not in p.stderr + p.stdout


# --------------------------------------------------------------------------------------------
# precedence seen through what a command does, not only through -X dump

def timed(*args, env=None):
    start = time.monotonic()
    p = run(*args, env=env, timeout=60)
    return p, time.monotonic() - start


def test_file_settings_drive_the_command(sfcrime_bin, tmp_path):
    f = tmp_path / "down.conf"
    f.write_text("bootstrap.servers=localhost:1\nsfcrime.timeout=1s\n")
    p, elapsed = timed("--config", f, "inspect")
    assert p.returncode == 69, p.stderr
    assert "cannot reach broker 'localhost:1'" in p.stderr
    assert "1 s" in p.stderr
    assert elapsed < 8


def test_flag_timeout_beats_env_timeout(sfcrime_bin):
    p, elapsed = timed("-b", "localhost:1", "--timeout", "1s", "inspect", env={"SFCRIME_TIMEOUT": "60s"})
    assert p.returncode == 69, p.stderr
    assert elapsed < 8, f"--timeout 1s was not applied: took {elapsed:.1f} s"


def test_env_timeout_beats_file_timeout(sfcrime_bin, tmp_path):
    f = tmp_path / "slow.conf"
    f.write_text("bootstrap.servers=localhost:1\nsfcrime.timeout=60s\n")
    p, elapsed = timed("--config", f, "inspect", env={"SFCRIME_TIMEOUT": "1s"})
    assert p.returncode == 69, p.stderr
    assert "cannot reach broker 'localhost:1'" in p.stderr
    assert elapsed < 8


def test_flag_broker_beats_env_broker(sfcrime_bin):
    p, _ = timed("-b", "localhost:1", "--timeout", "1s", "inspect",
                 env={"SFCRIME_BOOTSTRAP_SERVERS": "localhost:2"})
    assert p.returncode == 69
    assert "'localhost:1'" in p.stderr


def test_env_broker_beats_file_broker(sfcrime_bin, tmp_path):
    f = tmp_path / "b.conf"
    f.write_text("bootstrap.servers=localhost:2\n")
    p, _ = timed("--config", f, "--timeout", "1s", "inspect", env={"SFCRIME_BOOTSTRAP_SERVERS": "localhost:1"})
    assert p.returncode == 69
    assert "'localhost:1'" in p.stderr


@pytest.mark.broker
def test_env_real_broker_beats_dead_file_broker(broker, tmp_path):
    f = tmp_path / "dead.conf"
    f.write_text("bootstrap.servers=localhost:1\nsfcrime.timeout=2s\n")
    p, _ = timed("--config", f, "inspect", env={"SFCRIME_BOOTSTRAP_SERVERS": broker})
    assert p.returncode == 0, p.stderr
    p, _ = timed("--config", f, "-b", broker, "inspect")
    assert p.returncode == 0, p.stderr
    p, elapsed = timed("--config", f, "inspect")
    assert p.returncode == 69
    assert elapsed < 8


# --------------------------------------------------------------------------------------------
# the default config file, profiles, defaults of command options, `sfcrime config`

def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_default_config_file_under_xdg_config_home(sfcrime_bin, tmp_path):
    f = write(tmp_path / "xdg" / "sfcrime" / "config", "bootstrap.servers=xdghost:1\nclient.id=from-xdg\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    props, _, origins, p = dump(env=env)
    assert brokers(props) == "xdghost:1"
    assert (origins["bootstrap.servers"], origins["where:bootstrap.servers"]) == ("file", f"{f} line 1")
    assert p.stdout.splitlines()[1] == f"# config file: {f}"
    assert run("config", "path", env=env).stdout == f"{f}\n"


def test_default_config_file_under_home(sfcrime_bin, tmp_path):
    f = write(tmp_path / "home" / ".config" / "sfcrime" / "config", "client.id=from-home\n")
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": ""}
    props, _, origins, _ = dump(env=env)
    assert props["client.id"] == "from-home"
    assert origins["where:client.id"] == f"{f} line 1"


def test_config_flag_and_env_replace_the_default_file(sfcrime_bin, tmp_path, conf):
    write(tmp_path / "xdg" / "sfcrime" / "config", "client.id=from-xdg\nstatistics.interval.ms=77\n")
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    for args, env in ((["--config", conf], xdg), ([], {**xdg, "SFCRIME_CONFIG": str(conf)})):
        props, _, origins, _ = dump(*args, env=env)
        assert props["client.id"] == "from-file"  # only one file is read, as kcat's -F
        assert origins["statistics.interval.ms"] == "default"


def test_without_a_config_file(sfcrime_bin, tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "empty")}
    p = run("config", "path", env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"{tmp_path / 'empty' / 'sfcrime' / 'config'}\n"
    assert "does not exist" in p.stderr
    _, _, _, p = dump(env=env)
    assert p.stdout.splitlines()[1] == "# config file: none"


PROFILES = (
    "bootstrap.servers=tophost:1\n"
    "client.id=top\n"
    "linger.ms=11\n"
    "\n"
    "[dev]\n"
    "client.id=dev\n"
    "\n"
    "[prod]\n"
    "bootstrap.servers=prodhost:2\n"
    "sasl.password=Pz-prod-secret\n"
)


@pytest.fixture
def profiles(tmp_path):
    return write(tmp_path / "profiles.conf", PROFILES)


def test_no_profile_applies_only_the_first_lines(sfcrime_bin, profiles):
    props, _, _, p = dump("--config", profiles)
    assert (brokers(props), props["client.id"]) == ("tophost:1", "top")
    assert "sasl.password" not in props  # prod's not applied


def test_profile_applies_on_top_of_the_first_lines(sfcrime_bin, profiles):
    props, _, origins, p = dump("--config", profiles, "--profile", "prod")
    assert (brokers(props), props["client.id"], props["linger.ms"]) == ("prodhost:2", "top", "11")
    assert origins["where:bootstrap.servers"] == f"{profiles} line 9, profile prod"
    assert origins["where:client.id"] == f"{profiles} line 2"
    assert props["sasl.password"] == "[redacted]" and "Pz-prod-secret" not in p.stdout
    assert p.stdout.splitlines()[1] == f"# config file: {profiles}, profile prod"


def test_profile_precedence_flag_env_file(sfcrime_bin, tmp_path):
    f = write(tmp_path / "p.conf", "sfcrime.profile=dev\n" + PROFILES)
    assert dump("--config", f)[0]["client.id"] == "dev"  # the file's own choice
    assert brokers(dump("--config", f, env={"SFCRIME_PROFILE": "prod"})[0]) == "prodhost:2"
    props = dump("--config", f, "--profile", "dev", env={"SFCRIME_PROFILE": "prod"})[0]
    assert (brokers(props), props["client.id"]) == ("tophost:1", "dev")


def test_profile_after_the_command_word(sfcrime_bin, profiles):
    props = dump("inspect", "--config", profiles, "--profile", "prod")[0]
    assert brokers(props) == "prodhost:2"


def test_config_profiles_lists_and_marks(sfcrime_bin, profiles):
    p = run("--config", profiles, "--profile", "prod", "config", "profiles")
    assert (p.returncode, p.stdout) == (0, "  dev\n* prod\n"), p.stderr
    p = run("--config", profiles, "config", "profiles", "--output", "json")
    assert json.loads(p.stdout) == {"config_file": str(profiles),
                                    "profiles": [{"name": "dev", "selected": False},
                                                 {"name": "prod", "selected": False}]}


def test_unknown_profile(sfcrime_bin, profiles):
    p = run("--config", profiles, "--profile", "staging", "inspect")
    assert p.returncode == 78, p.stderr
    assert f"no profile 'staging' in config file '{profiles}' (it has dev, prod" in p.stderr


def test_profile_without_a_config_file(sfcrime_bin, tmp_path):
    p = run("--profile", "prod", "inspect", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert p.returncode == 78, p.stderr
    assert "profile 'prod' needs a config file" in p.stderr


@pytest.mark.parametrize("text, message", [
    ("[]\n", "expected [PROFILE]"),
    ("[a b]\n", "expected [PROFILE]"),
    ("[dev\n", "expected [PROFILE]"),
    ("[dev]\n[dev]\n", "profile 'dev' defined twice"),
    ("[dev]\nsfcrime.profile=dev\n", "sfcrime.profile belongs before the first [PROFILE] line"),
])
def test_bad_profile_lines(sfcrime_bin, tmp_path, text, message):
    f = write(tmp_path / "bad.conf", text)
    p = run("--config", f, "inspect")
    assert p.returncode == 78, p.stderr
    assert message in p.stderr and str(f) in p.stderr


# Defaults of command options, seen through what aggregate does with a file (no broker needed):
# the window length of its rows is the --window in effect.

@pytest.fixture(scope="module")
def calls(tmp_path_factory):
    out = tmp_path_factory.mktemp("calls") / "calls.json"
    gen = pathlib.Path(__file__).resolve().parents[1] / "gen_synthetic.py"
    subprocess.run([sys.executable, str(gen), "--records", "300", "--out", str(out)], check=True)
    return out


def window_lengths(*args, env=None):
    p = run(*args, "--progress", "none", "--output", "json", env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    lengths = set()
    for line in p.stdout.splitlines():
        row = json.loads(line)
        start, end = (datetime.datetime.fromisoformat(row[k]) for k in ("window_start", "window_end"))
        lengths.add(end - start)
    assert lengths, "no rows"
    return lengths


HOUR = datetime.timedelta(hours=1)


def test_window_default_from_file_env_and_flag(sfcrime_bin, tmp_path, calls):
    f = write(tmp_path / "w.conf", "sfcrime.window=1h\n")
    agg = ("--config", f, "aggregate", "--file", calls)
    assert window_lengths(*agg) == {HOUR}
    assert window_lengths(*agg, env={"SFCRIME_WINDOW": "2h"}) == {2 * HOUR}
    assert window_lengths(*agg, "--window", "30m", env={"SFCRIME_WINDOW": "2h"}) == {HOUR / 2}
    assert window_lengths("aggregate", "--file", calls) == {HOUR / 2}  # aggregate's own default


def test_scoped_default_beats_shorthand_and_profile_beats_both(sfcrime_bin, tmp_path, calls):
    f = write(tmp_path / "w.conf", "sfcrime.aggregate.window=2h\nsfcrime.window=1h\n[day]\nsfcrime.window=1d\n")
    assert window_lengths("--config", f, "aggregate", "--file", calls) == {2 * HOUR}
    assert window_lengths("--config", f, "--profile", "day", "aggregate", "--file", calls) == {24 * HOUR}


def test_configured_topic_does_not_clash_with_file(sfcrime_bin, tmp_path, calls):
    # aggregate takes --topic or --file: a default topic must not turn --file into a usage error
    f = write(tmp_path / "t.conf", "sfcrime.topic=police-calls\n")
    assert window_lengths("--config", f, "aggregate", "--file", calls) == {HOUR / 2}
    p = run("aggregate", "--file", calls, "--progress", "none", env={"SFCRIME_TOPIC": "police-calls"})
    assert p.returncode == 0, p.stderr


def test_configured_switch(sfcrime_bin, tmp_path):
    # A switch from the file shows in -X dump of the command it applies to and not elsewhere.
    f = write(tmp_path / "s.conf", "sfcrime.consume.from-beginning=true\n")
    _, settings, origins, _ = dump("consume", "--config", f)
    assert settings["sfcrime.consume.from-beginning"] == "true"
    assert origins["where:sfcrime.consume.from-beginning"] == f"{f} line 1"
    assert "sfcrime.consume.from-beginning" not in dump("aggregate", "--config", f)[1]
    f.write_text("sfcrime.consume.from-beginning=maybe\n")
    p = run("--config", f, "-b", "localhost:1", "--timeout", "1s", "consume")
    assert p.returncode == 78, p.stderr
    assert "is a switch: true or false, not 'maybe'" in p.stderr


@pytest.mark.parametrize("line, command, message", [
    ("sfcrime.aggregate.windw=1h", ["aggregate", "--file", "-"],
     "'sfcrime.aggregate.windw' (file {f} line 1): 'sfcrime aggregate' has no option --windw"),
    ("sfcrime.agregate.window=1h", ["inspect"], "unknown setting 'sfcrime.agregate.window' in config file '{f}' line 1"),
    ("sfcrime.topic.create.partitions=six", ["topic", "create", "x"],
     "'sfcrime.topic.create.partitions' (file {f} line 1): the argument ('six') for option 'partitions' is invalid"),
])
def test_bad_option_defaults(sfcrime_bin, tmp_path, line, command, message):
    f = write(tmp_path / "o.conf", line + "\n")
    p = run("--config", f, "-b", "localhost:1", "--timeout", "1s", *command, input="")
    assert p.returncode == 78, p.stderr
    assert message.format(f=f) in p.stderr


@pytest.mark.parametrize("line, env, command, flag, value, origin", [
    ("sfcrime.window=30x", {}, ["aggregate", "--file", "-"], "--window", "30x", "'sfcrime.window' (file {f} line 1)"),
    ("", {"SFCRIME_WINDOW": "30x"}, ["aggregate", "--file", "-"], "--window", "30x",
     "'sfcrime.window' (env SFCRIME_WINDOW)"),
    ("sfcrime.aggregate.output-mode=final", {}, ["aggregate", "--file", "-"], "--output-mode", "final",
     "'sfcrime.aggregate.output-mode' (file {f} line 1)"),
    ("sfcrime.consume.offset=middle", {}, ["consume", "-t", "x"], "--offset", "middle",
     "'sfcrime.consume.offset' (file {f} line 1)"),
])
def test_option_default_the_command_refuses_is_a_config_error(sfcrime_bin, tmp_path, line, env, command, flag, value,
                                                              origin):
    # The value passes the config layer (it is text) but the command refuses it: exit 78 (a
    # configuration error, not a usage error: the command line is fine), with the command's own
    # refusal of the same value given as a flag (exit 64), followed by the key and its origin.
    f = write(tmp_path / "v.conf", line + "\n")
    as_flag = run("-b", "localhost:1", "--timeout", "1s", *command, flag, value, input="")
    assert as_flag.returncode == 64, as_flag.stderr
    refusal = as_flag.stderr.strip().splitlines()[-1]
    assert refusal.startswith("sfcrime: error: ") and value in refusal and "from '" not in refusal, refusal
    p = run("--config", f, "-b", "localhost:1", "--timeout", "1s", *command, input="", env=env)
    assert p.returncode == 78, p.stderr
    assert p.stderr.strip().splitlines()[-1] == refusal + "; from " + origin.format(f=f)


@pytest.mark.parametrize("line, command, message", [
    # A configured option named in passing by another option's error is not the culprit.
    ("sfcrime.topic=police-calls", ["aggregate", "--exactly-once"], "--exactly-once needs --topic and --group"),
    # Nor is a configured option a hint names ("did you mean --output text?").
    ("sfcrime.consume.output=json", ["consume", "T", "-o", "text"], "did you mean --output text?"),
])
def test_usage_error_naming_a_configured_option_in_passing_stays_64(sfcrime_bin, tmp_path, line, command, message):
    f = write(tmp_path / "p.conf", line + "\n")
    p = run("--config", f, "-b", "localhost:1", "--timeout", "1s", *command, input="")
    assert p.returncode == 64, p.stderr
    assert message in p.stderr and "from '" not in p.stderr


def test_config_show(sfcrime_bin, tmp_path, profiles):
    env = {"SFCRIME_TOPIC": "police-calls", "SFCRIME_TIMEOUT": "3s"}
    p = run("--config", profiles, "--profile", "prod", "config", "show", "-X", "ssl.key.password=Kp-flag",
            "-X", "linger.ms=5", env=env)
    assert p.returncode == 0, p.stderr
    props, settings, origins = parse_config(p.stdout)
    assert "Pz-prod-secret" not in p.stdout and "Kp-flag" not in p.stdout
    assert props["sasl.password"] == props["ssl.key.password"] == "[redacted]"
    assert (props["linger.ms"], origins["linger.ms"], origins["where:linger.ms"]) == ("5", "flag", "-X")
    assert (settings["sfcrime.topic"], origins["where:sfcrime.topic"]) == ("police-calls", "SFCRIME_TOPIC")
    assert (settings["sfcrime.timeout"], origins["sfcrime.timeout"]) == ("3s", "env")
    assert "client.software.name" not in props  # librdkafka's defaults only with --all
    j = json.loads(run("--config", profiles, "--profile", "prod", "config", "show", "--output", "json", env=env).stdout)
    assert (j["config_file"], j["profile"]) == (str(profiles), "prod")
    entries = {e["key"]: e for e in j["entries"]}
    assert entries["sasl.password"] == {"key": "sasl.password", "value": "[redacted]", "origin": "file",
                                        "where": f"{profiles} line 10, profile prod"}
    assert entries["bootstrap.servers"]["value"] == "prodhost:2"
    p = run("--config", profiles, "config", "show", "--all")
    assert parse_config(p.stdout)[2]["where:client.software.name"].startswith("librdkafka ")


def test_dump_shows_the_command_defaults(sfcrime_bin):
    # produce's idempotent producer is what -X dump of produce says, not librdkafka's default
    props, _, origins, _ = dump("produce")
    assert (props["enable.idempotence"], origins["where:enable.idempotence"]) == ("true", "sfcrime produce")
    props, _, origins, _ = dump("produce", "-X", "linger.ms=50")
    assert (props["linger.ms"], origins["linger.ms"]) == ("50", "flag")
