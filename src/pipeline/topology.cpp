#include "sfcrime/pipeline/topology.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/kafka/admin.hpp"
#include "sfcrime/kafka/group_reader.hpp"
#include "sfcrime/kafka/kafka.hpp"
#include "sfcrime/kafka/source.hpp"
#include "sfcrime/pipeline/changelog_codec.hpp"
#include "sfcrime/pipeline/state_store.hpp"
#include "sfcrime/pipeline/topic_output.hpp"
#include "sfcrime/stream/batch_trigger.hpp"
#include "sfcrime/stream/merge.hpp"
#include "sfcrime/stream/query_progress.hpp"

namespace sfcrime {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kPunctuation = "~punctuation";
constexpr std::int64_t kMinTime = StreamEngine::kMinTime;
constexpr std::uint64_t kShownRejects = 100;
/// Header of a repartitioned record holding the input message's key (absent for a null key).
constexpr std::string_view kKeyHeader = "sfcrime.source.key";

std::string repartition_topic(const std::string& g) { return g + "-aggregate-repartition"; }
std::string rows_topic(const std::string& g) { return g + "-aggregate-rows"; }
std::string state_topic(const std::string& g) { return g + "-aggregate-scaleout-changelog"; }
/// One record per assemble task whose final batch committed (key "assemble-<w>"): with
/// --exit-at-end a process leaves only once all are there, so that no task is left without an
/// owner when the last process holding it dies.
std::string done_topic(const std::string& g) { return g + "-aggregate-done"; }

/// The input partition a repartitioned record came from (its sfcrime.source.partition header).
std::optional<std::int32_t> source_partition(const kafka::Message& m) {
  const std::optional<std::string_view> v = kafka::header_of(m, "sfcrime.source.partition");
  std::int32_t p = 0;
  if (!v || std::from_chars(v->data(), v->data() + v->size(), p).ec != std::errc()) return std::nullopt;
  return p;
}

/// Regroup task: one input partition (its fetched records wait in the Topology's merge).
struct RegroupTask {
  std::int64_t next = -1;     // next offset to process; -1: none processed, start unknown
  std::int64_t polled = -1;   // after the last message buffered
  std::int64_t target = -1;   // --exit-at-end: the high watermark at assignment
  std::int64_t max_event = kMinTime;
  std::int64_t first_event = kMinTime;  // of the valid records regrouped here
  bool eof = false;
  bool ended = false;         // read to `target` (--exit-at-end)
  bool end_sent = false;      // its end punctuation was committed
  bool idle_sent = false;     // the idleness its last punctuation declared
  bool dirty = false;         // something to punctuate
  Clock::time_point last_record = Clock::now();  // when its last record was fetched
};

/// Aggregate task (one repartition partition) or assemble task (one rows partition).
struct StateTask {
  std::unique_ptr<StreamEngine> engine;
  std::unique_ptr<changelog::Writer> log;
  std::int64_t next = -1;
  std::set<std::int32_t> ended;               // aggregate: ended sources; assemble: ended tasks
  std::map<std::int32_t, std::int64_t> marks;  // assemble: aggregate task -> its watermark
  std::map<std::int32_t, std::int64_t> sources;  // aggregate: input partition -> largest event time sent
  std::set<std::int32_t> idle;                   // aggregate: input partitions idle, held back by nothing
  bool final_done = false;
  bool dirty = false;
};

/// Sends the rows an aggregate task's batch changed to the rows topic, keyed by window start.
class RowsSink final : public Sink {
 public:
  RowsSink(kafka::Producer& p, std::size_t index) : producer_(p), index_(index) {}
  void window(std::int64_t start, std::int64_t, const WindowAgg&, const std::vector<WindowRow>& rows, bool) override {
    const std::string key = std::to_string(start);
    for (const WindowRow& r : rows) {
      const std::string v = boost::json::serialize(group_stats_json(r.group, *r.stats, scratch_));
      if (!producer_.send({.topic = index_, .key = key, .value = v}, ++sent_))
        throw InterruptedError("interrupted while sending rows to the assemble stage");
    }
  }
  void end_batch() override {}
  std::string description() const override { return "rows topic"; }

