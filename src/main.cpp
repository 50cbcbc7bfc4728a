// sfcrime: one executable, one dispatch table (DESIGN.md, convention 1).
#include <boost/version.hpp>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/cli.hpp"
#include "sfcrime/commands/commands.hpp"
#include "sfcrime/kafka/kafka.hpp"

namespace {

int help(const std::vector<std::string>& args);

/// One command word: dispatch, `sfcrime help`, the config keys sfcrime.COMMAND.OPTION and
/// `sfcrime __complete commands` all read this table (commands.hpp says how to add one).
struct CommandEntry {
  std::string_view name;
  int (*run)(const std::vector<std::string>&);
  std::string_view description;
  /// A nested word's subcommands (topic create, ...), or nullptr.
  std::span<const sfcrime::cli::Subcommand> (*words)() = nullptr;
  bool hidden = false;  ///< not listed by `sfcrime help` nor suggested (the completion helper)
  bool configurable = true;  ///< sfcrime.COMMAND.OPTION keys may name it (help has no options)
};

constexpr CommandEntry kCommands[] = {
    {"produce", &sfcrime::commands::produce, "send records from a JSON array or NDJSON file to a topic"},
    {"consume", &sfcrime::commands::consume, "print a topic's message values, one per line"},
    {"aggregate", &sfcrime::commands::aggregate, "count crime types and usual dispositions per event-time window"},
    {"topic", &sfcrime::commands::topic, "create, list, describe, alter or delete topics", &sfcrime::commands::topic_words},
    {"group", &sfcrime::commands::group, "list, describe (offsets and lag), seek or delete consumer groups",
     &sfcrime::commands::group_words},
    {"inspect", &sfcrime::commands::inspect, "show brokers, topics, partitions and offsets, or a group's lag"},
    {"config", &sfcrime::commands::config, "show the effective configuration and where each value came from",
     &sfcrime::commands::config_words},
    {"help", &help, "show help for sfcrime or for one command", nullptr, false, false},
    {"__complete", &sfcrime::commands::complete, "words for the shell completions (topics, groups)", nullptr, true, false},
};

/// The words config keys may name: each command, or each subcommand of a nested one as
/// "word.sub" (sfcrime.topic.create.partitions; sfcrime.topic alone is the --topic shorthand).
std::vector<std::string> configurable_words() {
  std::vector<std::string> out;
  for (const CommandEntry& c : kCommands) {
    if (!c.configurable) continue;
    if (!c.words) {
      out.emplace_back(c.name);
      continue;
    }
    for (const sfcrime::cli::Subcommand& s : c.words()) {
      // Another command under a second name (topic produce is produce, rpk's words) has its keys.
      const bool alias = std::any_of(std::begin(kCommands), std::end(kCommands),
                                     [&](const CommandEntry& e) { return e.run == s.run; });
      if (!alias) out.push_back(std::string(c.name) + "." + std::string(s.name));
    }
  }
  return out;
}

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: sfcrime [-b HOST:PORT,...] [-X KEY=VALUE]... [--config FILE] [--profile NAME]\n"
               "               [--timeout DURATION] [-v] COMMAND [ARGS]\n"
               "       sfcrime -h|--help | -V|--version\n\n"
               "Stream San Francisco police calls for service through Apache Kafka and aggregate them\n"
               "in event-time windows.\n\nCommands:\n");
  for (const auto& c : kCommands)
    if (!c.hidden) std::fprintf(out, "  %-10s %.*s\n", std::string(c.name).c_str(), static_cast<int>(c.description.size()),
                 c.description.data());
  std::fprintf(out,
               "\nRun 'sfcrime COMMAND --help' for a command's options, 'sfcrime --version' for versions.\n"
               "Exit status: 0 ok, 1 refused by the broker, 64 usage, 65 bad input data, 66 no such file\n"
               "or topic, 69 broker unavailable, 70 internal error, 74 I/O error, 78 configuration error,\n"
               "130 interrupted (SIGINT), 143 terminated (SIGTERM) (man sfcrime).\n");
}

std::vector<std::string_view> command_names() {
  std::vector<std::string_view> names;
  for (const auto& e : kCommands)
    if (!e.hidden) names.push_back(e.name);
  return names;
}

const CommandEntry* find(std::string_view word) {
  for (const auto& c : kCommands)
    if (c.name == word) return &c;
  return nullptr;
}

int help(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a.empty() || a[0] == '-') continue;
    const CommandEntry* c = find(a);
    if (!c) {
      const std::string best = sfcrime::suggest(a, command_names());
      throw sfcrime::UsageError("no help for unknown command '" + a + "'" +
                                (best.empty() ? "" : " (did you mean '" + best + "'?)"));
    }
    if (c->run == &help) break;
    return c->run({"--help"});
  }
  usage(stdout);
  return 0;
}

// The shared options main() accepts before the command word (cli.cpp defines them for commands).
bool known_global(const std::string& a) {
  if (sfcrime::cli::shared_option_takes_value(a) || a == "--verbose") return true;
  if (a.size() >= 2 && a[0] == '-' && a[1] == 'v' && a.find_first_not_of('v', 1) == std::string::npos) return true;
  for (const char* p : {"--bootstrap-servers=", "--property=", "--config=", "--config-file=", "--profile=", "--timeout="})
    if (a.rfind(p, 0) == 0) return true;
  return a.size() > 2 && (a.rfind("-b", 0) == 0 || a.rfind("-X", 0) == 0);  // -bHOST, -Xkey=value
}

