#pragma once
/// The event-time merge of a topic's partitions (docs/streaming.md, "Input order"), shared by
/// every path of `sfcrime aggregate`: one process (KafkaInput), --exactly-once (the same) and
/// the regroup stage of --scale-out (topology.cpp). Kafka Streams calls it timestamp
/// synchronization (KIP-353) and waits for lagging partitions as KIP-695 does.
///
/// Each partition is a lane of records in offset order. The next record is the first record of
/// the lane whose first record has the smallest event time (a record with no valid event time
/// counts as the smallest; a tie goes to the lowest partition). A lane with nothing buffered is
/// waited for, unless its partition is caught up (at its end), or it is not known to hold more
/// than was fetched and nothing came from it for `max_idle` (Kafka Streams' max.task.idle.ms).
///
/// Pure: it knows nothing of Kafka; the caller says, per empty lane, whether its partition is
/// caught up or lagging (LaneState), and may fill the lane at that moment.
#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "sfcrime/stream/engine.hpp"

namespace sfcrime {

/// What the merge is told about a partition whose lane is empty.
struct LaneState {
  bool caught_up = false;  ///< at its end: nothing to wait for (a partition-EOF, or the -e target reached)
  bool lagging = false;    ///< known to hold records not fetched yet: always waited for
};

/// Lanes of extracted records, one per partition, merged in event-time order. `Payload` is what
/// the caller keeps with each record (a Kafka message); it must be movable.
template <class Payload>
class EventTimeMerge {
 public:
  using Clock = std::chrono::steady_clock;

  /// One buffered record.
  struct Entry {
    Payload payload;
    Extracted x;
  };

  /// @param max_idle how long an empty lane that is not lagging is waited for (--max-idle).
  explicit EventTimeMerge(std::chrono::milliseconds max_idle) : max_idle_(max_idle) {}

  /// Appends a record of `partition` (records of a partition come in offset order) and notes that
  /// the partition was heard from at `now`.
  void push(std::int32_t partition, Payload payload, Extracted x, Clock::time_point now) {
    Lane& l = lane(partition, now);
    l.buffer.push_back(Entry{std::move(payload), std::move(x)});
    l.last_seen = now;
  }

  /// Notes that `partition` was heard from at `now` without a record (it reached its end).
  void seen(std::int32_t partition, Clock::time_point now) { lane(partition, now).last_seen = now; }

  /// Records buffered for `partition`.
  std::size_t buffered(std::int32_t partition) const {
    const auto it = lanes_.find(partition);
    return it == lanes_.end() ? 0 : it->second.buffer.size();
  }
  /// True when no lane holds a record.
  bool empty() const {
    for (const auto& [p, l] : lanes_)
      if (!l.buffer.empty()) return false;
    return true;
  }
  /// When `partition` was last heard from (a record or its end); `now` for one never heard from,
  /// which is remembered.
  Clock::time_point last_seen(std::int32_t partition, Clock::time_point now) { return lane(partition, now).last_seen; }

  /// Forgets `partition` and its buffered records (taken away by a rebalance).
  void drop(std::int32_t partition) { lanes_.erase(partition); }
  /// Forgets every lane.
  void clear() { lanes_.clear(); }

  /// The partition whose first record comes next, among `partitions` (ascending order), or
  /// std::nullopt when a lane must be waited for or no lane has a record. For each lane with
  /// nothing buffered `state(partition)` is called (it may push records of that partition
  /// first, from its queue, and is then not asked again in this call): caught up, the lane is
  /// left out (and counts as heard from now); lagging, it is waited for; else it is waited for
  /// until `max_idle` after it was last heard from.
  template <class Partitions, class State>
  std::optional<std::int32_t> next(const Partitions& partitions, State&& state, Clock::time_point now) {
    std::optional<std::int32_t> best;
    std::int64_t best_time = 0;
    for (const std::int32_t p : partitions) {
      Lane* l = &lane(p, now);
      if (l->buffer.empty()) {
        const LaneState s = state(p);
        l = &lane(p, now);  // state() may have pushed (and created lanes)
        if (l->buffer.empty()) {
          if (s.caught_up) {
            l->last_seen = now;
            continue;
          }
          if (!s.lagging && now - l->last_seen >= max_idle_) continue;
          return std::nullopt;  // wait for this partition's next record
        }
      }
      const Extracted& x = l->buffer.front().x;
      const std::int64_t t =
          x.kind == Extracted::Kind::invalid ? std::numeric_limits<std::int64_t>::min() : x.event_ms;
      if (!best || t < best_time) {  // a tie keeps the lower partition
        best = p;
        best_time = t;
      }
    }
    return best;
  }

  /// Takes the first record of `partition`'s lane, which must not be empty.
  Entry pop(std::int32_t partition) {
    std::deque<Entry>& b = lanes_.at(partition).buffer;
    Entry e = std::move(b.front());
    b.pop_front();
    return e;
  }

 private:
  struct Lane {
    std::deque<Entry> buffer;
    Clock::time_point last_seen;
  };
  Lane& lane(std::int32_t partition, Clock::time_point now) {
    const auto [it, added] = lanes_.try_emplace(partition);
    if (added) it->second.last_seen = now;
    return it->second;
  }

  std::chrono::milliseconds max_idle_;
  std::map<std::int32_t, Lane> lanes_;
};

}  // namespace sfcrime
