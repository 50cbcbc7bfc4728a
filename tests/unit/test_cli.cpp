// Unit tests of cli/cli.hpp: parse() with a CommandSpec (shared options before and after the
// command's own, -X, -v counting, --help, required and unknown options), apply_option_defaults()
// and its precedence, config_default_behind(), one_of(), positive(), first_word(),
// shared_option_takes_value(), run_subcommand(), print_table(), delete_each() and the id lists.
#define BOOST_TEST_MODULE cli
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "memory_file.hpp"
#include "temp_file.hpp"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sfcrime/base/config.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/cli.hpp"

namespace {

namespace cli = sfcrime::cli;
namespace po = boost::program_options;
using sfcrime::test::CoutCapture;
using sfcrime::test::TempFile;

/// parse() reads the real environment: every test starts without SFCRIME_* variables and with
/// XDG_CONFIG_HOME an empty directory (no default config file).
struct CleanEnvironment {
  std::filesystem::path dir;
  CleanEnvironment() {
    for (const char* v : {"SFCRIME_CONFIG", "SFCRIME_PROFILE", "SFCRIME_BOOTSTRAP_SERVERS", "SFCRIME_TIMEOUT",
                          "SFCRIME_RADIO_CODES", "SFCRIME_TOPIC", "SFCRIME_WINDOW"})
      ::unsetenv(v);
    std::string tmpl = (std::filesystem::temp_directory_path() / "sfcrime-cli-test-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    ::setenv("XDG_CONFIG_HOME", dir.c_str(), 1);
  }
  ~CleanEnvironment() { std::filesystem::remove_all(dir); }
};
BOOST_TEST_GLOBAL_FIXTURE(CleanEnvironment);

/// Sets an environment variable for one scope.
struct ScopedEnv {
  const char* name;
  ScopedEnv(const char* n, const char* value) : name(n) { ::setenv(n, value, 1); }
  ~ScopedEnv() { ::unsetenv(name); }
};

/// A command shaped like aggregate's: two alternatives, defaults, a number and a switch.
cli::CommandSpec aggregate_spec() {
  cli::CommandSpec s;
  s.name = "aggregate";
  s.synopsis = "sfcrime aggregate (--topic TOPIC | --file PATH) [OPTIONS]";
  s.summary = "Counts the records of each group per window.";
  s.options.add_options()
      ("topic", po::value<std::string>(), "topic to read")
      ("file", po::value<std::string>(), "file to read")
      ("window", po::value<std::string>()->default_value("30m"), "window length")
      ("top", po::value<long long>(), "rows per window")
      ("output", po::value<std::string>()->default_value("table"), "table, json or csv")
      ("exactly-once", "transactions");
  s.alternatives = {{"topic", "file"}};
  s.examples = "  sfcrime aggregate --topic police-calls --window 30m\n";
  return s;
}

/// A command with a required option and a positional argument.
cli::CommandSpec create_spec() {
  cli::CommandSpec s;
  s.name = "topic create";
  s.synopsis = "sfcrime topic create TOPIC --partitions N";
  s.summary = "Creates a topic.";
  s.options.add_options()
      ("topic", po::value<std::string>()->required(), "topic name")
      ("partitions", po::value<long long>()->required(), "partitions")
      ("config", po::value<std::vector<std::string>>()->composing(), "KEY=VALUE topic config");
  s.positional.add("topic", 1);
  s.own_config_option = true;
  return s;
}

std::optional<cli::Parsed> parse_copy(cli::CommandSpec spec, const std::vector<std::string>& args) {
  return cli::parse(spec, args);
}

cli::Parsed parsed(cli::CommandSpec spec, const std::vector<std::string>& args) {
  auto p = cli::parse(spec, args);
  BOOST_REQUIRE(p.has_value());
  return std::move(*p);
}

template <class E>
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  BOOST_FAIL("expected an exception");
  return {};
}

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

/// A variables_map of `args` parsed against `desc` alone.
po::variables_map vm_of(const po::options_description& desc, const std::vector<std::string>& args) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  return vm;
}

