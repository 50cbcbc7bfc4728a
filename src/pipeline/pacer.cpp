#include "sfcrime/pipeline/pacer.hpp"

#include <algorithm>

namespace sfcrime {

namespace {
Pacer::Clock::time_point after(Pacer::Clock::time_point t0, double seconds) {
  return t0 + std::chrono::duration_cast<Pacer::Clock::duration>(std::chrono::duration<double>(seconds));
}
}  // namespace

Pacer::Clock::time_point Pacer::due(std::uint64_t index, std::optional<std::int64_t> event_ms) {
  const Clock::time_point now = Clock::now();
  Clock::time_point due = rate_ ? after(t0_, static_cast<double>(index) / static_cast<double>(rate_)) : now;
  if (speedup_ > 0 && event_ms) {
    if (!replay_e0_) {
      replay_e0_ = *event_ms;
      replay_t0_ = now;
    } else {
      const double secs = static_cast<double>(*event_ms - *replay_e0_) / 1000.0 / speedup_;
      if (secs > 0) due = std::max(due, after(replay_t0_, std::min(secs, kMaxReplayWaitSeconds)));
    }
  }
  return due;
}

}  // namespace sfcrime
