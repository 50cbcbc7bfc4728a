// sfcrime topic create|list|describe|delete: topics through the Kafka Admin API.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <limits>

#include "sfcrime/cli.hpp"
#include "sfcrime/commands.hpp"
#include "sfcrime/errors.hpp"
#include "sfcrime/kafka.hpp"

namespace sfcrime::commands {

namespace {

int create(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic create";
  spec.synopsis =
      "sfcrime topic create NAME [--partitions N] [--replication-factor R] [--config KEY=VALUE]... [--if-not-exists]";
  spec.summary =
      "Creates topic NAME through the Admin API (CreateTopics). Fails with the broker's reason when\n"
      "the topic exists (unless --if-not-exists), the name is invalid, or the replication factor\n"
      "exceeds the number of brokers; exit 1 then, 69 if the broker cannot be reached.";
  spec.options.add_options()
      ("name", cli::po::value<std::string>()->required()->value_name("NAME"), "topic name (positional)")
      ("partitions,p", cli::po::value<long long>()->default_value(1)->value_name("N"), "number of partitions")
      ("replication-factor,r", cli::po::value<long long>()->default_value(1)->value_name("R"), "replicas per partition")
      ("config,c", cli::po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
       "topic configuration, repeatable (e.g. retention.ms=-1, cleanup.policy=compact)")
      ("if-not-exists", "succeed without change when the topic exists");
  spec.positional.add("name", 1);
  spec.examples = "  sfcrime topic create police-calls --partitions 6 --replication-factor 1\n";
  // --config means the topic's configuration here (as in kafka-topics.sh); the config file is
  // --config-file, or --config before the command word (main() renames it).
  spec.own_config_option = true;
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  kafka::Admin::NewTopic t;
  t.name = vm["name"].as<std::string>();
  t.partitions = static_cast<int>(cli::positive(vm, "partitions", std::numeric_limits<std::int32_t>::max()));
  t.replication_factor = static_cast<int>(cli::positive(vm, "replication-factor", std::numeric_limits<std::int16_t>::max()));
  if (vm.count("config")) {
    for (const std::string& kv : vm["config"].as<std::vector<std::string>>()) {
      const auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) throw UsageError("--config expects KEY=VALUE, got '" + kv + "'");
      t.configs.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  kafka::Admin admin(parsed->config);
  if (admin.create_topic(t, vm.count("if-not-exists") > 0))
    std::fprintf(stderr, "sfcrime: created topic '%s' (%d partitions, replication factor %d)\n", t.name.c_str(),
                 t.partitions, t.replication_factor);
  else
    std::fprintf(stderr, "sfcrime: topic '%s' already exists\n", t.name.c_str());
  return 0;
}

int list(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic list";
  spec.synopsis = "sfcrime topic list [--all]";
  spec.summary = "Prints each topic's name, partition count and replication factor, one per line.";
  spec.options.add_options()("all", "include internal topics such as __consumer_offsets");
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  kafka::Admin admin(parsed->config);
  kafka::Metadata md = admin.metadata(true);
  std::vector<std::string> lines;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (!parsed->vm.count("all") && std::string(t.topic).rfind("__", 0) == 0) continue;
    const int rf = t.partition_cnt > 0 ? t.partitions[0].replica_cnt : 0;
    lines.push_back(std::string(t.topic) + "\t" + std::to_string(t.partition_cnt) + "\t" + std::to_string(rf));
  }
  std::sort(lines.begin(), lines.end());
  for (const auto& l : lines) std::cout << l << "\n";
  return 0;
}

int remove(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic delete";
  spec.synopsis = "sfcrime topic delete NAME [--if-exists]";
  spec.summary = "Deletes topic NAME and all its messages (DeleteTopics). Exit 66 if it does not exist.";
  spec.options.add_options()
      ("name", cli::po::value<std::string>()->required()->value_name("NAME"), "topic name (positional)")
      ("if-exists", "succeed without change when the topic does not exist");
  spec.positional.add("name", 1);
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const std::string name = parsed->vm["name"].as<std::string>();
  kafka::Admin admin(parsed->config);
  if (admin.delete_topic(name, parsed->vm.count("if-exists") > 0))
    std::fprintf(stderr, "sfcrime: deleted topic '%s'\n", name.c_str());
  else
    std::fprintf(stderr, "sfcrime: topic '%s' does not exist\n", name.c_str());
  return 0;
}

int describe(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic describe";
  spec.synopsis = "sfcrime topic describe NAME [--output table|json]";
  spec.summary =
      "Shows the partitions of topic NAME: leader, replicas, in-sync replicas, low and high watermark\n"
      "offsets and message counts; the same view as 'sfcrime inspect --topic NAME'.";
  spec.options.add_options()
      ("name", cli::po::value<std::string>()->required()->value_name("NAME"), "topic name (positional)")
      ("output,o", cli::po::value<std::string>()->default_value("table")->value_name("FORMAT"), "table or json");
  spec.positional.add("name", 1);
  if (!cli::parse(spec, args)) return 0;
  // One place renders partitions and offsets: hand the same arguments to inspect, NAME as --topic.
  std::vector<std::string> forwarded = args;
  const std::size_t at = cli::first_word(args, {"--output", "-o"});
  forwarded.insert(forwarded.begin() + static_cast<std::ptrdiff_t>(at), "--topic");
  return inspect(forwarded);
}

struct Subcommand {
  std::string_view name;
  int (*run)(const std::vector<std::string>&);
  std::string_view description;
};

constexpr Subcommand kSubcommands[] = {
    {"create", &create, "create a topic"},
    {"list", &list, "list topics with partition counts and replication factors"},
    {"describe", &describe, "partitions, leaders, replicas and offsets of one topic"},
    {"delete", &remove, "delete a topic"},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: sfcrime topic SUBCOMMAND [ARGS]\n\nSubcommands:\n");
  for (const auto& s : kSubcommands)
    std::fprintf(out, "  %-9s %.*s\n", std::string(s.name).c_str(), static_cast<int>(s.description.size()),
                 s.description.data());
  std::fprintf(out, "\nRun 'sfcrime topic SUBCOMMAND --help' for its options.\n");
}

}  // namespace

int topic(const std::vector<std::string>& args) {
  // Global options come first (main() put them there); the first bare word is the subcommand.
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
  throw UsageError("unknown topic subcommand '" + args[at] + "' (" +
                   (best.empty() ? "expected create, list, describe or delete" : "did you mean '" + best + "'?") + ")");
}

}  // namespace sfcrime::commands
