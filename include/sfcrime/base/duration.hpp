#pragma once
/// Durations on the command line: window lengths, timeouts.
#include <chrono>
#include <string>
#include <string_view>

namespace sfcrime {

/// Parses a positive duration written as an integer and one unit: `s` seconds, `m` minutes,
/// `h` hours, `d` days (e.g. "90s", "30m", "1h", "1d"), the units Spark's window() accepts in
/// their short form. Returns milliseconds.
/// @param what names the option in the error message, e.g. "--window".
/// @param allow_zero accept "0s", "0m", ... (a watermark with no delay); else 0 is an error.
/// @throws UsageError for anything else ("30x", "m", "-5m", "0m" unless allowed, "1.5h", overflow).
std::chrono::milliseconds parse_duration(std::string_view text, std::string_view what, bool allow_zero = false);

/// Formats milliseconds in the largest unit that divides them exactly: 1800000 -> "30m",
/// 90000 -> "90s", 1500 -> "1500ms".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace sfcrime
