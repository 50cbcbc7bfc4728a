#include "sfcrime/pipeline/state_store.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/base/duration.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/kafka/admin.hpp"
#include "sfcrime/kafka/source.hpp"
#include "sfcrime/pipeline/changelog_codec.hpp"

namespace sfcrime::changelog {

namespace {
constexpr std::string_view kWindowPrefix = "window:";
constexpr std::string_view kClockKey = "clock";

std::string window_key(std::int64_t start) { return std::string(kWindowPrefix) + std::to_string(start); }

// Throws DataError naming the changelog record.
[[noreturn]] void bad_record(const std::string& topic, std::int64_t offset, const std::string& why) {
  throw DataError("changelog '" + topic + "' offset " + std::to_string(offset) + " is not a state record of sfcrime: " +
                  why + " (delete the topic to start the group's state afresh)");
}

WindowAgg parse_window(const boost::json::value& v, const std::string& topic, std::int64_t offset) {
  WindowAgg w;
  try {
    const boost::json::object& o = v.as_object();
    w.total = o.at("total").to_number<std::uint64_t>();
    for (const boost::json::value& g : o.at("groups").as_array()) w.groups.insert(parse_group_stats(g.as_object()));
  } catch (const std::exception& e) {
    bad_record(topic, offset, std::string("window state: ") + e.what());
  }
  return w;
}
}  // namespace

std::string topic_name(const std::string& group) { return group + "-aggregate-changelog"; }

std::string describe_query(const StreamSpec& spec, const std::string& input_topic) {
  std::string d = "topic=" + input_topic + " window=" + std::to_string(spec.windows.size_ms) +
                  "ms slide=" + std::to_string(spec.windows.slide_ms) + "ms watermark=" +
                  std::to_string(spec.watermark_delay_ms) + "ms mode=" + to_string(spec.mode) +
                  " time-field=" + spec.time_field + " by=";
  for (std::size_t i = 0; i < spec.by.size(); ++i) d += (i ? "," : "") + spec.by[i];
  for (const Filter& f : spec.filters) {
    d += " filter=" + f.field + "=";
    for (std::size_t i = 0; i < f.values.size(); ++i) d += (i ? "," : "") + f.values[i];
  }
  return d;
}

void ensure_internal_topic(const Config& config, const std::string& topic, int partitions,
                           const std::vector<kafka::Property>& configs) {
  kafka::Admin admin(config);
  int have = 0;
  try {
    // Look first: creating needs the right to create topics (and a controller that answers),
    // using an existing one does not.
    have = admin.partition_count(topic);
  } catch (const NoInputError&) {
    kafka::Admin::NewTopic t;
    t.name = topic;
    t.partitions = partitions;
    t.replication_factor = -1;  // the brokers' default.replication.factor (KIP-464)
    t.configs = configs;
    if (admin.create_topic(t, /*if_not_exists=*/true)) return;
    // Created by another process of the group meanwhile: wait until it is usable.
    if (!admin.wait_until_ready(topic, partitions))
      throw UnavailableError("topic '" + topic + "', created by another process of the group, did not have an answering "
                             "leader for each of its " + std::to_string(partitions) + " partitions within " +
                             format_duration(config.timeout) + " (see --timeout)");
    have = admin.partition_count(topic);
  }
  if (have != partitions)
    throw ConfigError("topic '" + topic + "' has " + std::to_string(have) + " partitions, not " +
                      std::to_string(partitions) + " (delete it, or use another --group)");
}

void require_topics(const Config& config, const std::vector<std::string>& topics) {
  kafka::Admin admin(config);
  for (const std::string& t : topics)
    if (!t.empty()) admin.partition_count(t);
}

void ensure_topic(const Config& config, const std::string& group) {
  ensure_internal_topic(config, topic_name(group), 1, {{"cleanup.policy", "compact"}});
}

Restored restore(const Config& config, const std::string& group, const std::string& query, StreamEngine& engine) {
  return restore_partition(config, topic_name(group), -1, query, engine);
}

Restored restore_partition(const Config& config, const std::string& topic, std::int32_t partition,
                           const std::string& query, StreamEngine& engine) {
  SourceOptions o;
  o.topic = topic;
  if (partition >= 0) o.partitions = {partition};
  o.from_beginning = true;
  o.exit_at_end = true;
  TopicSource source(config, o);
  Restored r;
  // The last value per key; std::nullopt for a tombstone.
  std::map<std::int64_t, std::pair<std::int64_t, std::optional<std::string>>> windows;  // start -> (offset, value)
  std::optional<std::pair<std::int64_t, std::string>> clock;                            // (offset, value)
  while (!source.at_end()) {
    if (interrupted()) throw InterruptedError("interrupted while restoring the state from '" + topic + "'");
    kafka::Message m = source.next(std::chrono::milliseconds(200));
    if (!m) continue;
    ++r.records;
    const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
    std::optional<std::string> value;
    if (m->payload) value.emplace(static_cast<const char*>(m->payload), m->len);
    if (key == kClockKey) {
      if (!value) bad_record(topic, m->offset, "a null clock");
      clock.emplace(m->offset, std::move(*value));
    } else if (key.starts_with(kWindowPrefix)) {
      std::int64_t start = 0;
      try {
        std::size_t used = 0;
        const std::string digits(key.substr(kWindowPrefix.size()));
        start = std::stoll(digits, &used);
        if (used != digits.size()) throw std::invalid_argument("trailing characters");
      } catch (const std::exception&) {
        bad_record(topic, m->offset, "key '" + std::string(key) + "'");
      }
      windows[start] = {m->offset, std::move(value)};
    } else {
      bad_record(topic, m->offset, "key '" + std::string(key) + "'");
    }
  }
  source.close();

  if (clock) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(clock->second, ec);
    if (ec || !v.is_object()) bad_record(topic, clock->first, "the clock is not a JSON object");
    const boost::json::object& c = v.get_object();
    const auto* q = c.if_contains("query");
    if (!q || !q->is_string()) bad_record(topic, clock->first, "the clock has no query");
    if (std::string_view(q->get_string()) != query)
      throw UsageError("the changelog '" + topic + "' holds the state of another query:\n  stored:  " +
                       std::string(q->get_string()) + "\n  this one: " + query +
                       "\n(use another --group, or delete the topic and the group to start afresh)");
    try {
      engine.restore_clock(c.at("max_event_ms").to_number<std::int64_t>(), c.at("watermark_ms").to_number<std::int64_t>(),
                           c.at("next_batch_id").to_number<std::int64_t>());
    } catch (const std::exception& e) {
      bad_record(topic, clock->first, std::string("clock: ") + e.what());
    }
    r.clock = true;
    r.clock_fields = c;
  }
  for (auto& [start, entry] : windows) {
    if (!entry.second) continue;  // freed
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(*entry.second, ec);
    if (ec) bad_record(topic, entry.first, "not JSON");
    WindowAgg w = parse_window(v, topic, entry.first);
    r.rows += w.groups.size();
    ++r.windows;
    engine.restore_window(start, std::move(w));
  }
  if (!r.clock && r.windows > 0) bad_record(topic, 0, "window state without a clock record");
  return r;
}

void Writer::send(const std::string& key, std::string_view value) {
  if (!producer_.send({.topic = index_, .key = key, .value = value, .partition = partition_}, ++sent_))
    throw InterruptedError("interrupted while writing the state to the changelog");
}

void Writer::window_changed(std::int64_t start, const WindowAgg& w) {
  boost::json::object o;
  o["window_start"] = format_naive_datetime(start);
  o["total"] = w.total;
  boost::json::array groups;
  groups.reserve(w.groups.size());
  for (const auto& [key, stats] : w.groups) groups.push_back(group_stats_json(key, stats, scratch_));
  o["groups"] = std::move(groups);
  send(window_key(start), boost::json::serialize(o));
}

void Writer::window_freed(std::int64_t start) { send(window_key(start), std::string_view()); }  // a tombstone

void Writer::clock(std::int64_t max_event, std::int64_t watermark, std::int64_t next_batch_id) {
  boost::json::object o{{"max_event_ms", max_event},
                        {"watermark_ms", watermark},
                        {"next_batch_id", next_batch_id},
                        {"query", query_}};
  if (extras_) extras_(o);
  send(std::string(kClockKey), boost::json::serialize(o));
}

}  // namespace sfcrime::changelog