 private:
  kafka::Producer& producer_;
  std::size_t index_;
  std::vector<std::string> scratch_;
  std::uint64_t sent_ = 0;
};

std::string random_suffix() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

class Topology {
 public:
  Topology(const Config& config, const StreamSpec& spec, const ScaleOutOptions& o)
      : config_(config), spec_(spec), o_(o) {
    // The aggregate stage computes every changed row (no --top) in update mode; the assemble
    // stage applies the user's mode and --top.
    agg_spec_ = spec;
    agg_spec_.mode = OutputMode::update;
    agg_spec_.top = 0;
    query_ = changelog::describe_query(spec, o.topic) + " scale-out";
    identity_ = QueryIdentity::make(query_, o.group);
  }

  ScaleOutTotals run();

 private:
  void setup_topics();
  void rebuild();
  void dispatch(kafka::Message m);
  // Aggregate stage: input partition `source` has sent records up to event time `t`.
  static void note_source(StateTask& t, std::int32_t source, std::int64_t t_ms) {
    std::int64_t& known = t.sources.try_emplace(source, kMinTime).first->second;
    known = std::max(known, t_ms);
  }
  // Aggregate stage: the watermark is the smallest over the input partitions that have neither
  // ended nor gone idle of the largest event time each sent, minus the delay (one not heard from
  // yet holds it at -infinity); with every one of them idle, the largest such time minus the delay.
  void advance_aggregate(StateTask& t) const;
  // Regroup stage: the partition has nothing buffered, its consumer is at its end, and nothing
  // came from it for --max-idle: its punctuation says so and the aggregate tasks stop waiting for it.
  bool idle_now(std::int32_t p, const RegroupTask& t, Clock::time_point now) const;
  bool take_regroup();
  void run_batch();
  // The progress report of the batch just committed (--progress text or json).
  void report_batch(Clock::time_point add_start);
  // {"TOPIC": {"partition": next offset}} of the regroup tasks held now.
  boost::json::object regroup_offsets() const;
  bool done();
  void begin() {
    if (!txn_->in_transaction()) txn_->begin_transaction();
  }
  // --exit-at-end: every record of the input partition up to its target was taken.
  bool reached_end(std::int32_t p, const RegroupTask& t) const {
    return o_.exit_at_end && merge_.buffered(p) == 0 && (t.next >= t.target || t.polled >= t.target);
  }
  // Every upstream task (aggregate: input partition; assemble: aggregate task) has ended and the
  // task's final batch has not run yet.
  bool final_due(const StateTask& t) const { return !t.final_done && static_cast<int>(t.ended.size()) >= P_; }

