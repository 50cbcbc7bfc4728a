// sfcrime topic create|list|describe|delete|alter-config|add-partitions: topics through the Kafka
// Admin API, under the names rpk and kafka-topics.sh users know.
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/cli.hpp"
#include "sfcrime/commands/commands.hpp"
#include "sfcrime/kafka/admin.hpp"
#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime::commands {

namespace {

/// KEY=VALUE → (KEY, VALUE). @throws UsageError naming `option` when there is no '=' or no key.
kafka::Property key_value(const std::string& kv, const char* option) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw OptionError(option, std::string(option) + " expects KEY=VALUE, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1)};
}

std::vector<std::string> strings(const cli::po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::vector<std::string>>() : std::vector<std::string>{};
}

int create(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic create";
  spec.synopsis =
      "sfcrime topic create NAME [--partitions N] [--replication-factor R] [--config KEY=VALUE]...\n"
      "                          [--if-not-exists] [--dry-run] [--output table|json]";
  spec.summary =
      "Creates topic NAME through the Admin API (CreateTopics). Fails with the broker's reason when\n"
      "the topic exists (unless --if-not-exists), the name is invalid, or the replication factor\n"
      "exceeds the number of brokers; exit 1 then, 69 if the broker cannot be reached.\n"
      "With --dry-run the broker only validates the request (validate_only): nothing is created.";
  spec.options.add_options()
      ("name", cli::po::value<std::string>()->required()->value_name("NAME"), "topic name (positional)")
      ("partitions,p", cli::po::value<long long>()->default_value(1)->value_name("N"), "number of partitions")
      ("replication-factor,r", cli::po::value<long long>()->default_value(1)->value_name("R"), "replicas per partition")
      ("config,c", cli::po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
       "topic configuration, repeatable (e.g. retention.ms=-1, cleanup.policy=compact)")
      ("if-not-exists", "succeed without change when the topic exists")
      ("dry-run,d", "let the broker validate the request; create nothing");
  cli::add_output_option(spec);
  spec.positional.add("name", 1);
  spec.examples =
      "  sfcrime topic create police-calls --partitions 6 --replication-factor 1\n"
      "  sfcrime topic create calls-compacted -p 3 -c cleanup.policy=compact --dry-run\n";
  // --config means the topic's configuration here (as in kafka-topics.sh); the config file is
  // --config-file, or --config before the command word (main() renames it).
  spec.own_config_option = true;
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const bool json = cli::json_output(vm);
  const bool dry_run = vm.count("dry-run") > 0;
  kafka::Admin::NewTopic t;
  t.name = vm["name"].as<std::string>();
  t.partitions = static_cast<int>(cli::positive(vm, "partitions", std::numeric_limits<std::int32_t>::max()));
  t.replication_factor = static_cast<int>(cli::positive(vm, "replication-factor", std::numeric_limits<std::int16_t>::max()));
  for (const std::string& kv : strings(vm, "config")) t.configs.push_back(key_value(kv, "--config"));
  kafka::Admin admin(parsed->config);
  const bool if_not_exists = vm.count("if-not-exists") > 0;
  const bool done = dry_run ? admin.validate_create_topic(t, if_not_exists) : admin.create_topic(t, if_not_exists);
  if (json) {
    boost::json::object o{{"name", t.name},
                          {"partitions", t.partitions},
                          {"replication_factor", t.replication_factor},
                          {"dry_run", dry_run},
                          {"created", done && !dry_run},
                          {"exists", !done}};
    std::cout << boost::json::serialize(o) << "\n";
  }
  if (!done)
    std::fprintf(stderr, "sfcrime: topic '%s' already exists\n", t.name.c_str());
  else if (dry_run)
    std::fprintf(stderr,
                 "sfcrime: the broker accepts topic '%s' (%d partition%s, replication factor %d); nothing was "
                 "created (--dry-run)\n",
                 t.name.c_str(), t.partitions, t.partitions == 1 ? "" : "s", t.replication_factor);
  else
    std::fprintf(stderr, "sfcrime: created topic '%s' (%d partition%s, replication factor %d)\n", t.name.c_str(),
                 t.partitions, t.partitions == 1 ? "" : "s", t.replication_factor);
  return 0;
}

int list(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic list";
  spec.synopsis = "sfcrime topic list [--all] [--output table|json]";
  spec.summary =
      "Prints a header line (NAME, PARTITIONS, REPLICAS, as rpk topic list) and then each topic's\n"
      "name, partition count and replication factor, separated by tabs, sorted by name.";
  spec.options.add_options()("all", "include internal topics such as __consumer_offsets");
  cli::add_output_option(spec);
  spec.examples = "  sfcrime topic list | tail -n +2 | cut -f1\n  sfcrime topic list -o json | jq -r '.topics[].name'\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const bool json = cli::json_output(parsed->vm);
  kafka::Admin admin(parsed->config);
  const kafka::ClusterMetadata md = admin.describe_cluster();
  boost::json::array jt;
  std::string text = "NAME\tPARTITIONS\tREPLICAS\n";
  for (const kafka::TopicMetadata& t : md.topics) {
    if (!parsed->vm.count("all") && t.name.rfind("__", 0) == 0) continue;
    const int rf = t.replication_factor();
    const int n = static_cast<int>(t.partitions.size());
    jt.push_back({{"name", t.name}, {"partitions", n}, {"replicas", rf}});
    text += t.name + "\t" + std::to_string(n) + "\t" + std::to_string(rf) + "\n";
  }
  if (json)
    std::cout << boost::json::serialize(boost::json::object{{"topics", std::move(jt)}}) << "\n";
  else
    std::cout << text;
  return 0;
}

int remove(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic delete";
  spec.synopsis = "sfcrime topic delete NAME... [--if-exists] [--output table|json]";
  spec.summary =
      "Deletes each topic NAME and all its messages (DeleteTopics), one after the other, reporting\n"
      "each on standard error (or as JSON on standard output). Every name is tried; the exit status\n"
      "is that of the first failure: 66 when a topic does not exist (unless --if-exists).";
  spec.options.add_options()
      ("name", cli::po::value<std::vector<std::string>>()->required()->value_name("NAME"), "topic names (positional)")
      ("if-exists", "succeed without change when a topic does not exist");
  cli::add_output_option(spec);
  spec.positional.add("name", -1);
  spec.examples = "  sfcrime topic delete police-calls calls-compacted --if-exists\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const bool json = cli::json_output(parsed->vm);
  const bool if_exists = parsed->vm.count("if-exists") > 0;
  kafka::Admin admin(parsed->config);
  cli::delete_each(parsed->vm["name"].as<std::vector<std::string>>(), "topics", "name", json, [&](const std::string& name) {
    const bool deleted = admin.delete_topic(name, if_exists);
    if (deleted)
      std::fprintf(stderr, "sfcrime: deleted topic '%s'\n", name.c_str());
    else
      std::fprintf(stderr, "sfcrime: topic '%s' does not exist\n", name.c_str());
    return deleted;
  });
  return 0;
}

/// How a config value is shown in the table: "[redacted]" for a secret, "-" when unset, `""` when empty.
std::string shown_value(const kafka::Admin::ConfigEntry& e) {
  if (e.sensitive) return "[redacted]";
  if (!e.value) return "-";
  if (e.value->empty()) return "\"\"";
  return *e.value;
}

int describe(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic describe";
  spec.synopsis =
      "sfcrime topic describe NAME [--print-summary] [--print-configs] [--print-partitions] [--print-all]\n"
      "                            [--output table|json]";
  spec.summary =
      "Shows topic NAME in three sections, as rpk topic describe: the summary (partitions,\n"
      "replication factor, messages), its configuration (DescribeConfigs: every key with its value,\n"
      "source, read-only and sensitive flags; secrets are never shown) and per partition the leader,\n"
      "replicas, in-sync replicas, low and high watermark offsets and message count. Without an\n"
      "option choosing sections every section is shown; JSON output always holds all of them.";
  spec.options.add_options()
      ("name", cli::po::value<std::string>()->required()->value_name("NAME"), "topic name (positional)")
      ("print-summary,s", "show the summary section")
      ("print-configs,c", "show the configuration section")
      ("print-partitions,p", "show the partitions section")
      ("print-all,a", "show every section (the default)");
  cli::add_output_option(spec);
  spec.positional.add("name", 1);
  spec.examples =
      "  sfcrime topic describe police-calls\n"
      "  sfcrime topic describe police-calls -c | grep DYNAMIC_TOPIC_CONFIG\n"
      "  sfcrime topic describe police-calls -o json | jq '.configs[] | select(.source == \"DYNAMIC_TOPIC_CONFIG\")'\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const bool json = cli::json_output(vm);
  const std::string name = vm["name"].as<std::string>();
  bool summary = vm.count("print-summary") > 0, configs = vm.count("print-configs") > 0,
       partitions = vm.count("print-partitions") > 0;
  if (vm.count("print-all") || json || (!summary && !configs && !partitions)) summary = configs = partitions = true;

  kafka::Admin admin(parsed->config);
  const kafka::ClusterMetadata md = admin.describe_cluster();
  const auto t = std::find_if(md.topics.begin(), md.topics.end(), [&](const kafka::TopicMetadata& m) { return m.name == name; });
  if (t == md.topics.end()) throw NoInputError(kafka::missing_topic_message(admin.config(), name));
  const std::vector<kafka::PartitionMetadata>& parts = t->partitions;
  const int rf = t->replication_factor();

  // Offsets are needed by the summary (message count) and the partitions section.
  std::vector<kafka::Watermarks> marks;
  std::int64_t total = 0;
  if (summary || partitions) {
    std::vector<std::int32_t> ids;
    for (const auto& p : parts) ids.push_back(p.id);
    marks = admin.watermarks(name, ids);  // two requests for all partitions
    for (const auto& m : marks) total += m.high - m.low;
  }
  std::vector<kafka::Admin::ConfigEntry> entries;
  if (configs) entries = admin.describe_topic_configs(name);

  if (json) {
    boost::json::array jparts, jconf;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const kafka::PartitionMetadata& p = parts[i];
      jparts.push_back({{"partition", p.id},
                        {"leader", p.leader},
                        {"replicas", cli::id_array(p.replicas)},
                        {"isr", cli::id_array(p.isr)},
                        {"low", marks[i].low},
                        {"high", marks[i].high},
                        {"messages", marks[i].high - marks[i].low}});
    }
    for (const auto& e : entries) {
      boost::json::object o{{"name", e.name}, {"source", e.source_name}, {"read_only", e.read_only},
                            {"sensitive", e.sensitive}, {"default", e.is_default}};
      if (e.value) o["value"] = *e.value;
      else o["value"] = nullptr;
      jconf.push_back(std::move(o));
    }
    boost::json::object doc{{"name", name},
                            {"replication_factor", rf},
                            {"messages", total},
                            {"partitions", std::move(jparts)},
                            {"configs", std::move(jconf)}};
    std::cout << boost::json::serialize(doc) << "\n";
    return 0;
  }
  bool first_section = true;
  auto heading = [&](const char* h) {
    if (!first_section) std::cout << "\n";
    first_section = false;
    std::cout << h << "\n" << std::string(std::char_traits<char>::length(h), '=') << "\n";
  };
  if (summary) {
    heading("SUMMARY");
    std::vector<std::vector<std::string>> rows = {{"PARTITIONS", std::to_string(parts.size())},
                                                  {"REPLICAS", std::to_string(rf)},
                                                  {"MESSAGES", std::to_string(total)}};
    cli::print_table({"NAME", name}, rows);
  }
  if (configs) {
    heading("CONFIGS");
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : entries)
      rows.push_back({e.name, shown_value(e), e.source_name, e.read_only ? "yes" : "no", e.sensitive ? "yes" : "no"});
    cli::print_table({"KEY", "VALUE", "SOURCE", "READ-ONLY", "SENSITIVE"}, rows);
  }
  if (partitions) {
    heading("PARTITIONS");
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const kafka::PartitionMetadata& p = parts[i];
      rows.push_back({std::to_string(p.id), std::to_string(p.leader), cli::id_list(p.replicas), cli::id_list(p.isr),
                      std::to_string(marks[i].low), std::to_string(marks[i].high),
                      std::to_string(marks[i].high - marks[i].low)});
    }
    cli::print_table({"PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START-OFFSET", "HIGH-WATERMARK", "MESSAGES"}, rows);
  }
  return 0;
}

