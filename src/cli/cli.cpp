#include "sfcrime/cli/cli.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "sfcrime/base/duration.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/query_options.hpp"
#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime::cli {

namespace {
std::vector<std::string>& words() {
  static std::vector<std::string> w;
  return w;
}
}  // namespace

void set_command_words(std::vector<std::string> w) { words() = std::move(w); }
const std::vector<std::string>& command_words() { return words(); }

namespace {

po::options_description common_options(bool with_config) {
  po::options_description d("Shared options (also accepted before the command word)");
  if (with_config)
    d.add_options()("config", po::value<std::string>()->value_name("FILE"),
                    "key=value config file (env SFCRIME_CONFIG; default ~/.config/sfcrime/config if it exists): "
                    "librdkafka properties and sfcrime.* settings (man sfcrime-config)");
  d.add_options()
      ("config-file", po::value<std::string>()->value_name("FILE"), with_config ? "the same as --config" :
       "key=value config file (env SFCRIME_CONFIG; default ~/.config/sfcrime/config if it exists): "
       "librdkafka properties and sfcrime.* settings (man sfcrime-config)")
      ("profile", po::value<std::string>()->value_name("NAME"),
       "profile [NAME] of the config file to apply on top of its first lines (env SFCRIME_PROFILE)")
      ("bootstrap-servers,b", po::value<std::string>()->value_name("HOST:PORT,..."),
       "brokers to connect to (env SFCRIME_BOOTSTRAP_SERVERS; default localhost:9092)")
      ("property,X", po::value<std::vector<std::string>>()->value_name("KEY=VALUE")->composing(),
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
  po::options_description common = common_options(!spec.own_config_option);
  po::options_description all;
  all.add(spec.options).add(common);
  Parsed p;
  try {
    po::store(po::command_line_parser(args).options(all).positional(spec.positional).run(), p.vm);
    if (p.vm.count("help")) {
      print_help(spec, common);
      return std::nullopt;
    }
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see 'sfcrime " + spec.name + " --help')");
  }
  const auto given = [&](const char* name) { return p.vm.count(name) && !p.vm[name].defaulted(); };
  // Read from vm, not through the options' storage: notify() comes after the option defaults.
  if (given("property")) flags.properties = p.vm["property"].as<std::vector<std::string>>();
  if (given("bootstrap-servers")) flags.bootstrap_servers = p.vm["bootstrap-servers"].as<std::string>();
  if (!spec.own_config_option && given("config")) flags.config_file = p.vm["config"].as<std::string>();
  if (given("config-file")) flags.config_file = p.vm["config-file"].as<std::string>();
  if (given("profile")) flags.profile = p.vm["profile"].as<std::string>();
  if (given("timeout")) flags.timeout = p.vm["timeout"].as<std::string>();
  if (given("radio-codes")) flags.radio_codes = p.vm["radio-codes"].as<std::string>();
  flags.commands = command_words();
  p.config = resolve_config(flags, [](const char* name) { return std::getenv(name); });
  apply_option_defaults(spec, p.config, p.vm);
  if (p.config.dump) {
    print_config(p.config, config_entries(p.config, &spec, true), false, std::cout);
    return std::nullopt;
  }
  try {
    po::notify(p.vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see 'sfcrime " + spec.name + " --help')");
  }
  return p;
}

namespace {

bool is_true(const std::string& v) { return v == "true" || v == "yes" || v == "on" || v == "1"; }
bool is_false(const std::string& v) { return v == "false" || v == "no" || v == "off" || v == "0"; }

/// The option defaults of `config` that apply to `spec`'s command, the last one of each option.
std::vector<const OptionDefault*> applicable_defaults(const CommandSpec& spec, const Config& config) {
  std::vector<const OptionDefault*> out;
  for (const OptionDefault& d : config.option_defaults) {
    if (std::find(d.commands.begin(), d.commands.end(), spec.name) == d.commands.end()) continue;
    if (!spec.options.find_nothrow(d.option, false)) {
      if (d.scoped)
        throw ConfigError("'" + d.key + "' (" + d.origin.text() + "): 'sfcrime " + spec.name + "' has no option --" +
                          d.option + " (see 'sfcrime " + spec.name + " --help')");
      continue;  // a shorthand for an option this command lacks
    }
    const auto same = std::find_if(out.begin(), out.end(), [&](const OptionDefault* o) { return o->option == d.option; });
    if (same == out.end()) {
      out.push_back(&d);
    } else if (std::pair((*same)->layer, (*same)->scoped) <= std::pair(d.layer, d.scoped)) {
      *same = &d;
    }
  }
  return out;
}

}  // namespace

namespace {
// The options whose values apply_option_defaults() took from the config file or environment:
// option -> "'KEY' (ORIGIN)"; read by config_default_behind() when a command refuses one.
std::map<std::string, std::string>& applied_defaults() {
  static std::map<std::string, std::string> applied;
  return applied;
}
}  // namespace

std::string config_default_behind(const OptionError& e) {
  const auto it = applied_defaults().find(e.option());
  return it == applied_defaults().end() ? "" : it->second;
}

void apply_option_defaults(const CommandSpec& spec, const Config& config, po::variables_map& vm) {
  for (const OptionDefault* d : applicable_defaults(spec, config)) {
    if (vm.count(d->option) && !vm[d->option].defaulted()) continue;  // the command line wins
    bool other_given = false;
    for (const auto& group : spec.alternatives) {
      if (std::find(group.begin(), group.end(), d->option) == group.end()) continue;
      for (const std::string& o : group)
        if (o != d->option && vm.count(o) && !vm[o].defaulted()) other_given = true;
    }
    if (other_given) continue;
    po::option opt;
    opt.string_key = d->option;
    const po::option_description& desc = spec.options.find(d->option, false);
    if (desc.semantic()->max_tokens() == 0) {  // a switch: true or false
      if (is_false(d->value)) continue;
      if (!is_true(d->value))
        throw ConfigError("'" + d->key + "' (" + d->origin.text() + ") is a switch: true or false, not '" + d->value + "'");
    } else {
      opt.value.push_back(d->value);
    }
    opt.original_tokens = {"--" + d->option, d->value};
    po::parsed_options parsed(&spec.options);
    parsed.options.push_back(std::move(opt));
    try {
      po::store(parsed, vm);
    } catch (const po::error& e) {
      throw ConfigError("'" + d->key + "' (" + d->origin.text() + "): " + e.what());
    }
    applied_defaults()[d->option] = "'" + d->key + "' (" + d->origin.text() + ")";
  }
}

std::vector<ConfigEntry> config_entries(const Config& config, const CommandSpec* spec, bool all) {
  std::vector<ConfigEntry> out;
  const auto shown = [](const std::string& key, const std::string& value) {
    return is_secret_property(key) ? std::string("[redacted]") : value;
  };
  out.push_back({"bootstrap.servers", config.bootstrap_servers, config.origin.at("bootstrap.servers")});
  out.push_back({"sfcrime.timeout", format_duration(config.timeout), config.origin.at("sfcrime.timeout")});
  out.push_back({"sfcrime.radio.codes", config.radio_codes, config.origin.at("sfcrime.radio.codes")});
  if (spec) {
    for (const OptionDefault* d : applicable_defaults(*spec, config)) out.push_back({d->key, d->value, d->origin});
  } else {
    for (const OptionDefault& d : config.option_defaults) {
      std::erase_if(out, [&](const ConfigEntry& e) { return e.key == d.key; });
      out.push_back({d.key, d.value, d.origin});
    }
  }
  // librdkafka properties: those set by the file or flags (the last setting of each), then the rest.
  std::vector<std::string> explicit_keys;
  for (const auto& [k, v] : config.properties) {
    std::erase_if(out, [&](const ConfigEntry& e) { return e.key == k; });
    std::erase(explicit_keys, k);
    explicit_keys.push_back(k);
    out.push_back({k, shown(k, v), config.origin.at(k)});
  }
  if (!all) return out;
  const std::vector<kafka::Property> role = spec ? spec->kafka_defaults : std::vector<kafka::Property>{};
  kafka::Conf conf = kafka::make_conf(config, role);
  std::vector<kafka::Property> defaults = kafka::client_defaults();
  defaults.insert(defaults.end(), role.begin(), role.end());
  for (const auto& [key, value] : kafka::conf_values(conf)) {
    if (key == "metadata.broker.list" || key == "bootstrap.servers") continue;
    if (std::find(explicit_keys.begin(), explicit_keys.end(), key) != explicit_keys.end()) continue;
    const bool ours = std::any_of(defaults.begin(), defaults.end(), [&](const auto& d) { return d.first == key; });
    out.push_back({key, shown(key, value),
                   {"default", ours ? "sfcrime" + (spec ? " " + spec->name : std::string()) : "librdkafka " + kafka::version()}});
  }
  return out;
}

void print_config(const Config& config, const std::vector<ConfigEntry>& entries, bool json, std::ostream& out) {
  if (json) {
    boost::json::array a;
    for (const ConfigEntry& e : entries)
      a.push_back({{"key", e.key}, {"value", e.value}, {"origin", e.origin.kind}, {"where", e.origin.where}});
    boost::json::object doc{{"config_file", config.config_file.empty() ? boost::json::value(nullptr) : boost::json::value(config.config_file)},
                            {"profile", config.profile.empty() ? boost::json::value(nullptr) : boost::json::value(config.profile)},
                            {"entries", std::move(a)}};
    out << boost::json::serialize(doc) << "\n";
    return;
  }
  out << "# effective configuration (precedence: flag > env > file > default)\n";
  out << "# config file: " << (config.config_file.empty() ? "none" : config.config_file)
      << (config.profile.empty() ? "" : ", profile " + config.profile) << "\n";
  for (const ConfigEntry& e : entries) out << e.key << " = " << e.value << "  # " << e.origin.text() << "\n";
}

bool shared_option_takes_value(std::string_view a) {
  return a == "-b" || a == "--bootstrap-servers" || a == "-X" || a == "--property" || a == "--config" ||
         a == "--config-file" || a == "--profile" || a == "--timeout";
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
/// "a", "a or b", "a, b or c".
std::string or_list(const std::vector<std::string_view>& words) {
  std::string s;
  for (std::size_t i = 0; i < words.size(); ++i)
    s += (i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") + std::string(words[i]);
  return s;
}
}  // namespace

int run_subcommand(std::string_view word, std::span<const Subcommand> table, const std::vector<std::string>& args) {
  const std::size_t at = first_word(args);
  if (at == args.size()) {
    const bool help = std::find(args.begin(), args.end(), "--help") != args.end() ||
                      std::find(args.begin(), args.end(), "-h") != args.end();
    std::FILE* out = help ? stdout : stderr;
    std::size_t width = 0;
    for (const auto& s : table) width = std::max(width, s.name.size());
    std::fprintf(out, "usage: sfcrime %.*s SUBCOMMAND [ARGS]\n\nSubcommands:\n", static_cast<int>(word.size()), word.data());
    for (const auto& s : table)
      std::fprintf(out, "  %-*.*s  %.*s\n", static_cast<int>(width), static_cast<int>(s.name.size()), s.name.data(),
                   static_cast<int>(s.description.size()), s.description.data());
    std::fprintf(out, "\nRun 'sfcrime %.*s SUBCOMMAND --help' for its options (man sfcrime-%.*s).\n",
                 static_cast<int>(word.size()), word.data(), static_cast<int>(word.size()), word.data());
    return help ? 0 : static_cast<int>(Exit::usage);
  }
  std::vector<std::string_view> names;
  for (const auto& s : table) {
    if (s.name == args[at]) {
      std::vector<std::string> rest = args;
      rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(at));
      return s.run(rest);
    }
    names.push_back(s.name);
  }
  const std::string best = suggest(args[at], names);
  throw UsageError("unknown " + std::string(word) + " subcommand '" + args[at] + "' (" +
                   (best.empty() ? "expected " + or_list(names) : "did you mean '" + best + "'?") + ")");
}

std::string one_of(const po::variables_map& vm, const char* name, std::initializer_list<std::string_view> allowed) {
  const std::string v = vm[name].as<std::string>();
  if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
  const std::vector<std::string_view> words(allowed);
  const std::string best = suggest(v, words);
  throw OptionError(name, "invalid --" + std::string(name) + " '" + v + "' (expected " + or_list(words) +
                   (best.empty() ? std::string() : "; did you mean '" + best + "'?") + ")");
}

void add_output_option(CommandSpec& spec) {
  spec.options.add_options()("output,o", po::value<std::string>()->default_value("table")->value_name("FORMAT"),
                             "table or json");
}

bool json_output(const po::variables_map& vm) {
  const std::string s = vm["output"].as<std::string>();
  const OutputFormat f = parse_output_format(s);
  if (f == OutputFormat::csv) throw OptionError("output", "--output must be table or json, got '" + s + "'");
  return f == OutputFormat::json;
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  const auto cell = [](const std::string& c) -> const std::string& {
    static const std::string dash = "-";
    return c.empty() ? dash : c;
  };
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], cell(r[c]).size());
  const auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (std::size_t c = 0; c < r.size(); ++c) {
      s += cell(r[c]);
      if (c + 1 < r.size() && c < width.size()) s += std::string(width[c] - cell(r[c]).size() + 2, ' ');
    }
    std::cout << s << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void delete_each(const std::vector<std::string>& names, std::string_view plural, std::string_view name_key, bool json,
                 const std::function<bool(const std::string&)>& action) {
  boost::json::array results;
  std::exception_ptr first;  // the first failure
  std::size_t failed = 0;
  for (const std::string& name : names) {
    boost::json::object r{{name_key, name}};
    try {
      r["deleted"] = action(name);
      r["error"] = nullptr;
    } catch (const UnavailableError&) {
      throw;
    } catch (const Error& e) {
      r["deleted"] = false;
      r["error"] = e.what();
      if (!first) first = std::current_exception();
      if (names.size() > 1) std::fprintf(stderr, "sfcrime: error: %s\n", e.what());
      ++failed;
    }
    results.push_back(std::move(r));
  }
  if (json) std::cout << boost::json::serialize(boost::json::object{{plural, std::move(results)}}) << "\n";
  if (!first) return;
  if (names.size() == 1) std::rethrow_exception(first);
  Exit code = Exit::software;
  try {
    std::rethrow_exception(first);
  } catch (const Error& e) {
    code = e.code();
  }
  throw Error(code, std::to_string(failed) + " of " + std::to_string(names.size()) + " " + std::string(plural) +
                        " were not deleted (the errors are above; the exit status is the first one's)");
}

std::string id_list(const std::vector<std::int32_t>& ids) {
  std::string s;
  for (std::size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s.empty() ? "-" : s;
}

boost::json::array id_array(const std::vector<std::int32_t>& ids) {
  boost::json::array a;
  for (const std::int32_t id : ids) a.push_back(id);
  return a;
}

long long positive(const po::variables_map& vm, const char* name, long long max) {
  const long long v = vm[name].as<long long>();
  if (v <= 0) throw OptionError(name, std::string("--") + name + " must be positive, got " + std::to_string(v));
  if (v > max) throw OptionError(name, std::string("--") + name + " must be at most " + std::to_string(max) + ", got " + std::to_string(v));
  return v;
}

}  // namespace sfcrime::cli