sfcrime::OptionDefault option_default(std::vector<std::string> commands, std::string option, std::string value,
                                      std::string key, bool scoped, int layer) {
  sfcrime::OptionDefault d;
  d.commands = std::move(commands);
  d.option = std::move(option);
  d.value = std::move(value);
  d.key = std::move(key);
  d.origin = {"file", "/etc/sfcrime line " + std::to_string(layer + 1)};
  d.scoped = scoped;
  d.layer = layer;
  return d;
}

/// The command line `args` for `spec`, then apply_option_defaults() with `defaults`.
po::variables_map with_defaults(const cli::CommandSpec& spec, const std::vector<std::string>& args,
                                std::vector<sfcrime::OptionDefault> defaults) {
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(spec.options).run(), vm);
  sfcrime::Config c;
  c.option_defaults = std::move(defaults);
  cli::apply_option_defaults(spec, c, vm);
  po::notify(vm);
  return vm;
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// parse()
// ---------------------------------------------------------------------------------------------

/// The command words main() sets from its table (config keys sfcrime.COMMAND.OPTION name them).
struct CommandWords {
  CommandWords() { cli::set_command_words({"produce", "consume", "aggregate", "inspect", "topic.create"}); }
};
BOOST_GLOBAL_FIXTURE(CommandWords);

BOOST_AUTO_TEST_CASE(shared_options_before_or_after_the_commands_own) {
  const std::vector<std::vector<std::string>> orders = {
      {"-b", "h1:9092", "--timeout", "5s", "--topic", "calls", "--window", "1h"},
      {"--topic", "calls", "--window", "1h", "-b", "h1:9092", "--timeout", "5s"},
      {"--topic", "calls", "--bootstrap-servers", "h1:9092", "--window", "1h", "--timeout=5s"},
  };
  for (const auto& args : orders) {
    const cli::Parsed p = parsed(aggregate_spec(), args);
    BOOST_TEST(p.vm["topic"].as<std::string>() == "calls");
    BOOST_TEST(p.vm["window"].as<std::string>() == "1h");
    BOOST_TEST(p.config.bootstrap_servers == "h1:9092");
    BOOST_TEST(p.config.origin.at("bootstrap.servers").kind == "flag");
    BOOST_TEST(p.config.timeout.count() == 5000);
  }
}

BOOST_AUTO_TEST_CASE(x_properties_repeat_in_order) {
  const cli::Parsed p = parsed(aggregate_spec(), {"-X", "acks=all", "--topic", "t", "-Xlinger.ms=5", "--property",
                                                  "client.id=me"});
  const std::vector<std::pair<std::string, std::string>> want = {{"acks", "all"}, {"linger.ms", "5"}, {"client.id", "me"}};
  BOOST_TEST((p.config.properties == want));
  BOOST_TEST(p.config.origin.at("linger.ms").text() == "flag -X");
}

BOOST_AUTO_TEST_CASE(x_without_equals_is_a_usage_error) {
  BOOST_CHECK_THROW(parse_copy(aggregate_spec(), {"-X", "acks"}),
                    sfcrime::UsageError);
}

BOOST_AUTO_TEST_CASE(v_switches_are_counted) {
  BOOST_TEST(parsed(aggregate_spec(), {}).config.verbosity == 0);
  BOOST_TEST(parsed(aggregate_spec(), {"-v"}).config.verbosity == 1);
  BOOST_TEST(parsed(aggregate_spec(), {"-vv", "--topic", "t", "-v", "--verbose"}).config.verbosity == 4);
}

BOOST_AUTO_TEST_CASE(help_prints_and_returns_nullopt) {
  for (const char* flag : {"--help", "-h"}) {
    cli::CommandSpec spec = aggregate_spec();
    CoutCapture out;
    // --help wins over a missing required option and over any other argument.
    BOOST_TEST(!cli::parse(spec, {"--window", "1h", flag}).has_value());
    const std::string text = out.text();
    BOOST_TEST(text.rfind("usage: sfcrime aggregate (--topic TOPIC | --file PATH) [OPTIONS]\n", 0) == 0, text);
    BOOST_TEST(contains(text, "Counts the records of each group per window."));
    BOOST_TEST(contains(text, "--window"));
    BOOST_TEST(contains(text, "--bootstrap-servers"));  // the shared options too
    BOOST_TEST(contains(text, "Examples:\n  sfcrime aggregate --topic police-calls --window 30m"));
    BOOST_TEST(contains(text, "man sfcrime-aggregate"));
  }
  cli::CommandSpec create = create_spec();
  CoutCapture out;
  BOOST_TEST(!cli::parse(create, {"--help"}).has_value());
  BOOST_TEST(contains(out.text(), "man sfcrime-topic "), out.text());  // the first word of a nested name
}

