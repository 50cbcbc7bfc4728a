#pragma once
/// The command words of sfcrime, one file each under commands/.
///
/// Adding a command (git's builtin.h does the same):
///   1. commands/<word>.cpp exporting `int <word>(const std::vector<std::string>& args)` here
///      (and for a nested word its table, `<word>_words()`), added to sfcrime_commands in
///      CMakeLists.txt;
///   2. a row in the table kCommands in src/main.cpp: dispatch, `sfcrime help`, the words
///      sfcrime.COMMAND.OPTION config keys may name and `sfcrime __complete commands` read it;
///   3. a man page man/sfcrime-<word>.1, a line in man/sfcrime.1, and the word and its options in
///      completions/ (bash, zsh, fish): tests/cli/test_docs.py checks both against the table;
///   4. a CLI test in tests/cli/ (at least --help and one bad argument).
///
/// Each run function receives the arguments after the command word, preceded by any global
/// options written before it; it returns the exit status or throws a sfcrime::Error (errors.hpp).
#include <span>
#include <string>
#include <vector>

#include "sfcrime/cli/cli.hpp"

namespace sfcrime::commands {

/// `sfcrime produce`: send records from a JSON array or NDJSON input to a topic.
int produce(const std::vector<std::string>& args);
/// `sfcrime consume`: print a topic's message values, one per line.
int consume(const std::vector<std::string>& args);
/// `sfcrime aggregate`: event-time window counts per crime type with the usual disposition.
int aggregate(const std::vector<std::string>& args);
/// `sfcrime topic create|list|describe|delete|alter-config|add-partitions`.
int topic(const std::vector<std::string>& args);
/// The subcommands of `sfcrime topic`.
std::span<const cli::Subcommand> topic_words();
/// `sfcrime group list|describe|seek|delete`: consumer groups, their committed offsets and lag.
int group(const std::vector<std::string>& args);
/// The subcommands of `sfcrime group`.
std::span<const cli::Subcommand> group_words();
/// `sfcrime inspect`: brokers, topics, partitions, leaders and watermark offsets;
/// `sfcrime inspect group G`: the same as `sfcrime group describe G`.
int inspect(const std::vector<std::string>& args);
/// `sfcrime config show`: the effective configuration with the origin of each value.
int config(const std::vector<std::string>& args);
/// The subcommands of `sfcrime config`.
std::span<const cli::Subcommand> config_words();
/// `sfcrime __complete WHAT`: hidden; words for the shell completions, one per line.
int complete(const std::vector<std::string>& args);

}  // namespace sfcrime::commands
