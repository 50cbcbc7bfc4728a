#include "sfcrime/stream_input.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <limits>

#include "sfcrime/errors.hpp"

namespace sfcrime {

// ---------------------------------------------------------------------------------------------
// FileInput
// ---------------------------------------------------------------------------------------------

FileInput::FileInput(const std::string& path, const StreamSpec& spec) : reader_(path), extractor_(spec) {}

InputItem* FileInput::take(std::chrono::milliseconds wait) {
  if (ended_) return nullptr;
  if (!reader_.ready(static_cast<int>(wait.count()))) return nullptr;
  try {
    if (!reader_.next(raw_)) {
      ended_ = true;
      return nullptr;
    }
  } catch (const InterruptedError&) {
    // Ctrl-C while a record's rest is awaited on a pipe: the caller sees interrupted() and
    // finishes the batch with what it has.
    return nullptr;
  }
  item_.value = raw_.text;
  item_.offset = static_cast<std::int64_t>(raw_.number);
  item_.line = raw_.line;
  extractor_.extract(raw_.text, item_.x);
  return &item_;
}

bool FileInput::batch_complete() { return ended_ || !reader_.ready(0); }

void FileInput::positions(boost::json::object& out) const {
  out["file"] = static_cast<std::int64_t>(item_.offset);
}

std::string FileInput::description() const { return "file " + reader_.name(); }

// ---------------------------------------------------------------------------------------------
// KafkaInput
// ---------------------------------------------------------------------------------------------

KafkaInput::KafkaInput(const Config& config, SourceOptions options, const StreamSpec& spec,
                       std::chrono::milliseconds max_idle)
    : topic_(options.topic), source_(config, [&] {
        options.store_processed = true;
        return std::move(options);
      }()),
      extractor_(spec), max_idle_(max_idle) {
  // Records buffered from a partition that a rebalance takes away are dropped: its new owner (or
  // this process, if it gets it back) resumes after the last record processed here.
  source_.on_revoked([this](std::int32_t p) {
    if (paused_.erase(p)) source_.pause(p, false);
    buffers_.erase(p);
    polled_.erase(p);
    taken_.erase(p);
    last_seen_.erase(p);
    target_.erase(p);
  });
}

InputItem* KafkaInput::try_take() {
  const auto now = std::chrono::steady_clock::now();
  std::deque<Buffered>* best = nullptr;
  std::int64_t best_time = 0;
  for (const std::int32_t p : source_.assignment()) {
    const auto b = buffers_.find(p);
    if (b == buffers_.end() || b->second.empty()) {
      if (source_.caught_up(p)) continue;
      // A partition known to hold more than was fetched is always waited for: a slow fetch must
      // not make its records late (Kafka Streams, KIP-695). Only one with no known lag may be
      // left behind once idle for max_idle (max.task.idle.ms).
      const auto polled = polled_.find(p);
      const std::int64_t high = source_.cached_high(p);
      const bool lagging = high >= 0 && (polled == polled_.end() || polled->second < high);
      const auto seen = last_seen_.try_emplace(p, now).first->second;
      if (!lagging && now - seen >= max_idle_) continue;
      return nullptr;  // wait for this partition's next record
    }
    const Extracted& x = b->second.front().x;
    // A record with no valid event time does not take part in the order: take it first.
    const std::int64_t t =
        x.kind == Extracted::Kind::invalid ? std::numeric_limits<std::int64_t>::min() : x.event_ms;
    if (!best || t < best_time) {  // ties: the lowest partition (assignment() is ordered)
      best = &b->second;
      best_time = t;
    }
  }
  if (!best) return nullptr;
  current_ = std::move(best->front());
  best->pop_front();
  if (best->size() < kResumeBelow && paused_.erase(current_.msg->partition)) source_.pause(current_.msg->partition, false);
  const rd_kafka_message_t* m = current_.msg.get();
  item_.x = std::move(current_.x);
  item_.value = std::string_view(static_cast<const char*>(m->payload), m->len);
  item_.key = m->key ? std::optional<std::string_view>(std::string_view(static_cast<const char*>(m->key), m->key_len))
                     : std::nullopt;
  item_.partition = m->partition;
  item_.offset = m->offset;
  taken_[m->partition] = m->offset + 1;
  source_.mark_processed(m->partition, m->offset + 1);
  return &item_;
}

InputItem* KafkaInput::take(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (InputItem* item = try_take()) return item;
    const auto now = std::chrono::steady_clock::now();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    // Wait in short steps so that a partition that goes idle is noticed.
    kafka::Message m = source_.next(std::clamp(left, std::chrono::milliseconds(0), std::chrono::milliseconds(100)));
    if (m) {
      const std::int32_t p = m->partition;
      last_seen_[p] = std::chrono::steady_clock::now();
      polled_[p] = m->offset + 1;
      Buffered b;
      extractor_.extract(std::string_view(static_cast<const char*>(m->payload), m->len), b.x);
      b.msg = std::move(m);
      auto& buf = buffers_[p];
      buf.push_back(std::move(b));
      // Bound what waits here while another partition is waited for (Kafka Streams'
      // buffered.records.per.partition): stop fetching this one until it drains.
      if (buf.size() >= kPauseAt && paused_.insert(p).second) source_.pause(p, true);
      continue;
    }
    for (const std::int32_t p : source_.assignment())
      if (source_.caught_up(p)) last_seen_[p] = std::chrono::steady_clock::now();
    if (source_.at_end() || std::chrono::steady_clock::now() >= deadline || interrupted()) return try_take();
  }
}

bool KafkaInput::at_end() {
  if (!source_.at_end()) return false;
  for (const auto& [p, b] : buffers_)
    if (!b.empty()) return false;
  return true;
}

void KafkaInput::begin_batch() {
  target_.clear();
  for (const std::int32_t p : source_.assignment()) {
    const std::int64_t high = source_.cached_high(p);
    if (high >= 0) target_[p] = high;
  }
}

bool KafkaInput::batch_complete() {
  for (const auto& [p, high] : target_) {
    // Caught up also covers a partition whose high watermark lies past its last record (a
    // transaction marker), once what was fetched from it was taken: records still buffered here
    // belong to the batch (skipping them made every later batch one record long).
    if (!source_.assignment().count(p)) continue;
    const auto b = buffers_.find(p);
    if (source_.caught_up(p) && (b == buffers_.end() || b->second.empty())) continue;
    const auto it = taken_.find(p);
    if (it == taken_.end() || it->second < high) return false;
  }
  return true;
}

void KafkaInput::positions(boost::json::object& out) const {
  boost::json::object parts;
  for (const auto& [p, next] : taken_) parts[std::to_string(p)] = next;
  out[topic_] = std::move(parts);
}

}  // namespace sfcrime