BOOST_AUTO_TEST_CASE(x_dump_prints_the_configuration_and_returns_nullopt) {
  cli::CommandSpec spec = aggregate_spec();
  CoutCapture out;
  BOOST_TEST(!cli::parse(spec, {"-X", "dump", "-b", "h2:9092", "-X", "sasl.password=hunter2"}).has_value());
  const std::string text = out.text();
  BOOST_TEST(contains(text, "bootstrap.servers = h2:9092  # flag --bootstrap-servers\n"), text);
  BOOST_TEST(contains(text, "sasl.password = [redacted]  # flag -X\n"), text);
  BOOST_TEST(!contains(text, "hunter2"));
}

BOOST_AUTO_TEST_CASE(required_options_and_positionals) {
  const cli::Parsed p = parsed(create_spec(), {"calls", "--partitions", "6"});
  BOOST_TEST(p.vm["topic"].as<std::string>() == "calls");
  BOOST_TEST(p.vm["partitions"].as<long long>() == 6);
  const std::string m = message_of<sfcrime::UsageError>([] { cli::CommandSpec s = create_spec(); cli::parse(s, {"calls"}); });
  BOOST_TEST(contains(m, "--partitions"), m);
  BOOST_TEST(contains(m, "(see 'sfcrime topic create --help')"), m);
  BOOST_CHECK_THROW(parse_copy(create_spec(), {"a", "b", "--partitions", "1"}),
                    sfcrime::UsageError);  // one positional only
}

BOOST_AUTO_TEST_CASE(own_config_option_leaves_the_file_to_config_file) {
  TempFile file("bootstrap.servers=from-file:9092\n");
  const cli::Parsed p = parsed(create_spec(), {"calls", "--partitions", "1", "--config", "retention.ms=1000",
                                               "--config-file", file.path()});
  BOOST_TEST(p.vm["config"].as<std::vector<std::string>>() == std::vector<std::string>{"retention.ms=1000"},
             boost::test_tools::per_element());
  BOOST_TEST(p.config.config_file == file.path());
  BOOST_TEST(p.config.bootstrap_servers == "from-file:9092");
  // For a command without its own --config, --config is the file.
  const cli::Parsed q = parsed(aggregate_spec(), {"--config", file.path()});
  BOOST_TEST(q.config.config_file == file.path());
}

BOOST_AUTO_TEST_CASE(unknown_or_bad_options_are_usage_errors) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--windw", "1h"}, {"--top", "many"}, {"--topic"}, {"-q"}, {"stray"}}) {
    try {
      cli::CommandSpec spec = aggregate_spec();
      cli::parse(spec, args);
      BOOST_ERROR("no error for " << args.front());
    } catch (const sfcrime::UsageError& e) {
      BOOST_TEST(static_cast<int>(e.code()) == 64);
      BOOST_TEST(contains(e.what(), "(see 'sfcrime aggregate --help')"), e.what());
    }
  }
}

BOOST_AUTO_TEST_CASE(option_defaults_precedence_through_parse) {
  // defaults < config file < environment < -X < the command line (config.hpp).
  TempFile file("sfcrime.window=4h\n");
  const std::vector<std::string> base = {"--config-file", file.path()};
  auto window = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return parsed(aggregate_spec(), args).vm["window"].as<std::string>();
  };
  BOOST_TEST(parsed(aggregate_spec(), {}).vm["window"].as<std::string>() == "30m");
  BOOST_TEST(window({}) == "4h");
  ScopedEnv env("SFCRIME_WINDOW", "2h");
  BOOST_TEST(window({}) == "2h");
  BOOST_TEST(window({"-X", "sfcrime.aggregate.window=3h"}) == "3h");
  BOOST_TEST(window({"-X", "sfcrime.aggregate.window=3h", "--window", "1h"}) == "1h");
}