  const Config& config_;
  StreamSpec spec_;
  StreamSpec agg_spec_;
  const ScaleOutOptions& o_;
  std::string query_;
  int P_ = 0;  // input partitions = repartition partitions = rows partitions
  std::unique_ptr<kafka::Producer> txn_;
  std::size_t rep_index_ = 0, rows_index_ = 0, out_index_ = 0, late_index_ = 0;
  std::unique_ptr<kafka::GroupReader> reader_;
  std::unique_ptr<kafka::Admin> admin_;
  std::unique_ptr<DeferredOutput> deferred_;
  std::unique_ptr<TeeSink> sink_;
  std::unique_ptr<RowsSink> rows_sink_;
  std::unique_ptr<Extractor> extractor_;
  EventTimeMerge<kafka::Message> merge_{o_.max_idle};  // the regroup tasks' fetched records
  std::map<std::int32_t, RegroupTask> regroup_;
  std::map<std::int32_t, StateTask> aggregate_;
  std::map<std::int32_t, StateTask> assemble_;
  ScaleOutTotals totals_;
  BatchCounters batch_;                   // this process's counts in the open batch
  boost::json::object batch_offsets_;     // the regroup tasks' next offsets when the batch started
  QueryIdentity identity_;
  Clock::time_point prev_batch_start_ = Clock::now();
  std::uint64_t late_sent_ = 0, rep_sent_ = 0;
  std::uint64_t invalid_shown_ = 0;
  std::uint64_t aborted_ = 0;  // transactions aborted in a row
  bool failure_shown_ = false;
  std::size_t done_index_ = 0;
  Clock::time_point last_done_check_{};
  Clock::time_point batch_start_ = Clock::now();
  // A batch spans three stages here, so no input can say it caught up: batches are bounded by age.
  BatchTrigger trigger_{{o_.trigger, o_.max_records_per_trigger, false}, Clock::now()};
};

void Topology::setup_topics() {
  admin_ = std::make_unique<kafka::Admin>(config_);
  P_ = admin_->partition_count(o_.topic);
  changelog::require_topics(config_, {o_.output_topic.value_or(""), o_.late_topic.value_or("")});
  changelog::ensure_internal_topic(config_, repartition_topic(o_.group), P_, {});
  changelog::ensure_internal_topic(config_, rows_topic(o_.group), P_, {});
  changelog::ensure_internal_topic(config_, state_topic(o_.group), 2 * P_, {{"cleanup.policy", "compact"}});
  changelog::ensure_internal_topic(config_, done_topic(o_.group), 1, {{"cleanup.policy", "compact"}});
}

void Topology::rebuild() {
  regroup_.clear();
  merge_.clear();
  aggregate_.clear();
  assemble_.clear();
  batch_ = BatchCounters{};
  ++totals_.rebalances;
  for (const auto& [tp, start] : reader_->assignment()) {
    const auto& [topic, p] = tp;
    if (topic == o_.topic) {
      RegroupTask& t = regroup_[p];
      // Asked through the admin handle: the consumer's own ListOffsets stalled for --timeout in
      // some rebalances of a 3-process run (then every process exited 69).
      const kafka::Watermarks w = admin_->watermarks(topic, p);
      const std::int64_t at = start == kafka::kOffsetBeginning ? w.low : start == kafka::kOffsetEnd ? w.high : start;
      if (start >= 0) t.next = start;
      t.target = w.high;
      t.polled = at;
    } else {
      const bool agg = topic == repartition_topic(o_.group);
      StateTask& t = agg ? aggregate_[p] : assemble_[p];
      if (start >= 0) t.next = start;
      t.engine = std::make_unique<StreamEngine>(agg ? agg_spec_ : spec_);
      if (agg) t.engine->use_external_watermark();
      const std::int32_t part = agg ? p : P_ + p;
      const changelog::Restored r = changelog::restore_partition(config_, state_topic(o_.group), part, query_, *t.engine);
      if (r.clock) {
        if (const auto* e = r.clock_fields.if_contains("ended"))
          for (const auto& v : e->as_array()) t.ended.insert(static_cast<std::int32_t>(v.to_number<std::int64_t>()));
        if (const auto* m = r.clock_fields.if_contains("marks"))
          for (const auto& [k, v] : m->as_object()) t.marks[std::stoi(std::string(k))] = v.to_number<std::int64_t>();
        if (const auto* f = r.clock_fields.if_contains("final")) t.final_done = f->as_bool();
        if (const auto* src = r.clock_fields.if_contains("sources"))
          for (const auto& [k, v] : src->as_object()) t.sources[std::stoi(std::string(k))] = v.to_number<std::int64_t>();
        if (const auto* i = r.clock_fields.if_contains("idle"))
          for (const auto& v : i->as_array()) t.idle.insert(static_cast<std::int32_t>(v.to_number<std::int64_t>()));
      }
      StateTask* self = &t;
      t.log = std::make_unique<changelog::Writer>(*txn_, 0, query_, part, [self](boost::json::object& c) {
        boost::json::array ended;
        for (const std::int32_t s : self->ended) ended.push_back(s);
        c["ended"] = std::move(ended);
        boost::json::object marks;
        for (const auto& [task, w] : self->marks) marks[std::to_string(task)] = w;
        c["marks"] = std::move(marks);
        c["final"] = self->final_done;
        boost::json::object sources;
        for (const auto& [source, t_ms] : self->sources) sources[std::to_string(source)] = t_ms;
        c["sources"] = std::move(sources);
        boost::json::array idle;
        for (const std::int32_t source : self->idle) idle.push_back(source);
        c["idle"] = std::move(idle);
      });
      // The aggregate stage's watermark moves with every record and punctuation: windows it
      // closes leave (as rows to the assemble stage) and are freed at once.
      if (agg) t.engine->emit_while_running(rows_sink_.get(), t.log.get());
    }
  }
  batch_offsets_ = regroup_offsets();
  if (o_.progress > 0)
    std::fprintf(stderr, "sfcrime aggregate: group '%s': this process holds %zu regroup, %zu aggregate, %zu assemble tasks\n",
                 o_.group.c_str(), regroup_.size(), aggregate_.size(), assemble_.size());
}

void Topology::advance_aggregate(StateTask& t) const {
  std::int64_t low = StreamEngine::kMaxTime, high = kMinTime;
  bool active = false;
  for (std::int32_t p = 0; p < P_; ++p) {
    if (t.ended.count(p)) continue;
    const auto it = t.sources.find(p);
    const std::int64_t known = it == t.sources.end() ? kMinTime : it->second;
    high = std::max(high, known);
    if (t.idle.count(p)) continue;
    low = std::min(low, known);
    active = true;
  }
  if (!active) low = high;  // every partition idle or ended: nothing holds the watermark back
  if (low != kMinTime) t.engine->advance_watermark(saturating_sub(low, agg_spec_.watermark_delay_ms));
}

bool Topology::idle_now(std::int32_t p, const RegroupTask& t, Clock::time_point now) const {
  if (t.ended || merge_.buffered(p) > 0 || now - t.last_record < o_.max_idle) return false;
  const std::int64_t high = reader_->cached_watermarks(o_.topic, p).high;
  return t.eof || (high >= 0 && t.polled >= high);
}

void Topology::dispatch(kafka::Message m) {
  // Error events without a topic (a fatal error, all brokers down) carry no topic handle.
  const std::string topic = kafka::topic_of(m, o_.topic);
  const std::int32_t p = m->partition;
  if (m->err) {
    if (kafka::at_partition_end(m)) {
      if (topic == o_.topic)
        if (auto it = regroup_.find(p); it != regroup_.end()) {
          it->second.eof = true;
          merge_.seen(p, Clock::now());
        }
      return;
    }
    kafka::check_consumer_error(*reader_, m, topic, config_.verbosity);
    return;
  }
  trigger_.took(Clock::now());
  if (topic == o_.topic) {
    auto it = regroup_.find(p);
    if (it == regroup_.end()) return;  // not ours any more
    RegroupTask& t = it->second;
    Extracted x;
    extractor_->extract(kafka::value_of(m), x);
    t.polled = m->offset + 1;
    t.eof = false;
    t.last_record = Clock::now();
    merge_.push(p, std::move(m), std::move(x), t.last_record);
    return;
  }
  const bool agg = topic == repartition_topic(o_.group);
  auto& tasks = agg ? aggregate_ : assemble_;
  auto it = tasks.find(p);
  if (it == tasks.end()) return;
  StateTask& t = it->second;
  begin();
  t.next = m->offset + 1;
  t.dirty = true;
  const std::string_view key = kafka::key_of(m);
  const std::string_view value = kafka::value_of(m);
  if (key == kPunctuation) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(value, ec);
    if (ec || !v.is_object()) return;
    const boost::json::object& o = v.get_object();
    if (agg) {
      const auto source = static_cast<std::int32_t>(o.at("source").to_number<std::int64_t>());
      note_source(t, source, o.at("max_event_ms").to_number<std::int64_t>());
      if (const auto* idle = o.if_contains("idle"); idle && idle->as_bool()) t.idle.insert(source);
      if (o.at("end").as_bool()) t.ended.insert(source);
      advance_aggregate(t);
    } else {
      const auto task = static_cast<std::int32_t>(o.at("task").to_number<std::int64_t>());
      std::int64_t& mark = t.marks.try_emplace(task, kMinTime).first->second;
      mark = std::max(mark, o.at("watermark").to_number<std::int64_t>());
      if (o.at("end").as_bool()) t.ended.insert(task);
    }
    return;
  }
  if (agg) {
    Extracted x;
    extractor_->extract(value, x);
    if (x.kind != Extracted::Kind::valid) return;  // the regroup stage sent only valid records
    // The record's own writer moves on first, as a record never makes itself late.
    if (const std::optional<std::int32_t> source = source_partition(m)) {
      note_source(t, *source, x.event_ms);
      t.idle.erase(*source);
      advance_aggregate(t);
    }
    if (t.engine->add(x)) return;
    ++totals_.late;
    ++batch_.late;
    if (!o_.late_topic) return;
    std::vector<kafka::Header> headers = late_headers(x.event_ms, t.engine->watermark());
    std::optional<std::string> original_key;
    for (kafka::Header& h : kafka::headers_of(m)) {
      if (h.name == kKeyHeader)
        original_key = h.value.value_or("");
      else
        headers.push_back({std::move(h.name), h.value.value_or("")});
    }
    // The late record as it came in: its own key and value.
    const std::optional<std::string_view> late_key =
        original_key ? std::optional<std::string_view>(*original_key) : std::nullopt;
    if (!txn_->send({.topic = late_index_, .key = late_key, .value = value, .headers = headers}, ++late_sent_))
      throw InterruptedError("interrupted while sending late records to '" + *o_.late_topic + "'");
    return;
  }
  // A row of the aggregate stage (group_stats_json's form).
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(value, ec);
  if (ec || !v.is_object()) return;
  const auto [group, stats] = parse_group_stats(v.get_object());
  t.engine->upsert_row(std::stoll(std::string(key)), group, stats);
}

