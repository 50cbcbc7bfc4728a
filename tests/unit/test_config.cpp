#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include "temp_file.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sfcrime/base/config.hpp"
#include "sfcrime/base/duration.hpp"
#include "sfcrime/base/errors.hpp"

namespace {

using namespace std::chrono_literals;
using sfcrime::CommonFlags;
using sfcrime::Config;
using sfcrime::resolve_config;
using Props = std::vector<std::pair<std::string, std::string>>;

/// An injected environment: only the variables in the map are set.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  sfcrime::EnvLookup lookup() const {
    return [this](const char* name) -> const char* {
      const auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

using sfcrime::test::TempFile;

std::string missing_path() {
  const auto p = std::filesystem::temp_directory_path() / "sfcrime-test-config-does-not-exist.conf";
  std::filesystem::remove(p);
  return p.string();
}

template <class E>
std::string message_of(const CommonFlags& flags, const FakeEnv& env) {
  try {
    resolve_config(flags, env.lookup());
  } catch (const E& e) {
    return e.what();
  }
  BOOST_FAIL("expected an exception");
  return {};
}

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Precedence
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(defaults) {
  const FakeEnv env;
  const Config c = resolve_config(CommonFlags{}, env.lookup());
  BOOST_TEST(c.bootstrap_servers == "localhost:9092");
  BOOST_TEST(c.timeout.count() == 10'000);
  BOOST_TEST(c.properties.empty());
  BOOST_TEST(c.radio_codes.empty());
  BOOST_TEST(!c.dump);
  BOOST_TEST(c.verbosity == 0);
  BOOST_TEST(c.origin.at("bootstrap.servers").kind == "default");
  BOOST_TEST(c.origin.at("sfcrime.timeout").kind == "default");
}

BOOST_AUTO_TEST_CASE(precedence_bootstrap_servers) {
  TempFile file("bootstrap.servers=file:9092\n");
  // Every combination of the three layers: the highest present one wins.
  for (int mask = 0; mask < 8; ++mask) {
    const bool use_file = mask & 1, use_env = mask & 2, use_flag = mask & 4;
    CommonFlags flags;
    FakeEnv env;
    if (use_file) flags.config_file = file.path();
    if (use_env) env.vars["SFCRIME_BOOTSTRAP_SERVERS"] = "env:9092";
    if (use_flag) flags.bootstrap_servers = "flag:9092";
    const Config c = resolve_config(flags, env.lookup());
    const std::string expected = use_flag ? "flag:9092" : use_env ? "env:9092" : use_file ? "file:9092" : "localhost:9092";
    const std::string origin = use_flag ? "flag" : use_env ? "env" : use_file ? "file" : "default";
    BOOST_TEST(c.bootstrap_servers == expected, "mask " << mask);
    BOOST_TEST(c.origin.at("bootstrap.servers").kind == origin, "mask " << mask);
  }
}

BOOST_AUTO_TEST_CASE(precedence_timeout) {
  TempFile file("sfcrime.timeout=20s\n");
  for (int mask = 0; mask < 8; ++mask) {
    const bool use_file = mask & 1, use_env = mask & 2, use_flag = mask & 4;
    CommonFlags flags;
    FakeEnv env;
    if (use_file) flags.config_file = file.path();
    if (use_env) env.vars["SFCRIME_TIMEOUT"] = "30s";
    if (use_flag) flags.timeout = "2m";
    const Config c = resolve_config(flags, env.lookup());
    const long long expected = use_flag ? 120'000 : use_env ? 30'000 : use_file ? 20'000 : 10'000;
    const std::string origin = use_flag ? "flag" : use_env ? "env" : use_file ? "file" : "default";
    BOOST_TEST(c.timeout.count() == expected, "mask " << mask);
    BOOST_TEST(c.origin.at("sfcrime.timeout").kind == origin, "mask " << mask);
  }
}

BOOST_AUTO_TEST_CASE(precedence_radio_codes) {
  TempFile file("sfcrime.radio.codes=/file/radio_code.json\n");
  CommonFlags flags;
  flags.config_file = file.path();
  FakeEnv env;
  BOOST_TEST(resolve_config(flags, env.lookup()).radio_codes == "/file/radio_code.json");
  env.vars["SFCRIME_RADIO_CODES"] = "/env/radio_code.json";
  BOOST_TEST(resolve_config(flags, env.lookup()).radio_codes == "/env/radio_code.json");
  flags.radio_codes = "/flag/radio_code.json";
  BOOST_TEST(resolve_config(flags, env.lookup()).radio_codes == "/flag/radio_code.json");
}

BOOST_AUTO_TEST_CASE(empty_environment_variables_are_ignored) {
  TempFile file("bootstrap.servers=file:9092\nsfcrime.timeout=20s\n");
  CommonFlags flags;
  flags.config_file = file.path();
  FakeEnv env;
  env.vars["SFCRIME_BOOTSTRAP_SERVERS"] = "";
  env.vars["SFCRIME_TIMEOUT"] = "";
  const Config c = resolve_config(flags, env.lookup());
  BOOST_TEST(c.bootstrap_servers == "file:9092");
  BOOST_TEST(c.timeout.count() == 20'000);
}

BOOST_AUTO_TEST_CASE(config_file_from_environment) {
  TempFile env_file("bootstrap.servers=envfile:9092\n");
  TempFile flag_file("bootstrap.servers=flagfile:9092\n");
  FakeEnv env;
  env.vars["SFCRIME_CONFIG"] = env_file.path();
  CommonFlags flags;
  BOOST_TEST(resolve_config(flags, env.lookup()).bootstrap_servers == "envfile:9092");
  // --config wins over SFCRIME_CONFIG.
  flags.config_file = flag_file.path();
  BOOST_TEST(resolve_config(flags, env.lookup()).bootstrap_servers == "flagfile:9092");
  // SFCRIME_CONFIG naming a missing file is an error too.
  env.vars["SFCRIME_CONFIG"] = missing_path();
  BOOST_CHECK_THROW(resolve_config(CommonFlags{}, env.lookup()), sfcrime::ConfigError);
}

BOOST_AUTO_TEST_CASE(x_bootstrap_servers_is_a_flag_but_b_wins) {
  FakeEnv env;
  env.vars["SFCRIME_BOOTSTRAP_SERVERS"] = "env:9092";
  CommonFlags flags;
  flags.properties = {"bootstrap.servers=x:9092"};
  BOOST_TEST(resolve_config(flags, env.lookup()).bootstrap_servers == "x:9092");
  flags.bootstrap_servers = "b:9092";
  BOOST_TEST(resolve_config(flags, env.lookup()).bootstrap_servers == "b:9092");
}

// ---------------------------------------------------------------------------------------------
// -X and the config file's properties
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(x_properties_in_order_after_file) {
  TempFile file(
      "# a comment\n"
      "\n"
      "   # an indented comment\n"
      "client.id = from-file\r\n"
      "  acks=all  \n"
      "sasl.jaas.config=a=b;c=d\n");
  CommonFlags flags;
  flags.config_file = file.path();
  flags.properties = {"compression.type=lz4", "client.id=from-flag", "sasl.password=p=w"};
  const FakeEnv env;
  const Config c = resolve_config(flags, env.lookup());
  const Props expected = {{"client.id", "from-file"},      {"acks", "all"},
                          {"sasl.jaas.config", "a=b;c=d"}, {"compression.type", "lz4"},
                          {"client.id", "from-flag"},      {"sasl.password", "p=w"}};
  BOOST_REQUIRE_EQUAL(c.properties.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST(c.properties[i].first == expected[i].first, "property " << i);
    BOOST_TEST(c.properties[i].second == expected[i].second, "property " << i);
  }
  BOOST_TEST(c.bootstrap_servers == "localhost:9092");
  BOOST_TEST(!c.dump);
}

BOOST_AUTO_TEST_CASE(x_dump_sets_dump) {
  CommonFlags flags;
  flags.properties = {"acks=1", "dump"};
  const FakeEnv env;
  const Config c = resolve_config(flags, env.lookup());
  BOOST_TEST(c.dump);
  BOOST_REQUIRE_EQUAL(c.properties.size(), 1u);  // "dump" is not a property
  BOOST_TEST(c.properties[0].first == "acks");
}

BOOST_AUTO_TEST_CASE(x_without_equals_is_usage_error) {
  const FakeEnv env;
  for (const char* x : {"acks", "=1", "", "dumpx"}) {
    CommonFlags flags;
    flags.properties = {x};
    BOOST_CHECK_THROW(resolve_config(flags, env.lookup()), sfcrime::UsageError);
  }
  // The bad argument is not echoed: it may be a secret typed with ':' instead of '='.
  CommonFlags flags;
  flags.properties = {"sasl.password:hunter2"};
  const std::string m = message_of<sfcrime::UsageError>(flags, env);
  BOOST_TEST(!contains(m, "hunter2"), m);
  BOOST_TEST(contains(m, "-X"), m);
}

BOOST_AUTO_TEST_CASE(timeout_beyond_int_milliseconds_is_rejected) {
  // librdkafka takes int milliseconds: 25 days (2,160,000,000 ms) would overflow.
  const FakeEnv env;
  CommonFlags flags;
  flags.timeout = "25d";
  BOOST_CHECK_THROW(resolve_config(flags, env.lookup()), sfcrime::ConfigError);
  flags.timeout = "20d";
  BOOST_CHECK_NO_THROW(resolve_config(flags, env.lookup()));
}

BOOST_AUTO_TEST_CASE(x_sfcrime_keys) {
  const FakeEnv env;
  CommonFlags flags;
  flags.properties = {"sfcrime.timeout=45s", "sfcrime.radio.codes=/x.json"};
  const Config c = resolve_config(flags, env.lookup());
  BOOST_TEST(c.timeout.count() == 45'000);
  BOOST_TEST(c.radio_codes == "/x.json");
  BOOST_TEST(c.properties.empty());  // sfcrime's own keys never reach librdkafka
  flags.properties = {"sfcrime.bogus=1"};
  BOOST_CHECK_THROW(resolve_config(flags, env.lookup()), sfcrime::ConfigError);
}

BOOST_AUTO_TEST_CASE(file_unknown_sfcrime_key_is_config_error) {
  TempFile file("acks=all\nsfcrime.timout=10s\n");
  CommonFlags flags;
  flags.config_file = file.path();
  const FakeEnv env;
  const std::string m = message_of<sfcrime::ConfigError>(flags, env);
  BOOST_TEST(contains(m, "sfcrime.timout"), m);
  BOOST_TEST(contains(m, "line 2"), m);
  BOOST_TEST(contains(m, file.path()), m);
}

BOOST_AUTO_TEST_CASE(file_malformed_line_is_config_error) {
  const FakeEnv env;
  for (const char* content : {"acks=all\njust-a-word\n", "=value\n", "  = value\n", "acks\n"}) {
    TempFile file(content);
    CommonFlags flags;
    flags.config_file = file.path();
    BOOST_CHECK_THROW(resolve_config(flags, env.lookup()), sfcrime::ConfigError);
  }
  TempFile file("# ok\nacks=all\n\njust-a-word\n");
  CommonFlags flags;
  flags.config_file = file.path();
  const std::string m = message_of<sfcrime::ConfigError>(flags, env);
  BOOST_TEST(contains(m, "line 4"), m);
  // The line itself is not echoed: a mistyped `sasl.password: hunter2` must not be printed.
  BOOST_TEST(!contains(m, "just-a-word"), m);
}

BOOST_AUTO_TEST_CASE(file_bad_timeout_is_config_error) {
  TempFile file("sfcrime.timeout=soon\n");
  CommonFlags flags;
  flags.config_file = file.path();
  const FakeEnv env;
  BOOST_CHECK_THROW(resolve_config(flags, env.lookup()), sfcrime::ConfigError);
}

BOOST_AUTO_TEST_CASE(env_bad_timeout_is_config_error) {
  FakeEnv env;
  env.vars["SFCRIME_TIMEOUT"] = "10";
  BOOST_CHECK_THROW(resolve_config(CommonFlags{}, env.lookup()), sfcrime::ConfigError);
}

BOOST_AUTO_TEST_CASE(flag_bad_timeout_is_usage_error) {
  CommonFlags flags;
  flags.timeout = "0s";
  const FakeEnv env;
  BOOST_CHECK_THROW(resolve_config(flags, env.lookup()), sfcrime::UsageError);
}

BOOST_AUTO_TEST_CASE(missing_config_file_is_config_error) {
  CommonFlags flags;
  flags.config_file = missing_path();
  const FakeEnv env;
  const std::string m = message_of<sfcrime::ConfigError>(flags, env);
  BOOST_TEST(contains(m, *flags.config_file), m);
}

BOOST_AUTO_TEST_CASE(verbosity_is_copied) {
  CommonFlags flags;
  flags.verbosity = 2;
  const FakeEnv env;
  BOOST_TEST(resolve_config(flags, env.lookup()).verbosity == 2);
}

BOOST_AUTO_TEST_CASE(secret_properties) {
  for (const char* k : {"sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem",
                        "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config", "my.custom.password",
                        "some.secret.thing", "sasl.jaas.config", "SASL.PASSWORD", "Sasl.Jaas.Config"}) {
    BOOST_TEST(sfcrime::is_secret_property(k), k);
  }
  for (const char* k : {"bootstrap.servers", "sasl.username", "sasl.mechanisms", "security.protocol",
                        "ssl.ca.location", "client.id", "acks"}) {
    BOOST_TEST(!sfcrime::is_secret_property(k), k);
  }
}

BOOST_AUTO_TEST_CASE(secrets_are_redacted_from_text) {
  sfcrime::note_secret("  Unit-Secret-4711 ");  // spaces around the value are not part of it
  sfcrime::note_secret("");
  BOOST_TEST(sfcrime::redact_secrets("password Unit-Secret-4711 here") == "password [redacted] here");
  // librdkafka quotes parts of a value ("... beginning at: ..."): a run of 8 characters of it is hidden.
  BOOST_TEST(sfcrime::redact_secrets("beginning at: Secret-4711 x") == "beginning at: [redacted] x");
  BOOST_TEST(sfcrime::redact_secrets("Unit-Sec") == "[redacted]");
  BOOST_TEST(sfcrime::redact_secrets("Unit-Se and Secret") == "Unit-Se and Secret");
  // Every Error's message.
  BOOST_TEST(std::string(sfcrime::ConfigError("bad 'Unit-Secret-4711'").what()) == "bad '[redacted]'");
  // A short secret anywhere, a very short one only as a word of its own.
  sfcrime::note_secret("q7Zx");
  BOOST_TEST(sfcrime::redact_secrets("aq7Zxb") == "a[redacted]b");
  sfcrime::note_secret("pw1");
  BOOST_TEST(sfcrime::redact_secrets("pw1 xpw1 'pw1'") == "[redacted] xpw1 '[redacted]'");
}

BOOST_AUTO_TEST_CASE(resolve_config_notes_the_secrets_it_applies) {
  TempFile file("ssl.key.password=File-Secret-0815\nclient.id=Just-Public-Id-42\n");
  CommonFlags flags;
  flags.config_file = file.path();
  flags.properties = {"sasl.password=Flag-Secret-1234"};
  const FakeEnv env;
  resolve_config(flags, env.lookup());
  BOOST_TEST(sfcrime::redact_secrets("File-Secret-0815 Flag-Secret-1234 Just-Public-Id-42") ==
             "[redacted] [redacted] Just-Public-Id-42");
}

BOOST_AUTO_TEST_CASE(bootstrap_servers_naming_no_broker) {
  const FakeEnv env;
  CommonFlags flags;
  flags.bootstrap_servers = "";
  BOOST_CHECK_THROW(resolve_config(flags, env.lookup()), sfcrime::UsageError);
  flags.bootstrap_servers = " , ";
  BOOST_CHECK_THROW(resolve_config(flags, env.lookup()), sfcrime::UsageError);
  flags.bootstrap_servers.reset();
  flags.properties = {"bootstrap.servers="};
  BOOST_CHECK_THROW(resolve_config(flags, env.lookup()), sfcrime::ConfigError);
  // The flag wins over an empty -X: only the effective value counts.
  flags.bootstrap_servers = "b:9092";
  BOOST_TEST(resolve_config(flags, env.lookup()).bootstrap_servers == "b:9092");
  TempFile file("bootstrap.servers=\n");
  CommonFlags from_file;
  from_file.config_file = file.path();
  BOOST_CHECK_THROW(resolve_config(from_file, env.lookup()), sfcrime::ConfigError);
}

// ---------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(parse_duration_ok) {
  BOOST_TEST(sfcrime::parse_duration("90s", "--window").count() == 90'000);
  BOOST_TEST(sfcrime::parse_duration("30m", "--window").count() == 1'800'000);
  BOOST_TEST(sfcrime::parse_duration("1h", "--window").count() == 3'600'000);
  BOOST_TEST(sfcrime::parse_duration("1d", "--window").count() == 86'400'000);
  BOOST_TEST(sfcrime::parse_duration("1s", "--window").count() == 1'000);
  BOOST_TEST(sfcrime::parse_duration("007m", "--window").count() == 420'000);
  // The largest whole number of days that fits in int64 milliseconds.
  BOOST_TEST(sfcrime::parse_duration("106751991167d", "--window").count() == 106751991167LL * 86'400'000LL);
}

BOOST_AUTO_TEST_CASE(parse_duration_rejected) {
  for (const char* text : {"30x", "m", "0m", "-5m", "1.5h", "", "30", "+5m", " 5m", "5m ", "5 m", "5M", "1h30m",
                           "ms", "5ms", "abc", "0d", "99999999999999999999s", "106751991168d",
                           "9223372036854775807s"}) {
    BOOST_CHECK_THROW(sfcrime::parse_duration(text, "--window"), sfcrime::UsageError);
  }
}

BOOST_AUTO_TEST_CASE(parse_duration_zero_only_when_allowed) {
  for (const char* text : {"0s", "0m", "0h", "0d", "000s"}) {
    BOOST_TEST(sfcrime::parse_duration(text, "--watermark", true).count() == 0);
    BOOST_CHECK_THROW(sfcrime::parse_duration(text, "--window"), sfcrime::UsageError);
  }
  for (const char* text : {"-0s", "+0s", "0", "0x"})
    BOOST_CHECK_THROW(sfcrime::parse_duration(text, "--watermark", true), sfcrime::UsageError);
  BOOST_TEST(sfcrime::parse_duration("5m", "--watermark", true).count() == 300'000);
}

BOOST_AUTO_TEST_CASE(parse_duration_message_names_option_and_text) {
  try {
    sfcrime::parse_duration("30x", "--window");
    BOOST_FAIL("expected UsageError");
  } catch (const sfcrime::UsageError& e) {
    const std::string m = e.what();
    BOOST_TEST(contains(m, "'30x'"), m);
    BOOST_TEST(contains(m, "--window"), m);
    BOOST_TEST(static_cast<int>(e.code()) == 64);
  }
}

BOOST_AUTO_TEST_CASE(format_duration_values) {
  BOOST_TEST(sfcrime::format_duration(1'800'000ms) == "30m");
  BOOST_TEST(sfcrime::format_duration(90'000ms) == "90s");
  BOOST_TEST(sfcrime::format_duration(1'500ms) == "1500ms");
  BOOST_TEST(sfcrime::format_duration(3'600'000ms) == "1h");
  BOOST_TEST(sfcrime::format_duration(86'400'000ms) == "1d");
  BOOST_TEST(sfcrime::format_duration(90 * 60'000ms) == "90m");
  BOOST_TEST(sfcrime::format_duration(25 * 3'600'000ms) == "25h");
  BOOST_TEST(sfcrime::format_duration(1ms) == "1ms");
  for (const char* text : {"90s", "30m", "1h", "1d", "7d", "36h", "45m", "61s"}) {
    BOOST_TEST(sfcrime::format_duration(sfcrime::parse_duration(text, "x")) == text);
  }
}

// ---------------------------------------------------------------------------------------------
// Default file, profiles, option defaults
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(default_config_path_follows_xdg) {
  FakeEnv env;
  BOOST_TEST(sfcrime::default_config_path(env.lookup()).empty());
  env.vars["HOME"] = "/home/u";
  BOOST_TEST(sfcrime::default_config_path(env.lookup()) == "/home/u/.config/sfcrime/config");
  env.vars["XDG_CONFIG_HOME"] = "relative";  // the XDG spec: a relative path is ignored
  BOOST_TEST(sfcrime::default_config_path(env.lookup()) == "/home/u/.config/sfcrime/config");
  env.vars["XDG_CONFIG_HOME"] = "/x";
  BOOST_TEST(sfcrime::default_config_path(env.lookup()) == "/x/sfcrime/config");
}

BOOST_AUTO_TEST_CASE(profile_overrides_the_first_lines_only_when_chosen) {
  TempFile file("client.id=top\nlinger.ms=1\n[a]\nclient.id=a\n[b]\nclient.id=b\n");
  CommonFlags flags;
  flags.config_file = file.path();
  FakeEnv env;
  const auto client_id = [](const Config& c) {
    std::string v;
    for (const auto& [k, val] : c.properties)
      if (k == "client.id") v = val;
    return v;
  };
  Config c = resolve_config(flags, env.lookup());
  BOOST_TEST(client_id(c) == "top");
  BOOST_TEST(c.profile.empty());
  flags.profile = "b";
  c = resolve_config(flags, env.lookup());
  BOOST_TEST(client_id(c) == "b");
  BOOST_TEST(c.profile == "b");
  BOOST_TEST(c.origin.at("client.id").where == file.path() + " line 6, profile b");
  BOOST_TEST(c.origin.at("linger.ms").where == file.path() + " line 2");
  flags.profile = "c";
  BOOST_TEST(contains(message_of<sfcrime::ConfigError>(flags, env), "no profile 'c'"));
  BOOST_TEST((sfcrime::config_profiles(file.path()) == std::vector<std::string>{"a", "b"}));
}

/// Command words as src/main.cpp's table gives them (CommonFlags::commands).
const std::vector<std::string> kCommandWords = {"produce", "consume", "aggregate", "inspect", "topic.create", "topic.list"};

BOOST_AUTO_TEST_CASE(option_defaults_name_their_commands_and_layers) {
  TempFile file("sfcrime.topic=t\nsfcrime.window=1h\nsfcrime.topic.create.partitions=6\nsfcrime.aggregate.by=city\n"
                "[p]\nsfcrime.window=2h\n");
  CommonFlags flags;
  flags.commands = kCommandWords;
  flags.config_file = file.path();
  flags.profile = "p";
  flags.properties = {"sfcrime.consume.group=g"};
  FakeEnv env;
  env.vars["SFCRIME_TOPIC"] = "env-topic";
  const Config c = resolve_config(flags, env.lookup());
  using V = std::vector<std::string>;
  BOOST_TEST_REQUIRE(c.option_defaults.size() == 7u);
  const auto& d = c.option_defaults;
  BOOST_TEST((d[0].commands == V{"produce", "consume", "aggregate"} && d[0].option == "topic" && !d[0].scoped &&
              d[0].layer == 0));
  BOOST_TEST((d[1].commands == V{"aggregate"} && d[1].option == "window" && d[1].value == "1h"));
  BOOST_TEST((d[2].commands == V{"topic create"} && d[2].option == "partitions" && d[2].scoped));
  BOOST_TEST((d[3].commands == V{"aggregate"} && d[3].option == "by" && d[3].value == "city"));
  BOOST_TEST((d[4].value == "2h" && d[4].layer == 1 && d[4].origin.where == file.path() + " line 6, profile p"));
  BOOST_TEST((d[5].value == "env-topic" && d[5].layer == 2 && d[5].key == "sfcrime.topic" &&
              d[5].origin.text() == "env SFCRIME_TOPIC"));
  BOOST_TEST((d[6].commands == V{"consume"} && d[6].option == "group" && d[6].layer == 3 && d[6].origin.kind == "flag"));
}

BOOST_AUTO_TEST_CASE(unknown_sfcrime_keys_are_refused) {
  for (const char* line : {"sfcrime.nothing=1", "sfcrime.agregate.window=1h", "sfcrime.aggregate.window.x=1",
                           "sfcrime.topic.create=1"}) {
    TempFile file(std::string(line) + "\n");
    CommonFlags flags;
    flags.commands = kCommandWords;
    flags.config_file = file.path();
    const std::string m = message_of<sfcrime::ConfigError>(flags, FakeEnv{});
    BOOST_TEST(contains(m, "unknown setting"), line << ": " << m);
  }
}
