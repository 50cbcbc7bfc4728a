#pragma once
/// Command-line parsing shared by every command, in two phases (shared options, then the command's).
///
/// main() splits the global options written before the command word from the command's own
/// arguments and passes both on; each command parses them with parse() below, which adds the
/// shared options (-b, -X, --config, --timeout, -v, --help) to the command's own, so a shared
/// option works before or after the command word.
#include <boost/json/array.hpp>
#include <boost/program_options.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sfcrime/base/config.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/base/suggest.hpp"

namespace sfcrime::cli {

namespace po = boost::program_options;

/// A command's description for parsing and for --help.
struct CommandSpec {
  std::string name;      ///< "produce", or "topic create" for a nested word
  std::string synopsis;  ///< usage line(s) after "usage: "
  std::string summary;   ///< one paragraph printed under the usage line
  po::options_description options{"Options"};
  po::positional_options_description positional;
  std::string examples;  ///< printed after the options, may be empty
  /// True when the command's own --config means something else (topic create: KEY=VALUE topic
  /// configs, as kafka-topics.sh has it); the config file is then only --config-file.
  bool own_config_option = false;
  /// Groups of options that stand for one another (aggregate: {"topic", "file"}): a default from
  /// the config file or environment (Config::option_defaults) for one of them is not applied
  /// when the command line gives another of its group.
  std::vector<std::vector<std::string>> alternatives;
  /// The librdkafka properties the command sets before the user's (-X, config file), for
  /// `-X dump`: e.g. produce's enable.idempotence=true. Shown as "default sfcrime COMMAND".
  std::vector<std::pair<std::string, std::string>> kafka_defaults;
};

/// One line of `sfcrime config show` and `-X dump`: a key, its effective value (secrets already
/// replaced by "[redacted]") and where it came from.
struct ConfigEntry {
  std::string key;
  std::string value;
  Origin origin;
};

/// The effective configuration as lines: bootstrap.servers, sfcrime.timeout,
/// sfcrime.radio.codes, the option defaults of the config file and environment (only those that
/// apply to `spec`'s command when `spec` is given; a later one for the same command and option
/// hides an earlier one), then the librdkafka properties set by the file or the flags, and with
/// `all` every other librdkafka property with its default (sfcrime's for `spec`'s command, else
/// librdkafka's). Secrets (is_secret_property) are "[redacted]".
/// @throws ConfigError for an invalid librdkafka property or value (when `all`).
std::vector<ConfigEntry> config_entries(const Config& config, const CommandSpec* spec, bool all);

/// Prints `entries` as `key = value  # origin` lines under a header naming the config file and
/// profile, or as one JSON object {"config_file", "profile", "entries": [{"key", "value",
/// "origin", "where"}]} when `json`.
void print_config(const Config& config, const std::vector<ConfigEntry>& entries, bool json, std::ostream& out);

/// Sets the command words that sfcrime.COMMAND.OPTION config keys may name (nested words joined
/// with '.': "topic.create"): main() sets them once from its command table, before any command
/// parses its options.
void set_command_words(std::vector<std::string> words);
/// The words set_command_words() set (empty before).
const std::vector<std::string>& command_words();

/// Parse result: the command's values and the effective configuration.
struct Parsed {
  po::variables_map vm;
  Config config;
};

/// Parses `args` for `spec`: the command line, then the defaults of the command's options from
/// the config file and environment (Config::option_defaults; a command-line value always wins),
/// then the checks of required options.
/// @returns std::nullopt when --help or -X dump was handled (printed to stdout; exit 0).
/// @throws UsageError naming the bad option and pointing at --help; ConfigError from
///         resolve_config(), and for an option default the command does not have (a
///         sfcrime.COMMAND.OPTION key) or whose value the option refuses, naming its origin.
std::optional<Parsed> parse(CommandSpec& spec, const std::vector<std::string>& args);

/// Stores into `vm` the defaults of Config::option_defaults that apply to `spec`'s command, for
/// options the command line left out (and none of whose spec.alternatives it gave); a switch's
/// default is true or false (also yes/no, on/off, 1/0). Called by parse().
/// @throws ConfigError for a sfcrime.COMMAND.OPTION naming an option the command lacks, or a value
///         the option refuses.
void apply_option_defaults(const CommandSpec& spec, const Config& config, po::variables_map& vm);

/// Where the value of an option that a command refused came from, when that value was a default
/// from the config file or environment that apply_option_defaults() stored (not the command
/// line): "'KEY' (ORIGIN)" when `e`'s option is such an option, else "". main() turns such an
/// OptionError (exit 64) into a
/// configuration error (exit 78) naming the key, as a value refused by the config layer itself is
/// (SFCRIME_WINDOW=30x: "invalid duration '30x' for --window (...); from 'sfcrime.window' (env
/// SFCRIME_WINDOW)").
std::string config_default_behind(const OptionError& e);
/// Prints the help text of `spec` (usage, summary, options, shared options, examples).
void print_help(const CommandSpec& spec, const po::options_description& common);

/// True for the shared options that take a value in the next argument (-b, -X, --config,
/// --config-file, --profile, --timeout, and their long forms).
bool shared_option_takes_value(std::string_view arg);

/// Index of the first bare word in `args` (not an option, not an option's value), or args.size().
/// @param value_options the command's own options that take a value in the next argument.
std::size_t first_word(const std::vector<std::string>& args, const std::vector<std::string_view>& value_options = {});

/// One word of a nested command's table (git's OPT_SUBCOMMAND).
struct Subcommand {
  std::string_view name;
  int (*run)(const std::vector<std::string>&);
  std::string_view description;  ///< one line for the usage list
};

/// Runs the subcommand of `word` ("topic", "group", "config") named by the first bare word of
/// `args` (global options come first: main() put them there), passing the other arguments on.
/// Without a subcommand it prints "usage: sfcrime WORD SUBCOMMAND [ARGS]" and the table: on
/// stdout with exit 0 when --help/-h is given, else on stderr with exit 64.
/// @returns the subcommand's exit status.
/// @throws UsageError for an unknown subcommand, with git's "did you mean" suggestion.
int run_subcommand(std::string_view word, std::span<const Subcommand> table, const std::vector<std::string>& args);

/// Adds `-o/--output table|json` (default table) to `spec`: the admin commands' output option.
void add_output_option(CommandSpec& spec);

/// True for --output json, false for table.
/// @throws UsageError for any other format (csv is the aggregate's alone).
bool json_output(const po::variables_map& vm);

/// Prints `rows` under `header` on stdout in columns two spaces apart, each as wide as its widest
/// cell (rpk's tables); an empty cell is shown as "-" so that every line has as many words as the
/// header and `awk '{print $N}'` reads column N.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

/// Runs `action` on each of `names` in order, going on after a failure, as `topic delete` and
/// `group delete` do with several names. Each failure's message is printed on stderr as it
/// happens (for a single name it is left to main()); an UnavailableError stops at once (the
/// broker is gone: the next names would wait as long for nothing). With `json` it prints
/// {"<plural>": [{"<name_key>": name, "deleted": bool, "error": message or null}, ...]} on stdout.
/// @param action deletes one; returns false when there was nothing to delete; throws Error.
/// @throws the failure itself for a single name; for several, an Error with the first failure's
///         exit status saying how many were not deleted.
void delete_each(const std::vector<std::string>& names, std::string_view plural, std::string_view name_key, bool json,
                 const std::function<bool(const std::string&)>& action);

/// Broker ids (replicas, in-sync replicas) as "1,2,3", or "-" when there are none.
std::string id_list(const std::vector<std::int32_t>& ids);
/// Broker ids as a JSON array of numbers.
boost::json::array id_array(const std::vector<std::int32_t>& ids);

/// The value of option `name` (which must be present or have a default), checked to be one of
/// `allowed`. @throws UsageError "invalid --NAME 'V' (expected a, b or c; did you mean 'b'?)".
std::string one_of(const po::variables_map& vm, const char* name, std::initializer_list<std::string_view> allowed);

/// Reads a count/size option that must be positive and at most `max` ("--partitions 0" is a
/// usage error). @throws UsageError.
long long positive(const po::variables_map& vm, const char* name, long long max = 1LL << 62);

}  // namespace sfcrime::cli
