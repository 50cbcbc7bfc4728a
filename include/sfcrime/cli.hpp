#pragma once
/// Command-line parsing shared by every command (DESIGN.md, convention 4: two-phase options).
///
/// main() splits the global options written before the command word from the command's own
/// arguments and passes both on; each command parses them with parse() below, which adds the
/// shared options (-b, -X, --config, --timeout, -v, --help) to the command's own, so a shared
/// option works before or after the command word.
#include <boost/program_options.hpp>

#include <optional>
#include <string>
#include <vector>

#include "sfcrime/config.hpp"

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
};

/// Parse result: the command's values and the effective configuration.
struct Parsed {
  po::variables_map vm;
  Config config;
};

/// Parses `args` for `spec`.
/// @returns std::nullopt when --help or -X dump was handled (printed to stdout; exit 0).
/// @throws UsageError naming the bad option and pointing at --help; ConfigError from
///         resolve_config().
std::optional<Parsed> parse(CommandSpec& spec, const std::vector<std::string>& args);

/// Prints the help text of `spec` (usage, summary, options, shared options, examples).
void print_help(const CommandSpec& spec, const po::options_description& common);

/// True for the shared options that take a value in the next argument (-b, -X, --config,
/// --config-file, --timeout, and their long forms).
bool shared_option_takes_value(std::string_view arg);

/// Index of the first bare word in `args` (not an option, not an option's value), or args.size().
/// @param value_options the command's own options that take a value in the next argument.
std::size_t first_word(const std::vector<std::string>& args, const std::vector<std::string_view>& value_options = {});

/// The candidate closest to a mistyped `word` (edit distance at most 2, or `word` a prefix of it),
/// or "" when none is close: for "did you mean ...?" messages, as git does.
std::string suggest(std::string_view word, const std::vector<std::string_view>& candidates);

/// Reads a count/size option that must be positive and at most `max` ("--partitions 0" is a
/// usage error). @throws UsageError.
long long positive(const po::variables_map& vm, const char* name, long long max = 1LL << 62);

}  // namespace sfcrime::cli