BOOST_AUTO_TEST_CASE(a_scoped_default_for_an_option_the_command_lacks_is_a_config_error) {
  const std::string m = message_of<sfcrime::ConfigError>([] {
    cli::CommandSpec s = aggregate_spec();
    cli::parse(s, {"-X", "sfcrime.aggregate.partitions=6"});
  });
  BOOST_TEST(contains(m, "'sfcrime.aggregate.partitions' (flag -X)"), m);
  BOOST_TEST(contains(m, "--partitions"), m);
}

// ---------------------------------------------------------------------------------------------
// apply_option_defaults()
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_command_line_wins_over_defaults) {
  const auto vm = with_defaults(aggregate_spec(), {"--window", "1h"},
                                {option_default({"aggregate"}, "window", "2h", "sfcrime.window", false, 3)});
  BOOST_TEST(vm["window"].as<std::string>() == "1h");
}

BOOST_AUTO_TEST_CASE(a_default_replaces_the_options_own_default) {
  const auto vm = with_defaults(aggregate_spec(), {}, {option_default({"aggregate"}, "output", "json",
                                                                      "sfcrime.aggregate.output", true, 0)});
  BOOST_TEST(vm["output"].as<std::string>() == "json");
  BOOST_TEST(!vm["output"].defaulted());
}

BOOST_AUTO_TEST_CASE(layer_then_scoped_then_later_line) {
  using D = std::vector<sfcrime::OptionDefault>;
  auto window = [](D d) { return with_defaults(aggregate_spec(), {}, std::move(d))["window"].as<std::string>(); };
  // Higher layer wins, whatever the order and scope.
  BOOST_TEST(window({option_default({"aggregate"}, "window", "2h", "sfcrime.window", false, 2),
                     option_default({"aggregate"}, "window", "3h", "sfcrime.aggregate.window", true, 0)}) == "2h");
  BOOST_TEST(window({option_default({"aggregate"}, "window", "3h", "sfcrime.aggregate.window", true, 0),
                     option_default({"aggregate"}, "window", "2h", "sfcrime.window", false, 2)}) == "2h");
  // Same layer: the scoped key wins over the shorthand, whatever the order.
  BOOST_TEST(window({option_default({"aggregate"}, "window", "3h", "sfcrime.aggregate.window", true, 1),
                     option_default({"aggregate"}, "window", "2h", "sfcrime.window", false, 1)}) == "3h");
  BOOST_TEST(window({option_default({"aggregate"}, "window", "2h", "sfcrime.window", false, 1),
                     option_default({"aggregate"}, "window", "3h", "sfcrime.aggregate.window", true, 1)}) == "3h");
  // Same layer and scope: the later one.
  BOOST_TEST(window({option_default({"aggregate"}, "window", "5h", "sfcrime.window", false, 0),
                     option_default({"aggregate"}, "window", "6h", "sfcrime.window", false, 0)}) == "6h");
}

BOOST_AUTO_TEST_CASE(defaults_of_other_commands_do_not_apply) {
  const auto vm = with_defaults(aggregate_spec(), {}, {option_default({"produce", "consume"}, "topic", "t", "sfcrime.topic", false, 0),
                                                       option_default({"consume"}, "window", "9h", "sfcrime.consume.window", true, 0)});
  BOOST_TEST(vm.count("topic") == 0u);
  BOOST_TEST(vm["window"].as<std::string>() == "30m");
}

BOOST_AUTO_TEST_CASE(alternatives_block_a_default) {
  const std::vector<sfcrime::OptionDefault> d = {option_default({"produce", "consume", "aggregate"}, "topic", "calls",
                                                                "sfcrime.topic", false, 2)};
  const auto from_file = with_defaults(aggregate_spec(), {"--file", "calls.json"}, d);
  BOOST_TEST(from_file.count("topic") == 0u);
  const auto plain = with_defaults(aggregate_spec(), {}, d);
  BOOST_TEST(plain["topic"].as<std::string>() == "calls");
}

