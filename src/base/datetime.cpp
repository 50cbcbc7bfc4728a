#include "sfcrime/base/datetime.hpp"

#include <cstdio>

namespace sfcrime {

// http://howardhinnant.github.io/date_algorithms.html#days_from_civil
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {
// http://howardhinnant.github.io/date_algorithms.html#civil_from_days
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : days[m - 1];
}

// Reads exactly n digits at s[pos..pos+n) into v.
bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& v) {
  if (pos + n > s.size()) return false;
  v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}
}  // namespace

std::optional<std::int64_t> parse_naive_datetime(std::string_view s, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<std::int64_t> {
    if (why) *why = reason;
    return std::nullopt;
  };
  unsigned y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se))
    return fail("expected YYYY-MM-DDTHH:MM:SS[.fff]");
  if (mo < 1 || mo > 12) return fail("month out of range");
  if (d < 1 || d > days_in_month(y, mo)) return fail("day out of range for the month");
  if (h > 23) return fail("hour out of range");
  if (mi > 59) return fail("minute out of range");
  if (se > 59) return fail("second out of range");
  unsigned ms = 0;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 3) ms = ms * 10 + static_cast<unsigned>(s[pos] - '0');
      ++pos;
      ++n;
    }
    if (n == 0 || n > 9) return fail("expected 1 to 9 digits after the decimal point");
    for (; n < 3; ++n) ms *= 10;
  }
  if (pos != s.size()) return fail("unexpected characters after the time (a zone is not accepted: times are naive)");
  const std::int64_t days = days_from_civil(y, mo, d);
  return ((days * 24 + h) * 60 + mi) * 60'000 + static_cast<std::int64_t>(se) * 1000 + ms;
}

std::string format_naive_datetime(std::int64_t ms) {
  std::int64_t days = ms / 86'400'000;
  std::int64_t rem = ms % 86'400'000;
  if (rem < 0) {
    rem += 86'400'000;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  const auto h = static_cast<unsigned>(rem / 3'600'000);
  const auto mi = static_cast<unsigned>(rem / 60'000 % 60);
  const auto se = static_cast<unsigned>(rem / 1000 % 60);
  const auto milli = static_cast<unsigned>(rem % 1000);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u", static_cast<long long>(y), m, d, h, mi, se);
  if (milli != 0) n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%03u", milli);
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace sfcrime
