// sfcrime group list|describe|delete|seek: consumer groups, their committed offsets and lag, under
// the names rpk group and kafka-consumer-groups.sh users know.
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
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

using TopicPartition = std::pair<std::string, std::int32_t>;

boost::json::value optional_number(std::optional<std::int64_t> v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

boost::json::value optional_string(const std::string& s) {
  return s.empty() ? boost::json::value(nullptr) : boost::json::value(s);
}

std::string text(std::optional<std::int64_t> v) { return v ? std::to_string(*v) : "-"; }

// ----------------------------------------------------------------------------------------------
// group list

int list(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "group list";
  spec.synopsis = "sfcrime group list [--output table|json]";
  spec.summary =
      "Lists the cluster's consumer groups (ListConsumerGroups, asked of every broker), sorted by id,\n"
      "with their state (Stable, Empty, PreparingRebalance, ...) and type: 'consumer' for a group\n"
      "whose members joined with a protocol, 'simple' for one whose offsets were committed by\n"
      "clients that never joined (librdkafka reports only whether a protocol type is set).";
  cli::add_output_option(spec);
  spec.examples = "  sfcrime group list\n  sfcrime group list -o json | jq -r '.groups[] | select(.state == \"Empty\") | .group'\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const bool json = cli::json_output(parsed->vm);
  kafka::Admin admin(parsed->config);
  const auto groups = admin.list_groups();
  if (json) {
    boost::json::array a;
    for (const auto& g : groups)
      a.push_back({{"group", g.id}, {"state", g.state}, {"type", g.simple ? "simple" : "consumer"}});
    std::cout << boost::json::serialize(boost::json::object{{"groups", std::move(a)}}) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& g : groups) rows.push_back({g.id, g.state, g.simple ? "simple" : "consumer"});
  cli::print_table({"GROUP", "STATE", "TYPE"}, rows);
  return 0;
}

// ----------------------------------------------------------------------------------------------
// group describe

/// One partition of a described group.
struct LagRow {
  std::string topic;
  std::int32_t partition = 0;
  std::optional<std::int64_t> committed;  ///< nullopt: nothing committed
  std::optional<std::int64_t> start, end;  ///< low and high watermark; nullopt when the topic is gone
  std::optional<std::int64_t> lag;         ///< nullopt when the end is unknown
  const kafka::Admin::GroupMember* member = nullptr;  ///< the member it is assigned to, if any
};

/// Lag of one partition, as rpk (franz-go's kadm.CalculateGroupLag) computes it: end - committed,
/// or, with nothing committed, end - start (every record still held is yet to be read); never below 0.
std::int64_t lag_of(std::optional<std::int64_t> committed, std::int64_t start, std::int64_t end) {
  return std::max<std::int64_t>(0, end - (committed ? *committed : start));
}

struct Described {
  kafka::Admin::GroupDescription group;
  std::vector<LagRow> rows;
  std::int64_t total_lag = 0;
};

std::vector<Described> describe_groups(kafka::Admin& admin, const std::vector<std::string>& ids) {
  std::vector<Described> out;
  for (auto& g : admin.describe_groups(ids)) {
    Described d;
    d.group = std::move(g);
    d.rows.clear();
    out.push_back(std::move(d));
  }
  kafka::Metadata md = admin.metadata(true);
  std::map<std::string, int> partitions;  // topic -> partition count, for the topics that exist
  for (int i = 0; i < md->topic_cnt; ++i) partitions[md->topics[i].topic] = md->topics[i].partition_cnt;
  // `out` is complete: the LagRow::member pointers below into its members stay valid.
  for (Described& d : out) {
    const auto committed = admin.committed_offsets(d.group.id);
    // A group the coordinator does not know is "Dead" with no offsets: it does not exist.
    if (d.group.state == "Dead" && committed.empty())
      throw NoInputError("consumer group '" + d.group.id + "' does not exist on '" + admin.config().bootstrap_servers +
                         "' (sfcrime group list shows the groups)");
    // Which partitions: those assigned to members, and every partition of each topic the group has
    // committed offsets on (a partition without a commit is all lag), as rpk shows them.
    std::map<TopicPartition, LagRow> rows;
    auto row = [&](const std::string& topic, std::int32_t p) -> LagRow& {
      LagRow& r = rows[{topic, p}];
      r.topic = topic;
      r.partition = p;
      return r;
    };
    for (const auto& c : committed) {
      row(c.topic, c.partition).committed = c.offset;
      if (auto it = partitions.find(c.topic); it != partitions.end())
        for (int p = 0; p < it->second; ++p) row(c.topic, p);
    }
    for (const auto& m : d.group.members)
      for (const auto& [topic, p] : m.assignment) row(topic, p).member = &m;
    // The offsets of each topic's rows in one pair of requests.
    std::map<TopicPartition, kafka::Watermarks> marks;
    std::map<std::string, std::vector<std::int32_t>> wanted;
    for (const auto& [tp, r] : rows) {
      const auto it = partitions.find(r.topic);
      if (it != partitions.end() && r.partition < it->second) wanted[r.topic].push_back(r.partition);
    }
    for (const auto& [topic, ids] : wanted) {
      const std::vector<kafka::Watermarks> w = admin.watermarks(topic, ids);
      for (std::size_t i = 0; i < ids.size(); ++i) marks[{topic, ids[i]}] = w[i];
    }
    for (auto& [tp, r] : rows) {
      const auto m = marks.find(tp);
      if (m == marks.end()) continue;  // topic deleted: offsets unknown
      const kafka::Watermarks& w = m->second;
      r.start = w.low;
      r.end = w.high;
      r.lag = lag_of(r.committed, w.low, w.high);
      d.total_lag += *r.lag;
    }
    for (auto& [tp, r] : rows) d.rows.push_back(std::move(r));
  }
  return out;
}

void print_described(const std::vector<Described>& groups, bool summary, bool commits) {
  bool first = true;
  for (const auto& d : groups) {
    if (!first) std::cout << "\n";
    first = false;
    const auto& g = d.group;
    if (summary) {
      const std::string coordinator =
          g.coordinator >= 0 ? std::to_string(g.coordinator) + " (" + g.coordinator_host + ")" : "-";
      cli::print_table({"GROUP", g.id}, {{"COORDINATOR", coordinator},
                                    {"STATE", g.state},
                                    {"BALANCER", g.assignor},
                                    {"MEMBERS", std::to_string(g.members.size())},
                                    {"TOTAL-LAG", std::to_string(d.total_lag)}});
    }
    if (commits && !d.rows.empty()) {
      if (summary) std::cout << "\n";
      std::vector<std::vector<std::string>> rows;
      for (const auto& r : d.rows)
        rows.push_back({r.topic, std::to_string(r.partition), text(r.committed), text(r.start), text(r.end),
                        text(r.lag), r.member ? r.member->member_id : "", r.member ? r.member->client_id : "",
                        r.member ? r.member->host : ""});
      cli::print_table({"TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-START-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID",
                   "CLIENT-ID", "HOST"},
                  rows);
    }
  }
}

boost::json::object described_json(const Described& d) {
  const auto& g = d.group;
  boost::json::array members, parts;
  for (const auto& m : g.members) {
    boost::json::array assigned;
    for (const auto& [t, p] : m.assignment) assigned.push_back({{"topic", t}, {"partition", p}});
    members.push_back({{"member_id", m.member_id},
                       {"instance_id", optional_string(m.instance_id)},
                       {"client_id", m.client_id},
                       {"host", m.host},
                       {"assignment", std::move(assigned)}});
  }
  for (const auto& r : d.rows)
    parts.push_back({{"topic", r.topic},
                     {"partition", r.partition},
                     {"committed", optional_number(r.committed)},
                     {"log_start", optional_number(r.start)},
                     {"log_end", optional_number(r.end)},
                     {"lag", optional_number(r.lag)},
                     {"member_id", r.member ? optional_string(r.member->member_id) : nullptr},
                     {"client_id", r.member ? optional_string(r.member->client_id) : nullptr},
                     {"host", r.member ? optional_string(r.member->host) : nullptr}});
  boost::json::object coordinator;
  if (g.coordinator >= 0) coordinator = {{"id", g.coordinator}, {"host", g.coordinator_host}};
  return {{"group", g.id},
          {"state", g.state},
          {"balancer", optional_string(g.assignor)},
          {"type", g.simple ? "simple" : "consumer"},
          {"coordinator", g.coordinator >= 0 ? boost::json::value(std::move(coordinator)) : boost::json::value(nullptr)},
          {"members", std::move(members)},
          {"total_lag", d.total_lag},
          {"partitions", std::move(parts)}};
}

int describe(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "group describe";
  spec.synopsis = "sfcrime group describe GROUP... [--print-summary | --print-commits] [--output table|json]";
  spec.summary =
      "Shows each consumer GROUP as rpk group describe does: a summary (coordinator, state, partition\n"
      "assignor, members, total lag), then per topic and partition the committed offset\n"
      "(CURRENT-OFFSET, '-' when none), the log start and end offsets (low and high watermarks), the\n"
      "lag and the member (id, client id, host) it is assigned to. Lag is end - committed; for a\n"
      "partition without a committed offset it is end - start: every record still held is unread.\n"
      "The partitions shown are those assigned to members and every partition of each topic the\n"
      "group has committed offsets on. Exit 66 when a group does not exist.";
  spec.options.add_options()
      ("group", cli::po::value<std::vector<std::string>>()->required()->value_name("GROUP"), "group ids (positional)")
      ("print-summary,s", "show only the summary of each group")
      ("print-commits,c", "show only the partition table of each group");
  cli::add_output_option(spec);
  spec.positional.add("group", -1);
  spec.examples =
      "  sfcrime group describe aggregators\n"
      "  sfcrime group describe aggregators -o json | jq .groups[0].total_lag\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const bool json = cli::json_output(vm);
  const bool only_summary = vm.count("print-summary") > 0, only_commits = vm.count("print-commits") > 0;
  if (only_summary && only_commits) throw UsageError("--print-summary and --print-commits exclude each other");
  kafka::Admin admin(parsed->config);
  const auto groups = describe_groups(admin, vm["group"].as<std::vector<std::string>>());
  if (json) {
    boost::json::array a;
    for (const auto& d : groups) a.push_back(described_json(d));
    std::cout << boost::json::serialize(boost::json::object{{"groups", std::move(a)}}) << "\n";
  } else {
    print_described(groups, !only_commits, !only_summary);
  }
  return 0;
}

// ----------------------------------------------------------------------------------------------
// group delete

int remove(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "group delete";
  spec.synopsis = "sfcrime group delete GROUP... [--output table|json]";
  spec.summary =
      "Deletes each consumer GROUP and its committed offsets (DeleteGroups), one after the other,\n"
      "reporting each on standard error (or as JSON on standard output). The broker refuses a group\n"
      "that has members (NON_EMPTY_GROUP: exit 1); a group that does not exist gives exit 66. Every\n"
      "group is tried; the exit status is that of the first failure.";
  spec.options.add_options()(
      "group", cli::po::value<std::vector<std::string>>()->required()->value_name("GROUP"), "group ids (positional)");
  cli::add_output_option(spec);
  spec.positional.add("group", -1);
  spec.examples = "  sfcrime group delete aggregators old-readers\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const bool json = cli::json_output(parsed->vm);
  kafka::Admin admin(parsed->config);
  cli::delete_each(parsed->vm["group"].as<std::vector<std::string>>(), "groups", "group", json, [&](const std::string& id) {
    admin.delete_group(id);
    std::fprintf(stderr, "sfcrime: deleted consumer group '%s'\n", id.c_str());
    return true;
  });
  return 0;
}

// ----------------------------------------------------------------------------------------------
// group seek

/// Where --to points: the start or end of each partition, an offset, or a time (ms since the epoch).
struct SeekTarget {
  enum Kind { start, end, offset, time } kind = start;
  std::int64_t value = 0;
};

SeekTarget parse_to(const std::string& s) {
  auto number = [&](const std::string& digits) {
    if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos)
      throw OptionError("to", "--to expects start, end, an OFFSET or @TIMESTAMP_MS, got '" + s + "'");
    return std::stoll(digits);
  };
  if (s == "start" || s == "earliest" || s == "beginning") return {SeekTarget::start, 0};
  if (s == "end" || s == "latest") return {SeekTarget::end, 0};
  if (!s.empty() && s[0] == '@') return {SeekTarget::time, number(s.substr(1))};
  return {SeekTarget::offset, number(s)};
}

