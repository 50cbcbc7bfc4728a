#include "sfcrime/cli.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "sfcrime/errors.hpp"
#include "sfcrime/kafka.hpp"

namespace sfcrime::cli {

namespace {

po::options_description common_options(CommonFlags& f, bool with_config) {
  po::options_description d("Shared options (also accepted before the command word)");
  if (with_config)
    d.add_options()("config", po::value<std::string>()->value_name("FILE"),
                    "key=value config file (env SFCRIME_CONFIG): librdkafka properties and sfcrime.* settings");
  d.add_options()
      ("config-file", po::value<std::string>()->value_name("FILE"), with_config ? "the same as --config" :
       "key=value config file (env SFCRIME_CONFIG): librdkafka properties and sfcrime.* settings")
      ("bootstrap-servers,b", po::value<std::string>()->value_name("HOST:PORT,..."),
       "brokers to connect to (env SFCRIME_BOOTSTRAP_SERVERS; default localhost:9092)")
      ("property,X", po::value<std::vector<std::string>>(&f.properties)->value_name("KEY=VALUE")->composing(),
       "librdkafka property, repeatable; -X dump prints the effective configuration")
      ("timeout", po::value<std::string>()->value_name("DURATION"),
       "bound on every wait for the broker (env SFCRIME_TIMEOUT; default 10s)")
      ("verbose,v", "more diagnostics on stderr (repeat: -vv)")
      ("help,h", "show this help");
  return d;
}

}  // namespace

void print_help(const CommandSpec& spec, const po::options_description& common) {
  std::cout << "usage: " << spec.synopsis << "\n\n" << spec.summary << "\n\n";
  if (!spec.options.options().empty()) std::cout << spec.options << "\n";
  std::cout << common << "\n";
  if (!spec.examples.empty()) std::cout << "Examples:\n" << spec.examples << "\n";
  std::cout << "See man sfcrime-" << spec.name.substr(0, spec.name.find(' ')) << " for more.\n";
}

std::optional<Parsed> parse(CommandSpec& spec, const std::vector<std::string>& raw) {
  CommonFlags flags;
  // -v, -vv, -vvv: counted here because program_options has no counting switch.
  std::vector<std::string> args;
  for (const std::string& a : raw) {
    if (a == "--verbose" || (a.size() >= 2 && a[0] == '-' && a[1] == 'v' && a.find_first_not_of('v', 1) == std::string::npos)) {
      flags.verbosity += a == "--verbose" ? 1 : static_cast<int>(a.size() - 1);
    } else {
      args.push_back(a);
    }
  }
  po::options_description common = common_options(flags, !spec.own_config_option);
  po::options_description all;
  all.add(spec.options).add(common);
  Parsed p;
  try {
    po::store(po::command_line_parser(args).options(all).positional(spec.positional).run(), p.vm);
    if (p.vm.count("help")) {
      print_help(spec, common);
      return std::nullopt;
    }
    po::notify(p.vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see 'sfcrime " + spec.name + " --help')");
  }
  if (p.vm.count("bootstrap-servers")) flags.bootstrap_servers = p.vm["bootstrap-servers"].as<std::string>();
  if (!spec.own_config_option && p.vm.count("config")) flags.config_file = p.vm["config"].as<std::string>();
  if (p.vm.count("config-file")) flags.config_file = p.vm["config-file"].as<std::string>();
  if (p.vm.count("timeout")) flags.timeout = p.vm["timeout"].as<std::string>();
  if (p.vm.count("radio-codes")) flags.radio_codes = p.vm["radio-codes"].as<std::string>();
  p.config = resolve_config(flags, [](const char* name) { return std::getenv(name); });
  if (p.config.dump) {
    kafka::Conf conf = kafka::make_conf(p.config, {});
    kafka::dump_config(p.config, conf.get(), std::cout);
    return std::nullopt;
  }
  return p;
}

bool shared_option_takes_value(std::string_view a) {
  return a == "-b" || a == "--bootstrap-servers" || a == "-X" || a == "--property" || a == "--config" ||
         a == "--config-file" || a == "--timeout";
}

std::size_t first_word(const std::vector<std::string>& args, const std::vector<std::string_view>& value_options) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.empty() || a[0] != '-') return i;
    if (shared_option_takes_value(a) || std::find(value_options.begin(), value_options.end(), a) != value_options.end())
      ++i;  // skip the option's value
  }
  return args.size();
}

namespace {
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string suggest(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  std::size_t best_d = 3;
  for (std::string_view c : candidates) {
    const std::size_t d = word.size() >= 2 && c.substr(0, word.size()) == word ? 0 : edit_distance(word, c);
    if (d < best_d) {
      best = c;
      best_d = d;
    }
  }
  return std::string(best);
}

long long positive(const po::variables_map& vm, const char* name, long long max) {
  const long long v = vm[name].as<long long>();
  if (v <= 0) throw UsageError(std::string("--") + name + " must be positive, got " + std::to_string(v));
  if (v > max) throw UsageError(std::string("--") + name + " must be at most " + std::to_string(max) + ", got " + std::to_string(v));
  return v;
}

}  // namespace sfcrime::cli
