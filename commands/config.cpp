// sfcrime config show|profiles|path: the effective configuration and where each value came from
// (git config --list --show-origin, rpk profile list).
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/cli.hpp"
#include "sfcrime/commands/commands.hpp"

namespace sfcrime::commands {

namespace {

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
      "property named *password*, *secret* or *jaas* in any case, ssl.key.pem,\n"
      "sasl.oauthbearer.config) are [redacted]. 'sfcrime COMMAND -X dump' shows the same for one\n"
      "command, with every librdkafka property and the defaults that command sets.";
  spec.options.add_options()("all,a", "also every librdkafka property left at librdkafka's default");
  cli::add_output_option(spec);
  spec.examples =
      "  sfcrime config show\n"
      "  sfcrime --profile prod config show --output json\n"
      "  SFCRIME_TOPIC=police-calls sfcrime config show --all | grep -v 'librdkafka'\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const bool json = cli::json_output(parsed->vm);
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
  cli::add_output_option(spec);
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const Config& c = parsed->config;
  const std::vector<std::string> names = c.config_file.empty() ? std::vector<std::string>{} : config_profiles(c.config_file);
  if (cli::json_output(parsed->vm)) {
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

constexpr cli::Subcommand kSubcommands[] = {
    {"show", &show, "the effective configuration and where each value came from"},
    {"profiles", &profiles, "the profiles of the config file, the applied one marked"},
    {"path", &path, "the config file in effect"},
};

}  // namespace

int config(const std::vector<std::string>& args) { return cli::run_subcommand("config", kSubcommands, args); }

std::span<const cli::Subcommand> config_words() { return kSubcommands; }

}  // namespace sfcrime::commands