int alter_config(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic alter-config";
  spec.synopsis =
      "sfcrime topic alter-config NAME [--set KEY=VALUE]... [--delete KEY]... [--dry-run] [--output table|json]";
  spec.summary =
      "Sets (--set) or removes (--delete: back to the broker's default) configuration keys of topic\n"
      "NAME, keeping its other settings, in one IncrementalAlterConfigs request (KIP-339), as rpk\n"
      "topic alter-config and kafka-configs.sh do. The table shows each key's value before\n"
      "(read with DescribeConfigs just before; a secret's shows as [redacted]) and after.\n"
      "With --dry-run the broker validates the change and nothing changes.";
  spec.options.add_options()
      ("name", cli::po::value<std::string>()->required()->value_name("NAME"), "topic name (positional)")
      ("set,s", cli::po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
       "set KEY to VALUE, repeatable")
      ("delete,d", cli::po::value<std::vector<std::string>>()->composing()->value_name("KEY"),
       "remove the topic's own setting of KEY (back to the default), repeatable")
      ("dry-run", "let the broker validate the change; change nothing");
  cli::add_output_option(spec);
  spec.positional.add("name", 1);
  spec.examples =
      "  sfcrime topic alter-config police-calls --set retention.ms=604800000\n"
      "  sfcrime topic alter-config police-calls --delete retention.ms --set cleanup.policy=compact,delete\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const bool json = cli::json_output(vm);
  const bool dry_run = vm.count("dry-run") > 0;
  const std::string name = vm["name"].as<std::string>();
  std::map<std::string, std::string> sets;
  for (const std::string& kv : strings(vm, "set")) {
    auto [k, v] = key_value(kv, "--set");
    sets[k] = v;
  }
  std::set<std::string> deletes;
  for (const std::string& k : strings(vm, "delete")) {
    if (k.empty() || k.find('=') != std::string::npos)
      throw UsageError("--delete expects a KEY without a value, got '" + k + "'");
    if (sets.count(k)) throw UsageError("'" + k + "' is both in --set and --delete");
    deletes.insert(k);
  }
  if (sets.empty() && deletes.empty()) throw UsageError("nothing to change: give --set KEY=VALUE or --delete KEY");

  kafka::Admin admin(parsed->config);
  // The values before, for the report: the topic's own settings (source DYNAMIC_TOPIC_CONFIG).
  const std::vector<kafka::Admin::ConfigEntry> current = admin.describe_topic_configs(name);
  std::map<std::string, std::string> before;
  std::set<std::string> secret;
  for (const auto& e : current) {
    if (sets.count(e.name) && e.read_only)
      throw UsageError("topic config '" + e.name + "' is read-only (source " + e.source_name + ")");
    if (e.sensitive) secret.insert(e.name);
    if (!e.topic_override) continue;
    before[e.name] = e.sensitive || !e.value ? std::string("[redacted]") : *e.value;
  }
  admin.incremental_alter_topic_configs(name, std::vector<kafka::Property>(sets.begin(), sets.end()),
                                        std::vector<std::string>(deletes.begin(), deletes.end()), dry_run);
  std::map<std::string, std::string> after = before;
  for (const auto& k : deletes) after.erase(k);
  for (const auto& [k, v] : sets) after[k] = secret.count(k) ? std::string("[redacted]") : v;

  // What changed, key by key: (key, old or nullopt, new or nullopt).
  std::set<std::string> keys;
  for (const auto& [k, v] : before) keys.insert(k);
  for (const auto& [k, v] : after) keys.insert(k);
  keys.insert(deletes.begin(), deletes.end());
  boost::json::array changes;
  std::vector<std::vector<std::string>> rows;
  for (const auto& k : keys) {
    const auto b = before.find(k), a = after.find(k);
    const bool touched = sets.count(k) || deletes.count(k);
    if (!touched) continue;
    boost::json::object c{{"key", k}};
    c["old"] = b != before.end() ? boost::json::value(b->second) : boost::json::value(nullptr);
    c["new"] = a != after.end() ? boost::json::value(a->second) : boost::json::value(nullptr);
    changes.push_back(std::move(c));
    rows.push_back({k, b != before.end() ? (b->second.empty() ? "\"\"" : b->second) : "-",
                    a != after.end() ? (a->second.empty() ? "\"\"" : a->second) : "-"});
  }
  if (json) {
    std::cout << boost::json::serialize(boost::json::object{
                     {"name", name}, {"dry_run", dry_run}, {"changes", std::move(changes)}})
              << "\n";
  } else {
    cli::print_table({"KEY", "OLD", "NEW"}, rows);
  }
  if (dry_run)
    std::fprintf(stderr, "sfcrime: the broker accepts the new configuration of topic '%s'; nothing was changed (--dry-run)\n",
                 name.c_str());
  else
    std::fprintf(stderr, "sfcrime: changed the configuration of topic '%s'\n", name.c_str());
  return 0;
}