bool Topology::take_regroup() {
  std::vector<std::int32_t> partitions;
  for (const auto& [p, t] : regroup_) partitions.push_back(p);
  const std::optional<std::int32_t> next = merge_.next(
      partitions,
      [&](std::int32_t p) {
        const RegroupTask& t = regroup_.at(p);
        LaneState s;
        s.caught_up = t.eof || (o_.exit_at_end && t.polled >= t.target);
        const std::int64_t high = reader_->cached_watermarks(o_.topic, p).high;
        s.lagging = high < 0 || t.polled < high;  // lag not known yet (no fetch response): wait, as KafkaInput
        return s;
      },
      Clock::now());
  if (!next) return false;
  const std::int32_t best_p = *next;
  RegroupTask* best = &regroup_.at(best_p);
  EventTimeMerge<kafka::Message>::Entry b = merge_.pop(best_p);
  begin();
  const kafka::Message& m = b.payload;
  best->next = m->offset + 1;
  best->dirty = true;
  ++totals_.input;
  ++batch_.input;
  if (b.x.kind == Extracted::Kind::invalid) {
    ++totals_.invalid;
    ++batch_.invalid;
    if (++invalid_shown_ <= kShownRejects)
      std::fprintf(stderr, "sfcrime: '%s' partition %d offset %lld skipped: %s\n", o_.topic.c_str(), best_p,
                   static_cast<long long>(m->offset), b.x.reason.c_str());
    return true;
  }
  if (b.x.kind == Extracted::Kind::filtered) {
    ++totals_.filtered;
    ++batch_.filtered;
    return true;
  }
  if (best->first_event == kMinTime) best->first_event = b.x.event_ms;
  if (best->max_event != kMinTime)
    totals_.max_disorder_ms = std::max(totals_.max_disorder_ms, saturating_sub(best->max_event, b.x.event_ms));
  best->max_event = std::max(best->max_event, b.x.event_ms);
  batch_.min_event = std::min(batch_.min_event, b.x.event_ms);
  batch_.max_event = std::max(batch_.max_event, b.x.event_ms);
  boost::json::array parts;
  std::vector<std::string> scratch;
  group_key::append_json(b.x.group, parts, scratch);
  std::vector<kafka::Header> headers = {{"sfcrime.source.topic", o_.topic},
                                        {"sfcrime.source.partition", std::to_string(best_p)},
                                        {"sfcrime.source.offset", std::to_string(m->offset)}};
  // The record's own key rides along, for a late record to keep it (kKeyHeader).
  if (m->key) headers.emplace_back(std::string(kKeyHeader), std::string(kafka::key_of(m)));
  if (!txn_->send({.topic = rep_index_, .key = boost::json::serialize(parts), .value = kafka::value_of(m), .headers = headers}, ++rep_sent_))
    throw InterruptedError("interrupted while regrouping records");
  return true;
}