int run(int argc, char** argv) {
  sfcrime::cli::set_command_words(configurable_words());
  std::vector<std::string> globals;
  std::size_t i = 1;
  for (; i < static_cast<std::size_t>(argc); ++i) {
    const std::string a = argv[i];
    if (a.empty() || a[0] != '-') break;
    if (a == "--version" || a == "-V") {
      std::printf("sfcrime %s (librdkafka %s, Boost %d.%d.%d)\n", SFCRIME_VERSION, sfcrime::kafka::version().c_str(),
                  BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000, BOOST_VERSION % 100);
      return 0;
    }
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    }
    if (!known_global(a))
      throw sfcrime::UsageError("unknown option '" + a + "' before the command word; see 'sfcrime --help'");
    // Before the command word --config is always the config file; after it, a command may give
    // --config its own meaning (topic create), so pass it on under its unambiguous name.
    globals.push_back(a == "--config" ? "--config-file" : a.rfind("--config=", 0) == 0 ? "--config-file=" + a.substr(9) : a);
    if (sfcrime::cli::shared_option_takes_value(a)) {
      if (i + 1 >= static_cast<std::size_t>(argc)) throw sfcrime::UsageError("option '" + a + "' needs a value");
      globals.push_back(argv[++i]);
    }
  }
  if (i >= static_cast<std::size_t>(argc)) {
    // `sfcrime -X dump` alone still shows the configuration.
    if (std::find(globals.begin(), globals.end(), "dump") != globals.end()) return sfcrime::commands::inspect(globals);
    usage(stderr);
    return static_cast<int>(sfcrime::Exit::usage);
  }
  const std::string word = argv[i];
  const CommandEntry* c = find(word);
  if (!c) {
    std::string msg = "unknown command '" + word + "'";
    if (const std::string best = sfcrime::suggest(word, command_names()); !best.empty())
      msg += " (did you mean '" + best + "'?)";
    throw sfcrime::UsageError(msg + "; see 'sfcrime --help'");
  }
  std::vector<std::string> args = globals;
  for (++i; i < static_cast<std::size_t>(argc); ++i) args.emplace_back(argv[i]);
  return c->run(args);
}

// Notes the secrets of the command line (note_secret), so that no message shows them, also where
// the command line is wrong and the resolved configuration never sees them (a misspelt option
// such as --propertyy=sasl.password=X; `-X sasl.password X`, the value as a word of its own): the
// VALUE of KEY=VALUE in any argument whose KEY is a secret property's name, and the argument after
// a -X whose argument is such a name alone.
void note_secret_arguments(int argc, char** argv) {
  const auto key_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; };
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    for (std::size_t eq = a.find('='); eq != std::string_view::npos; eq = a.find('=', eq + 1)) {
      std::size_t k = eq;
      while (k > 0 && key_char(a[k - 1])) --k;
      if (sfcrime::is_secret_property(std::string(a.substr(k, eq - k)))) {
        sfcrime::note_secret(a.substr(eq + 1));
        break;
      }
    }
    std::string_view key;
    int value_at = i + 1;
    if ((a == "-X" || a == "--property") && i + 1 < argc) {
      key = argv[i + 1];
      value_at = i + 2;
    } else if (a.rfind("-X", 0) == 0) {
      key = a.substr(2);
    } else if (a.rfind("--property=", 0) == 0) {
      key = a.substr(11);
    }
    // A property's name alone, not `-X sasl.password:X` (no '=': refused without echoing it).
    if (!key.empty() && std::all_of(key.begin(), key.end(), key_char) && sfcrime::is_secret_property(std::string(key)) &&
        value_at < argc)
      sfcrime::note_secret(argv[value_at]);
  }
}

// Flushes standard output after the command: a write that failed (a full disk, `> /dev/full`, a
// closed descriptor) makes an exit 0 into 74 with a message, as the output is incomplete; a reader
// that went away (EPIPE: `sfcrime topic list | head -1`) is no error, it has what it wanted, so the
// command's status stands and nothing is printed. SIGPIPE is ignored (install_signal_handlers).
int finish_output(int status) {
  errno = 0;
  const bool flush_failed = std::fflush(stdout) != 0;
  const int err = flush_failed ? errno : 0;
  if (!flush_failed && !std::ferror(stdout)) return status;
  if (err == EPIPE) return status;
  if (err == 0) {
    // An earlier write failed and errno is gone: a pipe whose reader left polls as POLLERR.
    pollfd p{STDOUT_FILENO, POLLOUT, 0};
    if (::poll(&p, 1, 0) == 1 && (p.revents & POLLERR)) return status;
  }
  if (status != 0) return status;  // the command's own error was reported already
  std::fprintf(stderr, "sfcrime: error: cannot write to standard output%s%s (the output is incomplete)\n",
               err ? ": " : "", err ? std::strerror(err) : "");
  return static_cast<int>(sfcrime::Exit::io);
}

}  // namespace

int main(int argc, char** argv) {
  sfcrime::install_signal_handlers();
  note_secret_arguments(argc, argv);
  try {
    return finish_output(run(argc, argv));
  } catch (const sfcrime::Error& e) {
    std::fflush(stdout);
    // A value the command refused that came from the config file or environment, not the command
    // line: a configuration error (78), naming the key and where it was set.
    if (const auto* o = dynamic_cast<const sfcrime::OptionError*>(&e)) {
      if (const std::string where = sfcrime::cli::config_default_behind(*o); !where.empty()) {
        std::fprintf(stderr, "sfcrime: error: %s; from %s\n", e.what(), where.c_str());
        return static_cast<int>(sfcrime::Exit::config);
      }
    }
    std::fprintf(stderr, "sfcrime: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "sfcrime: internal error: %s (please report it)\n", sfcrime::redact_secrets(e.what()).c_str());
    return static_cast<int>(sfcrime::Exit::software);
  }
}