BOOST_AUTO_TEST_CASE(switch_defaults_take_true_or_false) {
  for (const char* yes : {"true", "yes", "on", "1"}) {
    const auto vm = with_defaults(aggregate_spec(), {}, {option_default({"aggregate"}, "exactly-once", yes,
                                                                        "sfcrime.aggregate.exactly-once", true, 0)});
    BOOST_TEST(vm.count("exactly-once") == 1u, yes);
  }
  for (const char* no : {"false", "no", "off", "0"}) {
    const auto vm = with_defaults(aggregate_spec(), {}, {option_default({"aggregate"}, "exactly-once", no,
                                                                        "sfcrime.aggregate.exactly-once", true, 0)});
    BOOST_TEST(vm.count("exactly-once") == 0u, no);
  }
  const std::string m = message_of<sfcrime::ConfigError>([] {
    with_defaults(aggregate_spec(), {}, {option_default({"aggregate"}, "exactly-once", "maybe",
                                                        "sfcrime.aggregate.exactly-once", true, 0)});
  });
  BOOST_TEST(contains(m, "'sfcrime.aggregate.exactly-once'"), m);
  BOOST_TEST(contains(m, "'maybe'"), m);
}

BOOST_AUTO_TEST_CASE(a_value_the_option_refuses_is_a_config_error_naming_its_origin) {
  const std::string m = message_of<sfcrime::ConfigError>([] {
    with_defaults(aggregate_spec(), {}, {option_default({"aggregate"}, "top", "many", "sfcrime.aggregate.top", true, 0)});
  });
  BOOST_TEST(contains(m, "'sfcrime.aggregate.top' (file /etc/sfcrime line 1)"), m);
}

BOOST_AUTO_TEST_CASE(a_shorthand_for_an_option_the_command_lacks_is_ignored) {
  cli::CommandSpec bare;  // a command without --window
  bare.name = "inspect";
  const std::vector<sfcrime::OptionDefault> d = {
      option_default({"produce", "inspect"}, "window", "1h", "sfcrime.window", false, 0)};
  BOOST_CHECK_NO_THROW(with_defaults(bare, {}, d));
  const std::vector<sfcrime::OptionDefault> scoped = {
      option_default({"inspect"}, "window", "1h", "sfcrime.inspect.window", true, 0)};
  BOOST_CHECK_THROW(with_defaults(bare, {}, scoped), sfcrime::ConfigError);
}

BOOST_AUTO_TEST_CASE(config_default_behind_names_the_key_of_a_refused_default) {
  // Option names used only here: what apply_option_defaults() stored stays for the process.
  cli::CommandSpec spec;
  spec.name = "aggregate";
  spec.options.add_options()("behind-window", po::value<std::string>(), "")("behind-mode", po::value<std::string>(), "");
  sfcrime::OptionDefault d = option_default({"aggregate"}, "behind-window", "30x", "sfcrime.window", false, 2);
  d.origin = {"env", "SFCRIME_WINDOW"};
  with_defaults(spec, {"--behind-mode", "x"}, {d});
  // The option a refusal is about travels in the error (OptionError), as "--NAME" or "NAME".
  BOOST_TEST(cli::config_default_behind(sfcrime::OptionError("--behind-window", "invalid duration '30x'")) ==
             "'sfcrime.window' (env SFCRIME_WINDOW)");
  BOOST_TEST(cli::config_default_behind(sfcrime::OptionError("behind-window", "invalid --behind-window '30x'")) ==
             "'sfcrime.window' (env SFCRIME_WINDOW)");
  // A refusal of an option given on the command line, or never configured, names no key.
  BOOST_TEST(cli::config_default_behind(sfcrime::OptionError("behind-mode", "--behind-mode x does not go")) == "");
  BOOST_TEST(cli::config_default_behind(sfcrime::OptionError("--offset @-", "invalid --offset")) == "");
}