void Topology::run_batch() {
  const auto add_start = Clock::now();
  begin();
  // Regroup: punctuation to every repartition partition.
  const auto now = Clock::now();
  for (auto& [p, t] : regroup_) {
    if (!t.ended && reached_end(p, t)) {
      t.ended = true;
      t.dirty = true;
    }
    const bool idle = idle_now(p, t, now);
    if (idle != t.idle_sent) t.dirty = true;
    if (!t.dirty) continue;
    t.idle_sent = idle;
    const std::string v = boost::json::serialize(
        boost::json::object{{"source", p}, {"max_event_ms", t.max_event}, {"end", t.ended}, {"idle", idle}});
    for (std::int32_t r = 0; r < P_; ++r) txn_->send({.topic = rep_index_, .key = kPunctuation, .value = v, .partition = r}, ++rep_sent_);
  }
  // Aggregate: changed rows to the rows topic, the watermark to every rows partition.
  for (auto& [r, t] : aggregate_) {
    const bool final = final_due(t);
    if (!t.dirty && !final) continue;
    batch_.dropped_pairs += t.engine->batch().dropped_pairs;
    batch_.rows_updated += t.engine->batch().rows_updated;
    t.engine->end_batch(final, *rows_sink_, t.log.get());
    t.final_done = t.final_done || final;
    const std::string v = boost::json::serialize(
        boost::json::object{{"task", r}, {"watermark", t.engine->watermark()}, {"end", t.final_done}});
    for (std::int32_t w = 0; w < P_; ++w) txn_->send({.topic = rows_index_, .key = kPunctuation, .value = v, .partition = w}, ++rep_sent_);
  }
  // Assemble: the user's rows.
  for (auto& [w, t] : assemble_) {
    std::int64_t mark = StreamEngine::kMaxTime;
    for (std::int32_t r = 0; r < P_; ++r) {
      const auto it = t.marks.find(r);
      mark = std::min(mark, it == t.marks.end() ? kMinTime : it->second);
    }
    const bool final = final_due(t);
    if (!t.dirty && !final) continue;
    t.engine->advance_watermark(mark);
    batch_.rows_out += t.engine->end_batch(final, *sink_, t.log.get());
    if (final && !txn_->send({.topic = done_index_, .key = "assemble-" + std::to_string(w), .value = "{\"final\":true}"}, ++rep_sent_))
      throw InterruptedError("interrupted while ending the query");
    t.final_done = t.final_done || final;
  }
  // Everything above and the offsets of every consumed partition, atomically.
  std::vector<kafka::TopicPartitionOffset> offsets;
  for (const auto& [p, t] : regroup_)
    if (t.next >= 0) offsets.push_back({o_.topic, p, t.next});
  const std::string rep = repartition_topic(o_.group), rows = rows_topic(o_.group);
  for (const auto& [r, t] : aggregate_)
    if (t.next >= 0) offsets.push_back({rep, r, t.next});
  for (const auto& [w, t] : assemble_)
    if (t.next >= 0) offsets.push_back({rows, w, t.next});
  txn_->commit_transaction(kafka::partition_list(offsets), *reader_);
  aborted_ = 0;
  if (deferred_) deferred_->release();
  for (auto& [p, t] : regroup_) {
    t.dirty = false;
    if (t.ended) t.end_sent = true;
  }
  for (auto& [r, t] : aggregate_) t.dirty = false;
  for (auto& [w, t] : assemble_) t.dirty = false;
  ++totals_.batches;
  totals_.rows_out += batch_.rows_out;
  if (o_.progress > 0) report_batch(add_start);
  batch_ = BatchCounters{};
  prev_batch_start_ = batch_start_;
  batch_start_ = Clock::now();
  trigger_.begin(batch_start_);
  batch_offsets_ = regroup_offsets();
}

