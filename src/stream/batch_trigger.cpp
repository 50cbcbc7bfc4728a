#include "sfcrime/stream/batch_trigger.hpp"

#include <algorithm>

namespace sfcrime {

void BatchTrigger::begin(Clock::time_point now) noexcept {
  start_ = last_ = now;
  if (timed()) end_ = query_start_ + ((now - query_start_) / o_.interval + 1) * o_.interval;
}

bool BatchTrigger::due(Clock::time_point now, std::uint64_t records, bool caught_up) const noexcept {
  if (timed()) return now >= end_;
  if (full(records)) return true;
  if (o_.input_knows_caught_up ? caught_up : now - start_ >= kMaxAge) return true;
  return now - last_ >= kQuiet;
}

std::chrono::milliseconds BatchTrigger::wait(Clock::time_point now) const noexcept {
  constexpr std::chrono::milliseconds most{100};
  if (!timed()) return most;
  return std::clamp(std::chrono::ceil<std::chrono::milliseconds>(end_ - now), std::chrono::milliseconds(0), most);
}

}  // namespace sfcrime
