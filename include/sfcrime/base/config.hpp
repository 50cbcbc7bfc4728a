#pragma once
/// Configuration shared by every command: where the brokers are, librdkafka properties, timeouts,
/// and defaults for the commands' own options.
///
/// Precedence (DESIGN.md, convention 5): command-line flags > environment (SFCRIME_*) > config
/// file > defaults.
///
/// The config file is --config FILE, else $SFCRIME_CONFIG, else $XDG_CONFIG_HOME/sfcrime/config
/// (XDG_CONFIG_HOME defaulting to ~/.config) when that file exists; only one file is read (kcat
/// reads its -F file instead of ~/.config/kcat.conf in the same way). Its lines are `key=value`
/// as kcat's -F file: `#` starts a comment line, blank lines are skipped, spaces around the key
/// and the value are trimmed. Keys:
///   - librdkafka properties (CONFIGURATION.md of librdkafka), e.g. bootstrap.servers,
///     security.protocol, sasl.password;
///   - sfcrime.timeout (a duration), sfcrime.radio.codes (a path);
///   - sfcrime.topic: the default --topic of produce, consume and aggregate;
///     sfcrime.window: the default --window of aggregate;
///   - sfcrime.COMMAND.OPTION: the default of --OPTION of one command, COMMAND being produce,
///     consume, aggregate, inspect, config, or topic.SUB / group.SUB / config.SUB for a nested
///     word (sfcrime.topic.create.partitions=6); a switch takes true or false;
///   - sfcrime.profile: the profile used when neither --profile nor SFCRIME_PROFILE names one.
/// A line `[NAME]` starts the named profile: the lines after it, up to the next `[...]`, apply
/// only with --profile NAME (or SFCRIME_PROFILE=NAME), on top of the lines before the first
/// section (the AWS CLI's and git's section syntax; rpk keeps profiles in its rpk.yaml).
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sfcrime {

/// What the command line said about the shared options (the "flags" layer); unset means absent.
struct CommonFlags {
  std::optional<std::string> bootstrap_servers;  ///< -b/--bootstrap-servers
  std::vector<std::string> properties;           ///< each -X key=value, in order ("dump" allowed)
  std::optional<std::string> config_file;        ///< --config FILE
  std::optional<std::string> profile;            ///< --profile NAME
  std::optional<std::string> timeout;            ///< --timeout DURATION, e.g. "10s"
  std::optional<std::string> radio_codes;        ///< --radio-codes FILE (commands that use it)
  int verbosity = 0;                             ///< number of -v
  /// The command words a sfcrime.COMMAND.OPTION key may name, nested words joined with '.'
  /// ("produce", "topic.create"): from src/main.cpp's table (cli::command_words()).
  std::vector<std::string> commands;
};

/// Where a configuration value came from, for `sfcrime config show` and `-X dump`.
struct Origin {
  /// "default", "file", "env" or "flag": the layer of the precedence rule.
  std::string kind = "default";
  /// What in that layer: the flag ("-b", "-X", "--timeout"), the variable ("SFCRIME_TIMEOUT"),
  /// or the file and line ("/home/me/.config/sfcrime/config line 3, profile prod"); empty for a
  /// default.
  std::string where;
  /// "kind where", or "kind" alone.
  std::string text() const { return where.empty() ? kind : kind + " " + where; }
};

/// A default for one command option from the config file or the environment.
struct OptionDefault {
  /// The commands it applies to, by CommandSpec name ("aggregate", "topic create").
  std::vector<std::string> commands;
  std::string option;  ///< long option name without dashes ("window")
  std::string value;   ///< as written ("30m", "true")
  std::string key;     ///< the key that set it ("sfcrime.window", "SFCRIME_TOPIC")
  Origin origin;
  /// True for a sfcrime.COMMAND.OPTION key: an OPTION the command lacks is an error (a typo),
  /// while a shorthand such as sfcrime.topic simply does not apply to a command without --topic.
  bool scoped = false;
  /// 0 the config file's first lines, 1 its profile, 2 the environment, 3 a -X flag. Of the
  /// defaults for one option the highest layer wins, then a scoped key over a shorthand
  /// (sfcrime.aggregate.window over sfcrime.window), then the later line.
  int layer = 0;
};

/// The effective configuration after precedence is applied.
struct Config {
  /// Comma-separated host:port list (librdkafka `bootstrap.servers`). Default "localhost:9092".
  std::string bootstrap_servers = "localhost:9092";
  /// librdkafka properties in the order they are applied (later entries win): file, then -X.
  std::vector<std::pair<std::string, std::string>> properties;
  /// Bound on every wait for the broker (reachability, metadata, admin requests, group join).
  /// Flag --timeout, env SFCRIME_TIMEOUT, file key sfcrime.timeout. Default 10 s.
  std::chrono::milliseconds timeout{10'000};
  /// Path of radio_code.json (disposition code descriptions), empty if none.
  /// Flag --radio-codes, env SFCRIME_RADIO_CODES, file key sfcrime.radio.codes.
  std::string radio_codes;
  /// Defaults of command options in the order read: file top section, file profile, environment
  /// (SFCRIME_TOPIC, SFCRIME_WINDOW), -X; OptionDefault::layer says which wins.
  std::vector<OptionDefault> option_defaults;
  /// 0 quiet (librdkafka logs hidden), 1 warnings and progress details, 2+ everything.
  int verbosity = 0;
  /// True when `-X dump` was given: print the effective configuration and exit.
  bool dump = false;
  /// The config file read ("" when none), and the profile applied ("" when none).
  std::string config_file;
  std::string profile;
  /// Where bootstrap.servers, sfcrime.timeout, sfcrime.radio.codes and every librdkafka
  /// property of `properties` came from (the last setting of each key).
  std::map<std::string, Origin> origin;
};

/// Looks up an environment variable; returns nullptr when unset (std::getenv's contract).
using EnvLookup = std::function<const char*(const char*)>;

/// The config file used when neither --config nor SFCRIME_CONFIG names one:
/// $XDG_CONFIG_HOME/sfcrime/config, else $HOME/.config/sfcrime/config, else "" (no HOME).
std::string default_config_path(const EnvLookup& env);

/// Applies defaults < config file < environment < flags (see the top of this header).
/// The value of every secret property applied (is_secret_property) is given to note_secret(), so
/// that no message shows it.
/// @throws ConfigError for an unreadable config file (naming it), a line without '=', an unknown
///         `sfcrime.` key, a bad sfcrime.timeout, a profile the file lacks or a profile without
///         a file, a bootstrap.servers (file, environment, -X) that names no broker; UsageError for
///         a bad --timeout, a -X without '=' or an empty -b; InterruptedError when SIGINT or
///         SIGTERM ends the wait for the config file (a FIFO without a writer).
Config resolve_config(const CommonFlags& flags, const EnvLookup& env);

/// The profiles (section names) of config file `path`, in file order.
/// @throws ConfigError when the file cannot be read.
std::vector<std::string> config_profiles(const std::string& path);

/// True for properties whose values are secrets (sasl.password, ssl.key.password,
/// ssl.keystore.password, ssl.key.pem, sasl.oauthbearer.client.secret, sasl.oauthbearer.config,
/// the Java client's sasl.jaas.config, and anything named *password*, *secret* or *jaas*, in any
/// case): printed as "[redacted]" by config show and -X dump, and hidden from every message
/// (note_secret()).
bool is_secret_property(const std::string& key);

}  // namespace sfcrime
