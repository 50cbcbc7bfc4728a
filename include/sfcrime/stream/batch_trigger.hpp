// The rule that ends a micro-batch, shared by every path of `sfcrime aggregate` (one process,
// --exactly-once, --scale-out). Part of the stream layer: no I/O, no librdkafka.
#pragma once

#include <chrono>
#include <cstdint>

namespace sfcrime {

/// When a micro-batch ends: Spark Structured Streaming's triggers, as sfcrime builds them.
///
/// - ProcessingTime(D) (`--trigger D`): a batch ends at the next multiple of D since the query
///   started (Spark's ProcessingTimeExecutor waits for the next multiple of the interval too).
/// - The default trigger (as soon as possible): a batch ends when the input has caught up with
///   what was there when the batch began (KafkaInput: the high watermarks; FileInput: nothing
///   more is ready), when no record came for kQuiet, or, where the input cannot tell that it
///   caught up (the scale-out topology, whose batch spans three stages), when it is kMaxAge old.
/// - `--max-records-per-trigger N` (Spark's maxOffsetsPerTrigger): a batch takes at most N records
///   (the caller asks full()); under the default trigger it then ends, under --trigger it ends at
///   its time.
///
/// Use: begin() when a batch starts, took() for every record (or message) taken, due() to ask.
class BatchTrigger {
 public:
  using Clock = std::chrono::steady_clock;
  /// Default trigger: the batch ends after this long without a record, ms.
  static constexpr std::chrono::milliseconds kQuiet{100};
  /// Default trigger, for an input that cannot tell it caught up: the longest batch, ms.
  static constexpr std::chrono::milliseconds kMaxAge{1000};

  struct Options {
    /// --trigger, ms; 0: the default trigger.
    std::chrono::milliseconds interval{0};
    /// --max-records-per-trigger; 0: no bound.
    std::uint64_t max_records = 0;
    /// Whether the caller can say when the input caught up (see due()); false bounds a batch by
    /// kMaxAge instead.
    bool input_knows_caught_up = true;
  };

  /// `query_start`: the origin of the --trigger intervals.
  BatchTrigger(Options options, Clock::time_point query_start) noexcept
      : o_(options), query_start_(query_start), start_(query_start), last_(query_start), end_(query_start) {}

  /// A batch starts at `now`: fixes its trigger time (the next multiple of the interval) and
  /// restarts the quiet and age clocks.
  void begin(Clock::time_point now) noexcept;
  /// A record (or, for the topology, any message) was taken at `now`.
  void took(Clock::time_point now) noexcept { last_ = now; }
  /// Whether a batch that took `records` records has all --max-records-per-trigger allows.
  bool full(std::uint64_t records) const noexcept { return o_.max_records > 0 && records >= o_.max_records; }
  /// Whether the batch ends at `now`; `caught_up`: the input reached what was there when the batch
  /// began (read only under the default trigger, and only if Options::input_knows_caught_up).
  bool due(Clock::time_point now, std::uint64_t records, bool caught_up) const noexcept;
  /// How long the caller may wait for the next record without passing the batch's end, ms:
  /// at most 100 ms, so that signals and the progress line are served.
  std::chrono::milliseconds wait(Clock::time_point now) const noexcept;
  /// --trigger: when the batch ends (the next one may begin); meaningless without --trigger.
  Clock::time_point end_time() const noexcept { return end_; }
  /// Whether --trigger was given.
  bool timed() const noexcept { return o_.interval.count() > 0; }

 private:
  Options o_;
  Clock::time_point query_start_, start_, last_, end_;
};

}  // namespace sfcrime
