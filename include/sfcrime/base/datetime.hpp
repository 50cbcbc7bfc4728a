#pragma once
/// Naive (zone-less) wall-clock date-times, as the data's `call_date_time` holds them.
///
/// The timestamps are local San Francisco times without a zone and are treated as
/// naive: no zone conversion, so "2018-11-04T01:30:00" (which happened twice that night) is one
/// instant. Internally an instant is milliseconds since 1970-01-01T00:00:00 of the same naive
/// calendar (as if it were UTC), which is what epoch-aligned windows are computed on.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sfcrime {

/// Parses `YYYY-MM-DDTHH:MM:SS[.f...]` (a space may stand for the `T`; 1 to 9 fraction digits,
/// truncated to milliseconds; no zone suffix). Validates ranges (month 1-12, day within the
/// month, leap years, hour 0-23, minute 0-59, second 0-59).
/// @returns milliseconds since the naive epoch, or std::nullopt and a reason in `*why` (if given).
std::optional<std::int64_t> parse_naive_datetime(std::string_view text, std::string* why = nullptr);

/// Formats milliseconds since the naive epoch as `YYYY-MM-DDTHH:MM:SS` (ISO 8601 without zone),
/// with `.mmm` appended only when the milliseconds are not zero.
std::string format_naive_datetime(std::int64_t ms);

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;

}  // namespace sfcrime
