// sfcrime config show|profiles|path: the effective configuration and where each value came from
// (git config --list --show-origin, rpk profile list).
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "sfcrime/cli.hpp"
#include "sfcrime/commands.hpp"
#include "sfcrime/errors.hpp"
#include "sfcrime/sinks.hpp"

namespace sfcrime::commands {

namespace {

bool json_output(const cli::Parsed& p) {
  return parse_output_format(p.vm["output"].as<std::string>()) == OutputFormat::json;
}

void add_output_option(cli::CommandSpec& spec) {
  spec.options.add_options()("output,o", cli::po::value<std::string>()->default_value("table")->value_name("FORMAT"),
                             "table or json");
}

int show(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "config show";
  spec.synopsis = "sfcrime config show [--all] [--output table|json] [options]";
  spec.summary =
      "Prints the effective configuration, one 'key = value  # origin' line each: bootstrap.servers,\n"
      "sfcrime.timeout and sfcrime.radio.codes, the defaults of command options (sfcrime.topic,\n"
      "sfcrime.window, sfcrime.COMMAND.OPTION), and the librdkafka properties set by the config file\n"
      "or the flags. The origin is the layer of the precedence flag > env > file > default and what\n"
      "in it set the value (the flag, the variable, the file's line and profile). Secrets (any\n"
      "property named *password* or *secret*, ssl.key.pem, sasl.oauthbearer.config) are\n"
      "[redacted]. 'sfcrime COMMAND -X dump' shows the same for one command, with every\n"
      "librdkafka property and the defaults that command sets.";
  spec.options.add_options()("all,a", "also every librdkafka property left at librdkafka's default");
  add_output_option(spec);
  spec.examples =
      "  sfcrime config show\n"
      "  sfcrime --profile prod config show --output json\n"
      "  SFCRIME_TOPIC=police-calls sfcrime config show --all | grep -v 'librdkafka'\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const bool json = json_output(*parsed);
  cli::print_config(parsed->config, cli::config_entries(parsed->config, nullptr, parsed->vm.count("all") > 0), json,
                    std::cout);
  return 0;
}

int profiles(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "config profiles";
  spec.synopsis = "sfcrime config profiles [--output table|json] [options]";
  spec.summary =
      "Lists the profiles ([NAME] sections) of the config file in effect, one per line, the one\n"
      "applied marked with '*' (chosen by --profile, SFCRIME_PROFILE or the file's sfcrime.profile).";
  add_output_option(spec);
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const Config& c = parsed->config;
  const std::vector<std::string> names = c.config_file.empty() ? std::vector<std::string>{} : config_profiles(c.config_file);
  if (json_output(*parsed)) {
    boost::json::array a;
    for (const std::string& n : names) a.push_back({{"name", n}, {"selected", n == c.profile}});
    boost::json::object doc{{"config_file", c.config_file.empty() ? boost::json::value(nullptr) : boost::json::value(c.config_file)},
                            {"profiles", std::move(a)}};
    std::cout << boost::json::serialize(doc) << "\n";
    return 0;
  }
  if (c.config_file.empty()) std::fprintf(stderr, "sfcrime: no config file (see 'sfcrime config path')\n");
  for (const std::string& n : names) std::cout << (n == c.profile ? "* " : "  ") << n << "\n";
  return 0;
}

int path(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "config path";
  spec.synopsis = "sfcrime config path [options]";
  spec.summary =
      "Prints the path of the config file in effect: --config, else $SFCRIME_CONFIG, else\n"
      "$XDG_CONFIG_HOME/sfcrime/config (~/.config/sfcrime/config) when it exists. With none, prints\n"
      "the default path where one would be read, and says on stderr that it does not exist.";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  if (!parsed->config.config_file.empty()) {
    std::cout << parsed->config.config_file << "\n";
    return 0;
  }
  const std::string d = default_config_path([](const char* n) { return std::getenv(n); });
  std::cout << d << "\n";
  std::fprintf(stderr, "sfcrime: '%s' does not exist: no config file is read\n", d.c_str());
  return 0;
}

struct Subcommand {
  std::string_view name;
  int (*run)(const std::vector<std::string>&);
  std::string_view description;
};

constexpr Subcommand kSubcommands[] = {
    {"show", &show, "the effective configuration and where each value came from"},
    {"profiles", &profiles, "the profiles of the config file, the applied one marked"},
    {"path", &path, "the config file in effect"},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: sfcrime config SUBCOMMAND [ARGS]\n\nSubcommands:\n");
  for (const auto& s : kSubcommands)
    std::fprintf(out, "  %-9s %.*s\n", std::string(s.name).c_str(), static_cast<int>(s.description.size()),
                 s.description.data());
  std::fprintf(out, "\nRun 'sfcrime config SUBCOMMAND --help' for its options; man sfcrime-config for the file format.\n");
}

}  // namespace

int config(const std::vector<std::string>& args) {
  const std::size_t at = cli::first_word(args);
  if (at == args.size()) {
    const bool help = std::find(args.begin(), args.end(), "--help") != args.end() ||
                      std::find(args.begin(), args.end(), "-h") != args.end();
    usage(help ? stdout : stderr);
    return help ? 0 : static_cast<int>(Exit::usage);
  }
  for (const auto& s : kSubcommands) {
    if (s.name == args[at]) {
      std::vector<std::string> rest = args;
      rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(at));
      return s.run(rest);
    }
  }
  std::vector<std::string_view> names;
  for (const auto& s : kSubcommands) names.push_back(s.name);
  const std::string best = cli::suggest(args[at], names);
  throw UsageError("unknown config subcommand '" + args[at] + "' (" +
                   (best.empty() ? "expected show, profiles or path" : "did you mean '" + best + "'?") + ")");
}

}  // namespace sfcrime::commands