boost::json::object Topology::regroup_offsets() const {
  boost::json::object parts;
  for (const auto& [p, t] : regroup_)
    if (t.next >= 0) parts[std::to_string(p)] = t.next;
  return {{o_.topic, std::move(parts)}};
}

void Topology::report_batch(Clock::time_point add_start) {
  const auto done = Clock::now();
  BatchProgress b;
  b.batch_id = static_cast<std::int64_t>(totals_.batches) - 1;
  b.counters = batch_;
  // The output's watermark: the smallest of this process's assemble tasks (then aggregate tasks).
  auto& tasks = assemble_.empty() ? aggregate_ : assemble_;
  b.watermark = tasks.empty() ? kMinTime : StreamEngine::kMaxTime;
  for (const auto& [w, t] : tasks) b.watermark = std::min(b.watermark, t.engine->watermark());
  for (const auto* stage : {&aggregate_, &assemble_})
    for (const auto& [k, t] : *stage) {
      b.rows_total += t.engine->rows_total();
      b.windows_total += t.engine->windows_held();
    }
  const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  const double between = seconds(batch_start_ - prev_batch_start_), took = seconds(done - batch_start_);
  b.input_rows_per_second = between > 0 ? static_cast<double>(batch_.input) / between : 0.0;
  b.processed_rows_per_second = took > 0 ? static_cast<double>(batch_.input) / took : 0.0;
  b.add_batch_ms = std::chrono::duration_cast<std::chrono::milliseconds>(done - add_start).count();
  b.trigger_execution_ms = std::chrono::duration_cast<std::chrono::milliseconds>(done - batch_start_).count();
  b.source = "topic " + o_.topic;
  b.start_offset = batch_offsets_;
  b.end_offset = regroup_offsets();
  b.sink = sink_->description();
  if (o_.progress == 2)
    std::fprintf(stderr, "%s\n", boost::json::serialize(progress_json(identity_, b, utc_timestamp())).c_str());
  else
    std::fprintf(stderr, "%s\n", progress_text(b).c_str());
}

