#include "sfcrime/base/duration.hpp"

#include <charconv>
#include <cstdint>
#include <limits>

#include "sfcrime/base/errors.hpp"

namespace sfcrime {

std::chrono::milliseconds parse_duration(std::string_view text, std::string_view what, bool allow_zero) {
  auto bad = [&] {
    return OptionError(what, "invalid duration '" + std::string(text) + "' for " + std::string(what) +
                      " (expected a " + (allow_zero ? "" : "positive ") +
                      "whole number and a unit s, m, h or d, e.g. 30m)");
  };
  if (text.size() < 2) throw bad();
  std::int64_t unit_ms = 0;
  switch (text.back()) {
    case 's': unit_ms = 1000; break;
    case 'm': unit_ms = 60'000; break;
    case 'h': unit_ms = 3'600'000; break;
    case 'd': unit_ms = 86'400'000; break;
    default: throw bad();
  }
  std::string_view digits = text.substr(0, text.size() - 1);
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || end != digits.data() + digits.size() || n < 0 || (n == 0 && !allow_zero) ||
      digits.front() == '+' || digits.front() == '-')
    throw bad();
  if (n > std::numeric_limits<std::int64_t>::max() / unit_ms) throw bad();
  return std::chrono::milliseconds(n * unit_ms);
}

std::string format_duration(std::chrono::milliseconds d) {
  const std::int64_t ms = d.count();
  struct Unit { std::int64_t ms; const char* suffix; };
  for (Unit u : {Unit{86'400'000, "d"}, Unit{3'600'000, "h"}, Unit{60'000, "m"}, Unit{1000, "s"}}) {
    if (ms != 0 && ms % u.ms == 0) return std::to_string(ms / u.ms) + u.suffix;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace sfcrime