BOOST_AUTO_TEST_CASE(config_entries_show_what_applies_once_with_secrets_redacted) {
  sfcrime::CommonFlags flags;
  flags.properties = {"sasl.password=hunter2", "acks=all", "acks=1"};
  sfcrime::Config c = sfcrime::resolve_config(flags, [](const char*) -> const char* { return nullptr; });
  c.option_defaults = {option_default({"aggregate"}, "window", "2h", "sfcrime.window", false, 0),
                       option_default({"aggregate"}, "window", "3h", "sfcrime.aggregate.window", true, 0),
                       option_default({"produce"}, "topic", "t", "sfcrime.produce.topic", true, 0)};
  const cli::CommandSpec spec = aggregate_spec();
  std::vector<std::string> lines;
  for (const auto& e : cli::config_entries(c, &spec, false)) lines.push_back(e.key + "=" + e.value + " (" + e.origin.text() + ")");
  const std::vector<std::string> want = {"bootstrap.servers=localhost:9092 (default)", "sfcrime.timeout=10s (default)",
                                         "sfcrime.radio.codes= (default)",
                                         "sfcrime.aggregate.window=3h (file /etc/sfcrime line 1)",
                                         "sasl.password=[redacted] (flag -X)", "acks=1 (flag -X)"};
  BOOST_TEST(lines == want, boost::test_tools::per_element());

  std::ostringstream json;
  cli::print_config(c, cli::config_entries(c, &spec, false), true, json);
  const auto doc = boost::json::parse(json.str()).as_object();
  BOOST_TEST(doc.at("config_file").is_null());
  BOOST_TEST(doc.at("profile").is_null());
  const auto& first = doc.at("entries").as_array().at(0).as_object();
  BOOST_TEST(boost::json::serialize(first) == R"({"key":"bootstrap.servers","value":"localhost:9092","origin":"default","where":""})");
  BOOST_TEST(json.str().find("hunter2") == std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(one_of_accepts_and_suggests) {
  po::options_description desc;
  desc.add_options()("output-mode", po::value<std::string>(), "")("format", po::value<std::string>(), "");
  BOOST_TEST(cli::one_of(vm_of(desc, {"--output-mode", "update"}), "output-mode", {"append", "update", "complete"}) ==
             "update");
  const auto m1 = message_of<sfcrime::UsageError>(
      [&] { cli::one_of(vm_of(desc, {"--output-mode", "apend"}), "output-mode", {"append", "update", "complete"}); });
  BOOST_TEST(m1 == "invalid --output-mode 'apend' (expected append, update or complete; did you mean 'append'?)");
  const auto m2 = message_of<sfcrime::UsageError>(
      [&] { cli::one_of(vm_of(desc, {"--output-mode", "zzzzzz"}), "output-mode", {"append", "update", "complete"}); });
  BOOST_TEST(m2 == "invalid --output-mode 'zzzzzz' (expected append, update or complete)");
  const auto m3 = message_of<sfcrime::UsageError>(
      [&] { cli::one_of(vm_of(desc, {"--format", "Json"}), "format", {"table", "json"}); });
  BOOST_TEST(m3 == "invalid --format 'Json' (expected table or json; did you mean 'json'?)");
  const auto m4 = message_of<sfcrime::UsageError>([&] { cli::one_of(vm_of(desc, {"--format", "x"}), "format", {"only"}); });
  BOOST_TEST(m4 == "invalid --format 'x' (expected only)");
}

BOOST_AUTO_TEST_CASE(positive_bounds) {
  po::options_description desc;
  desc.add_options()("partitions", po::value<long long>(), "");
  BOOST_TEST(cli::positive(vm_of(desc, {"--partitions", "1"}), "partitions") == 1);
  BOOST_TEST(cli::positive(vm_of(desc, {"--partitions", "4"}), "partitions", 4) == 4);
  BOOST_TEST(cli::positive(vm_of(desc, {"--partitions", "4611686018427387904"}), "partitions") == (1LL << 62));
  BOOST_TEST(message_of<sfcrime::UsageError>([&] { cli::positive(vm_of(desc, {"--partitions", "0"}), "partitions"); }) ==
             "--partitions must be positive, got 0");
  BOOST_CHECK_THROW(cli::positive(vm_of(desc, {"--partitions", "-3"}), "partitions"), sfcrime::UsageError);
  BOOST_CHECK_THROW(cli::positive(vm_of(desc, {"--partitions", "4611686018427387905"}), "partitions"),
                    sfcrime::UsageError);
  const auto m = message_of<sfcrime::UsageError>([&] { cli::positive(vm_of(desc, {"--partitions", "5"}), "partitions", 4); });
  BOOST_TEST(contains(m, "--partitions"), m);
  BOOST_TEST(contains(m, "at most 4"), m);
}

BOOST_AUTO_TEST_CASE(shared_options_that_take_a_value) {
  for (const char* a : {"-b", "--bootstrap-servers", "-X", "--property", "--config", "--config-file", "--profile",
                        "--timeout"})
    BOOST_TEST(cli::shared_option_takes_value(a), a);
  for (const char* a : {"-v", "-vv", "--verbose", "-h", "--help", "--timeout=5s", "-bhost:9092", "-Xacks=all", "--window",
                        "topic", ""})
    BOOST_TEST(!cli::shared_option_takes_value(a), a);
}

BOOST_AUTO_TEST_CASE(first_word_skips_options_and_their_values) {
  using V = std::vector<std::string>;
  BOOST_TEST(cli::first_word(V{"create", "t"}) == 0u);
  BOOST_TEST(cli::first_word(V{"-b", "h:9092", "create"}) == 2u);
  BOOST_TEST(cli::first_word(V{"-X", "acks=all", "--timeout", "5s", "-v", "list"}) == 5u);
  BOOST_TEST(cli::first_word(V{"--timeout=5s", "list"}) == 1u);
  BOOST_TEST(cli::first_word(V{"-b", "h", "--json"}) == 3u);  // none: args.size()
  BOOST_TEST(cli::first_word(V{}) == 0u);
  BOOST_TEST(cli::first_word(V{"", "x"}) == 0u);  // an empty argument is not an option
  // The command's own value options only when named.
  BOOST_TEST(cli::first_word(V{"--output", "json", "list"}) == 1u);
  BOOST_TEST(cli::first_word(V{"--output", "json", "list"}, {"--output", "-o"}) == 2u);
  BOOST_TEST(cli::first_word(V{"-o", "json", "-b", "h", "list"}, {"--output", "-o"}) == 4u);
}

namespace {
std::vector<std::string> last_args;
int run_create(const std::vector<std::string>& a) {
  last_args = a;
  return 11;
}
int run_list(const std::vector<std::string>& a) {
  last_args = a;
  return 12;
}
int run_delete(const std::vector<std::string>& a) {
  last_args = a;
  return 13;
}
const cli::Subcommand kTable[] = {{"create", run_create, "create topics"},
                                  {"list", run_list, "list topics"},
                                  {"delete", run_delete, "delete topics"}};
}  // namespace

BOOST_AUTO_TEST_CASE(run_subcommand_dispatches_without_the_word) {
  BOOST_TEST(cli::run_subcommand("topic", kTable, {"-b", "h:9092", "list", "--json"}) == 12);
  BOOST_TEST(last_args == (std::vector<std::string>{"-b", "h:9092", "--json"}), boost::test_tools::per_element());
  BOOST_TEST(cli::run_subcommand("topic", kTable, {"delete", "a", "create"}) == 13);
  BOOST_TEST(last_args == (std::vector<std::string>{"a", "create"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(run_subcommand_unknown_word) {
  BOOST_TEST(message_of<sfcrime::UsageError>([] { cli::run_subcommand("topic", kTable, {"crate"}); }) ==
             "unknown topic subcommand 'crate' (did you mean 'create'?)");
  BOOST_TEST(message_of<sfcrime::UsageError>([] { cli::run_subcommand("topic", kTable, {"xyzzy"}); }) ==
             "unknown topic subcommand 'xyzzy' (expected create, list or delete)");
}

BOOST_AUTO_TEST_CASE(run_subcommand_without_a_word) {
  // The usage list goes to stdout with --help (exit 0), else to stderr (exit 64).
  BOOST_TEST(cli::run_subcommand("topic", kTable, {"--help"}) == 0);
  BOOST_TEST(cli::run_subcommand("topic", kTable, {"-h"}) == 0);
  BOOST_TEST(cli::run_subcommand("topic", kTable, {"-b", "h"}) == 64);
}

BOOST_AUTO_TEST_CASE(print_table_aligns_columns_two_spaces_apart) {
  CoutCapture out;
  cli::print_table({"TOPIC", "PARTITIONS", "REPLICAS"},
                   {{"police-calls", "6", "1,2,3"}, {"t", "", "2"}, {"answers-topic-long", "12", ""}});
  // Widths 18, 10, 8; two spaces between columns; the last column not padded; "" shown as "-".
  const std::string want =
      "TOPIC               PARTITIONS  REPLICAS\n"
      "police-calls        6           1,2,3\n"
      "t                   -           2\n"
      "answers-topic-long  12          -\n";
  BOOST_TEST(out.text() == want);
}

BOOST_AUTO_TEST_CASE(print_table_every_line_has_as_many_words_as_the_header) {
  CoutCapture out;
  const std::vector<std::string> header = {"GROUP", "STATE", "MEMBERS", "LAG"};
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < 20; ++i)
    rows.push_back({"g" + std::string(static_cast<std::size_t>(i), 'x'), i % 3 ? "Stable" : "", std::to_string(i * 7),
                    i % 2 ? "" : std::to_string(i)});
  cli::print_table(header, rows);
  std::istringstream in(out.text());
  std::vector<std::size_t> starts;  // where each column starts, from the header
  std::string line;
  std::getline(in, line);
  for (std::size_t i = 0; i < line.size(); ++i)
    if (line[i] != ' ' && (i == 0 || line[i - 1] == ' ')) starts.push_back(i);
  BOOST_REQUIRE_EQUAL(starts.size(), header.size());
  int n = 0;
  while (std::getline(in, line)) {
    const auto& r = rows.at(static_cast<std::size_t>(n++));
    BOOST_TEST(words(line).size() == header.size(), line);
    for (std::size_t c = 0; c < header.size(); ++c)
      BOOST_TEST(line.compare(starts[c], r[c].empty() ? 1 : r[c].size(), r[c].empty() ? "-" : r[c]) == 0, line);
  }
  BOOST_TEST(n == 20);
}

BOOST_AUTO_TEST_CASE(delete_each_goes_on_after_a_failure) {
  CoutCapture out;
  std::vector<std::string> tried;
  const auto action = [&](const std::string& name) {
    tried.push_back(name);
    if (name == "b") throw sfcrime::NoInputError("no topic 'b'");
    return name != "c";  // c: nothing to delete
  };
  try {
    cli::delete_each({"a", "b", "c"}, "topics", "topic", true, action);
    BOOST_FAIL("expected an error");
  } catch (const sfcrime::Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == 66);  // the first failure's status
    BOOST_TEST(contains(e.what(), "1 of 3 topics were not deleted"), e.what());
  }
  BOOST_TEST(tried == (std::vector<std::string>{"a", "b", "c"}), boost::test_tools::per_element());
  const auto doc = boost::json::parse(out.text());
  BOOST_TEST(boost::json::serialize(doc) ==
             R"({"topics":[{"topic":"a","deleted":true,"error":null},{"topic":"b","deleted":false,"error":"no topic 'b'"},)"
             R"({"topic":"c","deleted":false,"error":null}]})");
}

BOOST_AUTO_TEST_CASE(delete_each_single_name_rethrows_and_unavailable_stops) {
  BOOST_CHECK_THROW(cli::delete_each({"x"}, "groups", "group", false,
                                     [](const std::string&) -> bool { throw sfcrime::NoInputError("no group 'x'"); }),
                    sfcrime::NoInputError);
  int calls = 0;
  BOOST_CHECK_THROW(cli::delete_each({"x", "y"}, "groups", "group", false,
                                     [&](const std::string&) -> bool {
                                       ++calls;
                                       throw sfcrime::UnavailableError("broker down");
                                     }),
                    sfcrime::UnavailableError);
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(id_lists) {
  const std::vector<std::int32_t> ids = {3, 1, 2}, none;
  BOOST_TEST(cli::id_list(ids) == "3,1,2");
  BOOST_TEST(cli::id_list(none) == "-");
  BOOST_TEST(boost::json::serialize(cli::id_array(ids)) == "[3,1,2]");
  BOOST_TEST(boost::json::serialize(cli::id_array(none)) == "[]");
}

BOOST_AUTO_TEST_CASE(json_output_option) {
  cli::CommandSpec spec;
  cli::add_output_option(spec);
  BOOST_TEST(!cli::json_output(vm_of(spec.options, {})));  // default table
  BOOST_TEST(!cli::json_output(vm_of(spec.options, {"-o", "table"})));
  BOOST_TEST(cli::json_output(vm_of(spec.options, {"--output", "json"})));
  BOOST_CHECK_THROW(cli::json_output(vm_of(spec.options, {"-o", "csv"})), sfcrime::UsageError);
  BOOST_CHECK_THROW(cli::json_output(vm_of(spec.options, {"-o", "yaml"})), sfcrime::UsageError);
}