int add_partitions(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "topic add-partitions";
  spec.synopsis = "sfcrime topic add-partitions NAME --num N [--dry-run] [--output table|json]";
  spec.summary =
      "Adds N partitions to topic NAME (CreatePartitions with the new total), as rpk topic\n"
      "add-partitions. Partitions cannot be removed, and records with a key go to another partition\n"
      "afterwards than before. With --dry-run the broker only validates the request.";
  spec.options.add_options()
      ("name", cli::po::value<std::string>()->required()->value_name("NAME"), "topic name (positional)")
      ("num,n", cli::po::value<long long>()->required()->value_name("N"), "number of partitions to add")
      ("dry-run,d", "let the broker validate the request; change nothing");
  cli::add_output_option(spec);
  spec.positional.add("name", 1);
  spec.examples = "  sfcrime topic add-partitions police-calls --num 6\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const bool json = cli::json_output(vm);
  const bool dry_run = vm.count("dry-run") > 0;
  const std::string name = vm["name"].as<std::string>();
  const long long add = cli::positive(vm, "num", std::numeric_limits<std::int32_t>::max());
  kafka::Admin admin(parsed->config);
  const int before = admin.partition_count(name);
  if (add > std::numeric_limits<std::int32_t>::max() - before)
    throw OptionError("num", "--num " + std::to_string(add) + " would make more than 2^31 - 1 partitions");
  const int total = before + static_cast<int>(add);
  admin.create_partitions(name, total, dry_run);
  if (json)
    std::cout << boost::json::serialize(boost::json::object{
                     {"name", name}, {"before", before}, {"after", total}, {"dry_run", dry_run}})
              << "\n";
  if (dry_run)
    std::fprintf(stderr, "sfcrime: the broker accepts %lld more partitions for topic '%s' (%d to %d); nothing was "
                 "changed (--dry-run)\n", add, name.c_str(), before, total);
  else
    std::fprintf(stderr, "sfcrime: topic '%s' has %d partitions (was %d)\n", name.c_str(), total, before);
  return 0;
}

constexpr cli::Subcommand kSubcommands[] = {
    {"create", &create, "create a topic, or let the broker validate one"},
    {"list", &list, "list topics with partition counts and replication factors"},
    {"describe", &describe, "summary, configuration and partitions of one topic"},
    {"delete", &remove, "delete topics"},
    {"alter-config", &alter_config, "set or remove configuration keys of a topic"},
    {"add-partitions", &add_partitions, "add partitions to a topic"},
    // rpk's names for two everyday tasks: `topic produce T` and `topic consume T` are
    // `produce --topic T` and `consume --topic T` (the topic is their positional argument).
    {"produce", &produce, "send records to a topic: sfcrime produce (rpk topic produce)"},
    {"consume", &consume, "print a topic's messages: sfcrime consume (rpk topic consume)"},
};

}  // namespace

int topic(const std::vector<std::string>& args) { return cli::run_subcommand("topic", kSubcommands, args); }

std::span<const cli::Subcommand> topic_words() { return kSubcommands; }

}  // namespace sfcrime::commands