std::vector<std::string> split_topics(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::size_t from = 0;
    while (from <= v.size()) {
      const std::size_t comma = std::min(v.find(',', from), v.size());
      if (comma > from) out.push_back(v.substr(from, comma - from));
      from = comma + 1;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int seek(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "group seek";
  spec.synopsis =
      "sfcrime group seek GROUP --to start|end|OFFSET|@TIMESTAMP_MS [--topics TOPIC,...] [--allow-new-topics]\n"
      "                         [--dry-run] [--output table|json]";
  spec.summary =
      "Sets the committed offsets of consumer GROUP (AlterConsumerGroupOffsets), as rpk group seek\n"
      "and the offset reset of kafka-consumer-groups.sh do: to the start or end of each partition, to an\n"
      "OFFSET (clamped to the partition's start and end, as kafka-consumer-groups.sh does), or to the\n"
      "first record at or after @TIMESTAMP_MS (milliseconds since the epoch; the end when none is).\n"
      "Without --topics every partition of each topic the group has offsets on is moved; with\n"
      "--topics only those topics, and a topic the group has no offsets on needs --allow-new-topics.\n"
      "The broker accepts new offsets only while the group has no members. --dry-run shows the\n"
      "offsets it would set and commits nothing.";
  spec.options.add_options()
      ("group", cli::po::value<std::string>()->required()->value_name("GROUP"), "group id (positional)")
      ("to", cli::po::value<std::string>()->required()->value_name("WHERE"), "start, end, OFFSET or @TIMESTAMP_MS")
      ("topics", cli::po::value<std::vector<std::string>>()->composing()->value_name("TOPIC,..."),
       "only these topics (comma-separated, repeatable)")
      ("allow-new-topics", "allow --topics to name topics the group has no offsets on yet")
      ("dry-run", "show the offsets it would set; commit nothing");
  cli::add_output_option(spec);
  spec.positional.add("group", 1);
  spec.examples =
      "  sfcrime group seek aggregators --to start --dry-run\n"
      "  sfcrime group seek aggregators --to @1622505600000 --topics police-calls\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const bool json = cli::json_output(vm);
  const bool dry_run = vm.count("dry-run") > 0;
  const std::string id = vm["group"].as<std::string>();
  const SeekTarget to = parse_to(vm["to"].as<std::string>());
  const std::vector<std::string> only =
      split_topics(vm.count("topics") ? vm["topics"].as<std::vector<std::string>>() : std::vector<std::string>{});
  const bool allow_new = vm.count("allow-new-topics") > 0;

  kafka::Admin admin(parsed->config);
  const auto described = admin.describe_groups({id});
  const auto& g = described.at(0);
  if (!g.members.empty())
    throw Error(Exit::failure, "cannot seek consumer group '" + id + "': it has " + std::to_string(g.members.size()) +
                                   (g.members.size() == 1 ? " member" : " members") + " (state " + g.state +
                                   "); the broker accepts new offsets only for an empty group: stop its consumers "
                                   "first");
  const auto committed = admin.committed_offsets(id);
  std::map<TopicPartition, std::int64_t> prior;
  std::set<std::string> committed_topics;
  for (const auto& c : committed) {
    prior[{c.topic, c.partition}] = c.offset;
    committed_topics.insert(c.topic);
  }
  std::vector<std::string> topics;
  if (only.empty()) {
    if (committed_topics.empty()) {
      if (g.state == "Dead")
        throw NoInputError("consumer group '" + id + "' does not exist on '" + parsed->config.bootstrap_servers +
                           "' (to start it, name its topics: --topics TOPIC --allow-new-topics)");
      throw NoInputError("consumer group '" + id +
                         "' has no committed offsets (to start it, name its topics: --topics TOPIC --allow-new-topics)");
    }
    topics.assign(committed_topics.begin(), committed_topics.end());
  } else {
    for (const auto& t : only)
      if (!committed_topics.count(t) && !allow_new)
        throw UsageError("consumer group '" + id + "' has no committed offsets on topic '" + t +
                         "' (add --allow-new-topics to start it there)");
    topics = only;
  }

  std::vector<kafka::Admin::CommittedOffset> target;
  boost::json::array joffsets;
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : topics) {
    const int n = admin.partition_count(t);  // NoInputError for a topic that is gone
    for (int p = 0; p < n; ++p) {
      std::int64_t offset = 0;
      if (to.kind == SeekTarget::time) {
        offset = admin.offset_for_time(t, p, to.value);
      } else {
        const kafka::Watermarks w = admin.watermarks(t, p);
        offset = to.kind == SeekTarget::start ? w.low
                 : to.kind == SeekTarget::end ? w.high
                                              : std::clamp(to.value, w.low, w.high);
      }
      target.push_back({t, p, offset});
      const auto it = prior.find({t, p});
      const std::optional<std::int64_t> before =
          it != prior.end() ? std::optional<std::int64_t>(it->second) : std::nullopt;
      joffsets.push_back({{"topic", t}, {"partition", p}, {"prior", optional_number(before)}, {"offset", offset}});
      rows.push_back({t, std::to_string(p), text(before), std::to_string(offset)});
    }
  }
  if (!dry_run) admin.alter_committed_offsets(id, target);
  if (json)
    std::cout << boost::json::serialize(boost::json::object{
                     {"group", id}, {"dry_run", dry_run}, {"offsets", std::move(joffsets)}})
              << "\n";
  else
    cli::print_table({"TOPIC", "PARTITION", "PRIOR-OFFSET", "CURRENT-OFFSET"}, rows);
  if (dry_run)
    std::fprintf(stderr, "sfcrime: would set %zu offsets of consumer group '%s'; nothing was committed (--dry-run)\n",
                 target.size(), id.c_str());
  else
    std::fprintf(stderr, "sfcrime: set %zu offsets of consumer group '%s'\n", target.size(), id.c_str());
  return 0;
}

constexpr cli::Subcommand kSubcommands[] = {
    {"list", &list, "list consumer groups with their state"},
    {"describe", &describe, "committed offsets, end offsets, lag and members of groups"},
    {"delete", &remove, "delete groups and their committed offsets"},
    {"seek", &seek, "set an empty group's offsets to start, end, an offset or a time"},
};

}  // namespace

int group(const std::vector<std::string>& args) { return cli::run_subcommand("group", kSubcommands, args); }

std::span<const cli::Subcommand> group_words() { return kSubcommands; }

}  // namespace sfcrime::commands
