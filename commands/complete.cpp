// sfcrime __complete WHAT: the hidden helper the shell completions ask for live words (topic
// names, consumer group ids, the config file's profiles), as git's completion asks git itself
// (`git for-each-ref`, `git --list-cmds`). Not listed by `sfcrime help`; completions/ calls it,
// passing on the -b, -X, --config, --profile and --timeout already typed on the command line.
//
// It runs while the user presses Tab, so it is quick and silent: the timeout is 2 s unless
// --timeout, SFCRIME_TIMEOUT or the config file sets one; it never writes to stderr (librdkafka's
// logs are hidden at verbosity 0, and -v is ignored); on any failure it prints nothing at all and
// exits with the error's status (69 for an unreachable broker, 64 for an unknown WHAT), so the
// shell simply offers no words.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "sfcrime/base/config.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/cli.hpp"
#include "sfcrime/commands/commands.hpp"
#include "sfcrime/kafka/admin.hpp"
#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime::commands {

namespace {

/// The default bound on each wait for the broker while completing: a Tab must not hang.
constexpr std::chrono::milliseconds kCompletionTimeout{2'000};

cli::CommandSpec spec() {
  cli::CommandSpec s;
  s.name = "__complete";
  s.synopsis = "sfcrime [SHARED OPTIONS] __complete topics|groups|profiles";
  s.summary =
      "Print the words the shell completions offer, one per line, sorted: 'topics' the topics of the\n"
      "cluster (internal '__' topics left out), 'groups' the consumer group ids, 'profiles' the\n"
      "profiles of the config file. Hidden; quiet on failure (no output, non-zero exit). Waits at\n"
      "most 2 s for the broker unless --timeout is given.";
  s.options.add_options()("what", cli::po::value<std::string>()->value_name("WHAT"), "topics, groups or profiles");
  s.positional.add("what", 1);
  return s;
}

/// `args` without what would make parse() print instead of answer, or make librdkafka talk on
/// stderr: -h/--help, -v/-vv/--verbose, and -X dump.
std::vector<std::string> quiet_args(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help" || a == "--verbose") continue;
    if (a.size() >= 2 && a[0] == '-' && a[1] == 'v' && a.find_first_not_of('v', 1) == std::string::npos) continue;
    if ((a == "-X" || a == "--property") && i + 1 < args.size() && args[i + 1] == "dump") {
      ++i;
      continue;
    }
    if (a == "-Xdump" || a == "--property=dump") continue;
    out.push_back(a);
  }
  return out;
}

std::vector<std::string> topics(kafka::Admin& admin) {
  std::vector<std::string> out;
  for (const kafka::TopicMetadata& t : admin.describe_cluster().topics)
    if (t.ok && t.name.rfind("__", 0) != 0) out.push_back(t.name);  // not __consumer_offsets, ...
  return out;
}

std::vector<std::string> groups(kafka::Admin& admin) {
  std::vector<std::string> out;
  for (const auto& g : admin.list_groups())
    if (!g.id.empty()) out.push_back(g.id);
  return out;
}

int run(const std::vector<std::string>& args) {
  cli::CommandSpec s = spec();
  auto parsed = cli::parse(s, quiet_args(args));
  if (!parsed) return 0;
  if (!parsed->vm.count("what")) return static_cast<int>(Exit::usage);
  Config config = parsed->config;
  config.verbosity = 0;
  if (auto o = config.origin.find("sfcrime.timeout"); o == config.origin.end() || o->second.kind == "default")
    config.timeout = kCompletionTimeout;

  const std::string what = parsed->vm["what"].as<std::string>();
  std::vector<std::string> words;
  if (what == "topics") {
    kafka::Admin admin(config);
    words = topics(admin);
  } else if (what == "groups") {
    kafka::Admin admin(config);
    words = groups(admin);
  } else if (what == "profiles") {
    // No broker: the [NAME] sections of the config file in effect (none without a file).
    if (!config.config_file.empty()) words = config_profiles(config.config_file);
  } else {
    return static_cast<int>(Exit::usage);
  }
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  // All at once after the broker answered, so a failure prints nothing at all.
  std::string text;
  for (const std::string& w : words) text += w + '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : static_cast<int>(Exit::io);
}

}  // namespace

int complete(const std::vector<std::string>& args) {
  // Errors are the exit status only: nothing may reach the terminal while the user presses Tab.
  try {
    return run(args);
  } catch (const Error& e) {
    return static_cast<int>(e.code());
  } catch (const std::exception&) {
    return static_cast<int>(Exit::software);
  }
}

}  // namespace sfcrime::commands
