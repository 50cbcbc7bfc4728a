// sfcrime inspect: brokers, topics, and per partition the leader, replicas, in-sync replicas and
// the low and high watermark offsets, with message counts.
#include <boost/json.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/cli.hpp"
#include "sfcrime/commands/commands.hpp"
#include "sfcrime/kafka/admin.hpp"
#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime::commands {

namespace {

bool topic_exists(kafka::Admin& client, const std::string& topic) {
  try {
    client.partition_count(topic);
    return true;
  } catch (const NoInputError&) {
    return false;
  }
}

}  // namespace

int inspect(const std::vector<std::string>& args) {
  // `sfcrime inspect group G...` is `sfcrime group describe G...`.
  const std::size_t word = cli::first_word(args, {"--topic", "-t", "--output", "-o"});
  if (word < args.size()) {
    if (args[word] != "group")
      throw UsageError("unknown word '" + args[word] + "' after inspect (expected 'group GROUP...', or options; see "
                       "sfcrime inspect --help)");
    // `sfcrime group` takes its first bare word as the subcommand: put "describe" first, before
    // any option whose value group() would not know to skip (`inspect -o json group G`).
    std::vector<std::string> forwarded = args;
    forwarded.erase(forwarded.begin() + static_cast<std::ptrdiff_t>(word));
    forwarded.insert(forwarded.begin(), "describe");
    return group(forwarded);
  }
  cli::CommandSpec spec;
  spec.name = "inspect";
  spec.synopsis =
      "sfcrime inspect [--topic TOPIC] [--all] [--output table|json] [options]\n"
      "       sfcrime inspect group GROUP... [--output table|json] [options]";
  spec.summary =
      "Shows the cluster's brokers and, for each topic (or only TOPIC), per partition the leader,\n"
      "replicas, in-sync replicas, low and high watermark offsets and the message count\n"
      "(high - low; an upper bound on compacted or transactional topics), and the total.\n"
      "Internal topics (names starting with '__') are shown with --all.\n"
      "'inspect group GROUP...' shows consumer groups' committed offsets, end offsets and lag: the\n"
      "same as 'sfcrime group describe GROUP...' (see its --help).";
  spec.options.add_options()
      ("topic,t", cli::po::value<std::string>()->value_name("TOPIC"), "show only this topic")
      ("all", "include internal topics such as __consumer_offsets");
  cli::add_output_option(spec);
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const bool json = cli::json_output(vm);
  const std::optional<std::string> only = vm.count("topic") ? std::optional(vm["topic"].as<std::string>()) : std::nullopt;
  const bool all = vm.count("all") > 0;

  kafka::Admin client(parsed->config);  // metadata and offsets only
  const kafka::ClusterMetadata md = client.describe_cluster();
  if (only) client.partition_count(*only);  // NoInputError for a missing topic

  boost::json::object doc;
  boost::json::array brokers;
  std::string text = std::to_string(md.brokers.size()) + (md.brokers.size() == 1 ? " broker" : " brokers") +
                     " (metadata from broker " + std::to_string(md.answered_by_id) + " " + md.answered_by + ")\n";
  for (const kafka::BrokerMetadata& b : md.brokers) {
    brokers.push_back({{"id", b.id}, {"host", b.host}, {"port", b.port}});
    text += "  broker " + std::to_string(b.id) + " at " + b.host + ":" + std::to_string(b.port) + "\n";
  }
  doc["brokers"] = std::move(brokers);

  // Topics sorted by name (describe_cluster sorts them) for a stable output.
  std::vector<const kafka::TopicMetadata*> topics;
  for (const kafka::TopicMetadata& t : md.topics)
    if (only ? *only == t.name : (all || t.name.rfind("__", 0) != 0)) topics.push_back(&t);

  boost::json::array jtopics;
  std::int64_t grand = 0;
  for (const auto* t : topics) {
    const std::vector<kafka::PartitionMetadata>& parts = t->partitions;
    boost::json::array jparts;
    std::string rows;
    std::int64_t total = 0;
    char line[256];
    std::vector<std::int32_t> ids;
    for (const auto& p : parts) ids.push_back(p.id);
    std::vector<kafka::Watermarks> marks;
    try {
      marks = client.watermarks(t->name, ids);  // two requests for all partitions
    } catch (const UnavailableError&) {
      // A topic deleted since the metadata was read is left out of a listing of all topics.
      if (only || topic_exists(client, t->name)) throw;
      continue;
    }
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const kafka::PartitionMetadata& p = parts[i];
      const kafka::Watermarks& w = marks[i];
      total += w.high - w.low;
      jparts.push_back({{"partition", p.id},
                        {"leader", p.leader},
                        {"replicas", cli::id_array(p.replicas)},
                        {"isr", cli::id_array(p.isr)},
                        {"low", w.low},
                        {"high", w.high},
                        {"messages", w.high - w.low}});
      std::snprintf(line, sizeof line, "  %9d  %6d  %-10s  %-10s  %12lld  %12lld  %12lld\n", p.id, p.leader,
                    cli::id_list(p.replicas).c_str(), cli::id_list(p.isr).c_str(),
                    static_cast<long long>(w.low), static_cast<long long>(w.high),
                    static_cast<long long>(w.high - w.low));
      rows += line;
    }
    grand += total;
    jtopics.push_back({{"name", t->name}, {"partitions", std::move(jparts)}, {"messages", total}});
    text += "\ntopic '" + t->name + "': " + std::to_string(parts.size()) + " partitions, " +
            std::to_string(total) + " messages\n";
    text += "  partition  leader  replicas    isr                  low          high      messages\n" + rows;
  }
  const std::size_t jtopics_count = jtopics.size();
  doc["topics"] = std::move(jtopics);
  doc["messages"] = grand;
  if (json) {
    std::cout << boost::json::serialize(doc) << "\n";
  } else {
    if (jtopics_count == 0) text += only ? "" : "\nno topics (sfcrime topic create NAME to make one)\n";
    if (jtopics_count > 1) text += "\n" + std::to_string(grand) + " messages in " + std::to_string(jtopics_count) + " topics\n";
    std::cout << text;
  }
  return 0;
}

}  // namespace sfcrime::commands
