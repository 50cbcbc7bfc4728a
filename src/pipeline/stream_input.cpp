#include "sfcrime/pipeline/stream_input.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <limits>

#include "sfcrime/base/errors.hpp"

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
  } catch (const DataError&) {
    // The whole records before the break are answered for; the error is the caller's to throw.
    failure_ = std::current_exception();
    ended_ = true;
    return nullptr;
  }
  item_.value = raw_.text;
  item_.offset = static_cast<std::int64_t>(raw_.number);
  item_.line = raw_.line;
  if (raw_.too_large) {  // invalid like any record that is not one; the file goes on
    item_.x.kind = Extracted::Kind::invalid;
    item_.x.reason = too_large_reason(raw_.text.size(), reader_.max_record_bytes());
  } else {
    extractor_.extract(raw_.text, item_.x);
  }
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
        options.partition_queues = true;
        return std::move(options);
      }()),
      extractor_(spec), merge_(max_idle) {
  // Records buffered from a partition that a rebalance takes away are dropped: its new owner (or
  // this process, if it gets it back) resumes after the last record processed here.
  source_.on_revoked([this](std::int32_t p) {
    merge_.drop(p);
    polled_.erase(p);
    taken_.erase(p);
    target_.erase(p);
  });
}

bool KafkaInput::refill(std::int32_t partition) {
  polled_batch_.clear();
  if (source_.poll_partition(partition, polled_batch_, kBatch) == 0) return false;
  const auto now = now_ = std::chrono::steady_clock::now();
  for (kafka::Message& m : polled_batch_) {
    Extracted x;
    extractor_.extract(std::string_view(static_cast<const char*>(m->payload), m->len), x);
    if (x.kind == Extracted::Kind::valid) {
      const auto [it, first] = newest_.try_emplace(partition, x.event_ms);
      if (!first) {
        partition_disorder_ = std::max(partition_disorder_, saturating_sub(it->second, x.event_ms));
        it->second = std::max(it->second, x.event_ms);
      }
    }
    polled_[partition] = m->offset + 1;
    merge_.push(partition, std::move(m), std::move(x), now);
  }
  polled_batch_.clear();
  return true;
}

InputItem* KafkaInput::try_take() {
  const std::optional<std::int32_t> next = merge_.next(
      source_.assignment(),
      [&](std::int32_t p) {
        LaneState s;
        if (refill(p)) return s;
        s.caught_up = source_.caught_up(p);
        // A partition known to hold more than was fetched is always waited for, and so is one whose
        // lag is not known yet (no fetch response): a slow first fetch must not make its records
        // late (KIP-695). An empty partition answers its first fetch with its end (caught up).
        const auto polled = polled_.find(p);
        const std::int64_t high = source_.cached_high(p);
        s.lagging = high < 0 || polled == polled_.end() || polled->second < high;
        return s;
      },
      now_);
  if (!next) return nullptr;
  current_ = merge_.pop(*next);
  const kafka::Message& m = current_.payload;
  item_.x = std::move(current_.x);
  item_.value = kafka::value_of(m);
  item_.key = m->key ? std::optional<std::string_view>(kafka::key_of(m)) : std::nullopt;
  item_.partition = m->partition;
  item_.offset = m->offset;
  taken_[m->partition] = m->offset + 1;
  source_.mark_processed(m->partition, m->offset + 1);
  return &item_;
}

InputItem* KafkaInput::take(std::chrono::milliseconds wait) {
  // Rebalances and errors come through the consumer queue: serve it now and then while records
  // flow, and whenever none is ready.
  // The merge's idle clock (now_) is read every 64 takes while records flow, and on every refill
  // and wait: a read per record was 5% of aggregate's CPU over a topic.
  if (++takes_ % 64 == 0) {
    now_ = std::chrono::steady_clock::now();
    if (takes_ % 1024 == 0) source_.serve();
  }
  if (InputItem* item = try_take()) return item;
  if (wait.count() == 0) return nullptr;  // the caller's "is one ready?": it waits with take(wait) next
  now_ = std::chrono::steady_clock::now();
  const auto deadline = now_ + wait;
  for (;;) {
    source_.serve();
    now_ = std::chrono::steady_clock::now();
    if (InputItem* item = try_take()) return item;
    const auto now = now_ = std::chrono::steady_clock::now();
    for (const std::int32_t p : source_.assignment())
      if (source_.caught_up(p)) merge_.seen(p, now);
    if (source_.at_end() || now >= deadline || interrupted()) return try_take();
    // Until something comes to a queue, in short steps so that a partition that goes idle (and
    // the deadline) is noticed.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    source_.wait(std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(100)));
  }
}

bool KafkaInput::at_end() { return source_.at_end() && merge_.empty(); }

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
    if (source_.caught_up(p) && merge_.buffered(p) == 0) continue;
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