bool Topology::done() {
  if (!o_.exit_at_end || !reader_->assigned() || txn_->in_transaction()) return false;
  for (const auto& [p, t] : regroup_)
    if (!t.end_sent) return false;
  for (const auto& [r, t] : aggregate_)
    if (!t.final_done) return false;
  for (const auto& [w, t] : assemble_)
    if (!t.final_done) return false;
  // This process's tasks have ended; the query has when every assemble task's final batch
  // committed (asked at most once a second; meanwhile the group may give this process the tasks
  // of a member that died).
  const auto now = Clock::now();
  if (now - last_done_check_ < std::chrono::seconds(1)) return false;
  last_done_check_ = now;
  SourceOptions so;
  so.topic = done_topic(o_.group);
  so.from_beginning = true;
  so.exit_at_end = true;
  TopicSource source(config_, so);
  std::set<std::string> ended;
  while (!source.at_end() && !interrupted())
    if (kafka::Message m = source.next(std::chrono::milliseconds(100))) ended.insert(std::string(kafka::key_of(m)));
  return static_cast<int>(ended.size()) >= P_;
}

ScaleOutTotals Topology::run() {
  // Made first: a run that cannot hold its batches' rows (no writable /tmp) creates no topic.
  if (o_.rows_to_stdout) deferred_ = std::make_unique<DeferredOutput>(stdout);
  setup_topics();
  extractor_ = std::make_unique<Extractor>(spec_);
  txn_ = std::make_unique<kafka::Producer>(
      config_, state_topic(o_.group),
      [this](const kafka::DeliveryReport& r) {
        // Purged by an abort (a rebalance): expected. Anything else fails the commit; say it once.
        if (r.delivered() || r.purged) return;
        if (!std::exchange(failure_shown_, true))
          std::fprintf(stderr, "sfcrime: a message of the transaction was not delivered: %s\n", r.error_text);
      },
      std::vector<kafka::Property>{{"transactional.id", "sfcrime-aggregate-" + o_.group + "-" + random_suffix()},
                                   // Kafka Streams' exactly-once default: a dead process's open
                                   // transaction holds read_committed readers back at most 10 s.
                                   {"transaction.timeout.ms", "10000"},
                                   {"message.timeout.ms", "9000"}});
  rep_index_ = txn_->add_topic(repartition_topic(o_.group));
  rows_index_ = txn_->add_topic(rows_topic(o_.group));
  done_index_ = txn_->add_topic(done_topic(o_.group));
  txn_->init_transactions();
  std::vector<std::unique_ptr<Sink>> sinks;
  if (o_.rows_to_stdout) sinks.push_back(make_sink(o_.format, deferred_->file(), o_.labels));
  if (o_.output_topic) {
    out_index_ = txn_->add_topic(*o_.output_topic);
    sinks.push_back(make_topic_sink(*txn_, *o_.output_topic, o_.labels, out_index_));
  }
  if (o_.late_topic) late_index_ = txn_->add_topic(*o_.late_topic);
  sink_ = std::make_unique<TeeSink>(std::move(sinks));
  rows_sink_ = std::make_unique<RowsSink>(*txn_, rows_index_);
  kafka::GroupReader::Options ro{o_.group, {o_.topic, repartition_topic(o_.group), rows_topic(o_.group)}, o_.topic,
                                 o_.from_beginning};
  reader_ = std::make_unique<kafka::GroupReader>(config_, std::move(ro), [this] {
    if (txn_->in_transaction()) txn_->abort_transaction();
    if (deferred_) deferred_->discard();
  });
  totals_.rebalances = 0;
  trigger_.begin(Clock::now());
  try {
    while (!interrupted()) {
      kafka::Message m = reader_->poll(std::chrono::milliseconds(20));
      if (reader_->take_changed()) {
        if (txn_->in_transaction()) txn_->abort_transaction();
        if (deferred_) deferred_->discard();
        rebuild();
        // A message returned by the poll that served the rebalance comes from the new
        // assignment: dropping it would skip it for good (the consumer's position is past it).
      }
      if (m) dispatch(std::move(m));
      // Regroup what can be taken in event-time order, up to --max-records-per-trigger a batch.
      while (!trigger_.full(batch_.input) && take_regroup()) {
      }
      const auto now = Clock::now();
      bool pending_end = false;
      for (const auto& [p, t] : regroup_)
        pending_end = pending_end || (!t.end_sent && reached_end(p, t)) || idle_now(p, t, now) != t.idle_sent;
      for (const auto& [r, t] : aggregate_) pending_end = pending_end || final_due(t);
      for (const auto& [w, t] : assemble_) pending_end = pending_end || final_due(t);
      const bool work = txn_->in_transaction() || pending_end;
      const bool due = trigger_.due(now, batch_.input, false);
      if (work && due) {
        try {
          run_batch();
        } catch (const TransactionAborted& e) {
          // Routine while the group rebalances (the batch's offsets carried an old generation):
          // nothing of the batch is visible; go on from the committed offsets and state.
          if (config_.verbosity >= 1) std::fprintf(stderr, "sfcrime: %s; going on from the last commit\n", e.what());
          if (deferred_) deferred_->discard();
          if (++aborted_ > 10) throw;  // ten in a row: not a rebalance
          reader_->rewind();
          continue;
        }
      } else if (!work) {
        batch_start_ = now;
        trigger_.begin(now);
      }
      if (done()) break;
    }
    if (interrupted() && txn_->in_transaction()) run_batch();  // Ctrl-C: commit what was done
  } catch (...) {
    if (txn_->in_transaction()) txn_->abort_transaction();
    throw;
  }
  for (const auto& [p, t] : regroup_)
    totals_.newest_first = totals_.newest_first || (t.first_event != kMinTime && t.first_event == t.max_event);
  // librdkafka does not finish destroying a consumer while messages of it are alive: free the
  // fetched, unprocessed ones first (Ctrl-C with input waiting hung here).
  regroup_.clear();
  merge_.clear();
  reader_.reset();  // leaves the group
  return totals_;
}

}  // namespace

ScaleOutTotals run_scale_out(const Config& config, const StreamSpec& spec, const ScaleOutOptions& options) {
  Topology t(config, spec, options);
  return t.run();
}

}  // namespace sfcrime
