#pragma once
/// The command words of sfcrime, one file each under commands/.
///
/// Adding a command (git's builtin.h does the same):
///   1. commands/<word>.cpp exporting `int <word>(const std::vector<std::string>& args)` here,
///      added to sfcrime_core in CMakeLists.txt;
///   2. an entry in the dispatch table kCommands in src/main.cpp (its description feeds
///      `sfcrime help`);
///   3. a man page man/sfcrime-<word>.1 and a line in man/sfcrime.1;
///   4. the word and its options in completions/sfcrime.bash (_sfcrime_spec: one line an
///      option), _sfcrime (zsh), sfcrime.fish;
///   5. the word (nested words joined with '.') in configurable_commands() of src/base/config.cpp, so
///      that sfcrime.<word>.<option> config keys reach it;
///   6. a CLI test in tests/cli/ (at least --help and one bad argument).
///
/// Each run function receives the arguments after the command word, preceded by any global
/// options written before it; it returns the exit status or throws a sfcrime::Error (errors.hpp).
#include <string>
#include <vector>

namespace sfcrime::commands {

/// `sfcrime produce`: send records from a JSON array or NDJSON input to a topic.
int produce(const std::vector<std::string>& args);
/// `sfcrime consume`: print a topic's message values, one per line.
int consume(const std::vector<std::string>& args);
/// `sfcrime aggregate`: event-time window counts per crime type with the usual disposition.
int aggregate(const std::vector<std::string>& args);
/// `sfcrime topic create|list|describe|delete|alter-config|add-partitions`.
int topic(const std::vector<std::string>& args);
/// `sfcrime group list|describe|seek|delete`: consumer groups, their committed offsets and lag.
int group(const std::vector<std::string>& args);
/// `sfcrime inspect`: brokers, topics, partitions, leaders and watermark offsets;
/// `sfcrime inspect group G`: the same as `sfcrime group describe G`.
int inspect(const std::vector<std::string>& args);
/// `sfcrime config show`: the effective configuration with the origin of each value.
int config(const std::vector<std::string>& args);
/// `sfcrime __complete WHAT`: hidden; words for the shell completions, one per line.
int complete(const std::vector<std::string>& args);

}  // namespace sfcrime::commands
