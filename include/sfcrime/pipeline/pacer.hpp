#pragma once
/// When `produce` may send each record: --rate and --speedup.
#include <chrono>
#include <cstdint>
#include <optional>

namespace sfcrime {

/// The pace of sending. --rate N: record k (0-based, counted from start()) leaves no earlier than
/// k / N seconds after start(). --speedup X (a replay in event time): the first record paced fixes
/// (its event time e0, the clock t0); a record with event time e leaves no earlier than
/// t0 + (e - e0) / X seconds, or at once when that is not ahead (so in file order, newest first,
/// everything after the first goes at once). With both, the later time applies.
class Pacer {
 public:
  using Clock = std::chrono::steady_clock;
  /// @param rate records per second, 0 for no limit. @param speedup seconds of event time per
  ///        second, 0 for no replay.
  Pacer(std::uint64_t rate, double speedup) : rate_(rate), speedup_(speedup) {}

  /// Starts counting --rate's records from `t0` (the sending phase of --order event-time starts
  /// a count of its own); the replay's (e0, t0) is kept.
  void start(Clock::time_point t0) noexcept { t0_ = t0; }
  /// When record `index` (0-based since start()) may leave: by --rate alone (`event_ms` empty), or
  /// by both limits.
  Clock::time_point due(std::uint64_t index, std::optional<std::int64_t> event_ms);

  bool rate_limited() const noexcept { return rate_ > 0; }
  bool replaying() const noexcept { return speedup_ > 0; }

  /// The longest wait the replay schedules for one record, s (about 31 years): keeps the time
  /// arithmetic far from overflowing steady_clock's nanosecond count whatever the event times and
  /// the factor.
  static constexpr double kMaxReplayWaitSeconds = 1e9;

 private:
  std::uint64_t rate_;
  double speedup_;
  Clock::time_point t0_ = Clock::now();
  std::optional<std::int64_t> replay_e0_;
  Clock::time_point replay_t0_;
};

}  // namespace sfcrime
