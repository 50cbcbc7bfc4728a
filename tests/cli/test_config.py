"""Configuration precedence (flags > environment > config file > defaults), observed through
`sfcrime -X dump` and through the behaviour of a command; -X properties; secrets; config errors."""
import re
import time

import pytest

from conftest import run

SECRETS = {"sasl.password": "Pz-hunter2-file", "ssl.key.password": "Kp-4711-file"}


def dump(*args, env=None):
    """Runs `sfcrime ARGS -X dump`; returns (librdkafka properties, sfcrime settings, origins)."""
    p = run(*args, "-X", "dump", env=env, timeout=20)
    assert p.returncode == 0, p.stderr
    props, settings, origins = {}, {}, {}
    for line in p.stdout.splitlines():
        m = re.match(r"^# (\S+) origin: (\S+)\s*$", line)
        if m:
            origins[m.group(1)] = m.group(2)
            continue
        if line.startswith("#") or " = " not in line:
            continue
        key, _, value = line.partition(" = ")
        m = re.match(r"^(.*?)\s*#\s*(\w+)\s*$", value)
        if key.startswith("sfcrime.") and m:
            settings[key] = m.group(1).strip()
            origins[key] = m.group(2)
        else:
            props[key] = value.strip()
    return props, settings, origins, p


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
    # the effective librdkafka properties come first, sfcrime's settings at the end
    lines = [x for x in p.stdout.splitlines() if x.strip()]
    assert lines[0].startswith("# librdkafka")
    assert any(x.startswith("sfcrime.timeout = ") for x in lines[-4:])


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
    assert "# bootstrap.servers origin: env" in p.stdout
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
