#pragma once
/// Configuration shared by every command: where the brokers are, librdkafka properties, timeouts.
///
/// Precedence (DESIGN.md, convention 5): command-line flags > environment (SFCRIME_*) > config
/// file > defaults. The config file holds `key=value` lines as kcat's -F file does: `#` starts a
/// comment line, blank lines are skipped, keys starting with `sfcrime.` are sfcrime's own settings
/// (see Settings below), every other key is a librdkafka property (CONFIGURATION.md of librdkafka).
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
  std::optional<std::string> timeout;            ///< --timeout DURATION, e.g. "10s"
  std::optional<std::string> radio_codes;        ///< --radio-codes FILE (commands that use it)
  int verbosity = 0;                             ///< number of -v
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
  /// 0 quiet (librdkafka logs hidden), 1 warnings and progress details, 2+ everything.
  int verbosity = 0;
  /// True when `-X dump` was given: print the effective configuration and exit.
  bool dump = false;
  /// For `-X dump`: where each sfcrime setting came from ("default", "file", "env", "flag").
  std::map<std::string, std::string> origin;
};

/// Looks up an environment variable; returns nullptr when unset (std::getenv's contract).
using EnvLookup = std::function<const char*(const char*)>;

/// Applies defaults < config file < environment < flags. The config file is --config, else
/// SFCRIME_CONFIG from the environment, else none.
/// @throws ConfigError for an unreadable config file (naming it), a line without '=', an unknown
///         `sfcrime.` key, or a bad sfcrime.timeout; UsageError for a bad --timeout or a -X
///         without '='.
Config resolve_config(const CommonFlags& flags, const EnvLookup& env);

/// True for librdkafka properties whose values are secrets (sasl.password, ssl.key.password,
/// ssl.keystore.password, ssl.key.pem, sasl.oauthbearer.client.secret, sasl.oauthbearer.config,
/// and anything named *password* or *secret*): printed as "[redacted]" everywhere.
bool is_secret_property(const std::string& key);

}  // namespace sfcrime
