#include "sfcrime/stream/diagnostics.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <cstdio>

#include "sfcrime/base/duration.hpp"

namespace sfcrime {

namespace {
struct Unit {
  std::int64_t ms;
  const char* suffix;
};
constexpr Unit kUnits[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
}  // namespace

std::string describe_duration(std::int64_t ms) {
  if (ms < 1000) return std::to_string(ms) + "ms";
  std::string out;
  for (const Unit& u : kUnits) {
    if (ms < u.ms) continue;
    out += (out.empty() ? "" : " ") + std::to_string(ms / u.ms) + u.suffix;
    ms %= u.ms;
  }
  return out;
}

std::string duration_at_least(std::int64_t ms) {
  if (ms <= 0) return "0s";
  for (const Unit& u : kUnits)
    if (ms >= u.ms || u.ms == 1000)  // rounded up in that unit, then written in the largest exact one (60m: 1h)
      return format_duration(std::chrono::milliseconds((ms + u.ms - 1) / u.ms * u.ms));
  return "1s";
}

std::optional<std::string> late_warning(const LateFacts& f) {
  if (f.valid == 0 || static_cast<double>(f.late) <= kLateWarnShare * static_cast<double>(f.valid)) return std::nullopt;
  char share[32];
  // Rounded down: "100.0 %" only when every record was late.
  std::snprintf(share, sizeof share, "%.1f", std::floor(1000.0 * static_cast<double>(f.late) / static_cast<double>(f.valid)) / 10.0);
  std::string s = std::to_string(f.late) + " of " + std::to_string(f.valid) + " records (" + share +
                  " %) were late and are not in the answer: ";
  const std::string delay =
      f.watermark_delay_ms == 0 ? "0s" : format_duration(std::chrono::milliseconds(f.watermark_delay_ms));
  if (f.partition_disorder_ms && *f.partition_disorder_ms <= f.watermark_delay_ms &&
      f.max_disorder_ms > f.watermark_delay_ms) {
    s += "each partition was in event-time order within --watermark " + delay + ", but they were read up to " +
         describe_duration(f.max_disorder_ms) +
         " apart in event time (a partition that had caught up ran ahead of the others while records were still "
         "being produced); read the topic once it is complete";
    if (f.max_disorder_ms <= kMaxWatermarkMs)
      s += ", or give a --watermark of at least that (--watermark " + duration_at_least(f.max_disorder_ms) + ")";
  } else if (f.max_disorder_ms > f.watermark_delay_ms) {
    s += "the input was out of event-time order by up to " + describe_duration(f.max_disorder_ms);
    if (f.newest_first) s += " (the newest record came first)";
    s += ", more than --watermark " + delay + " allows; send it in event-time order (sfcrime produce --order "
         "event-time)";
    if (f.max_disorder_ms <= kMaxWatermarkMs)
      s += " or give a --watermark of at least that disorder (--watermark " + duration_at_least(f.max_disorder_ms) + ")";
    else
      s += " (no --watermark covers it: the longest is 36500d)";
  } else {
    s += "the records were out of order by at most " + describe_duration(f.max_disorder_ms) +
         ", within --watermark " + delay + ", but their windows had closed before they were read (a watermark "
         "restored from the group's state, or partitions read far apart in event time); see 'Late records' in "
         "man sfcrime-aggregate";
  }
  return s;
}

ByFieldCheck::ByFieldCheck(std::vector<std::string> by) : by_(std::move(by)), warned_(by_.size(), false) {}

void ByFieldCheck::see(const Extracted& x, std::string_view text) {
  if (x.kind != Extracted::Kind::valid) return;
  seen_ |= x.by_present;
  if (!any_) sample_.assign(text);
  any_ = true;
}

std::vector<std::string> ByFieldCheck::end_batch(std::int64_t batch_id) {
  std::vector<std::string> out;
  if (any_) {
    std::string fields;
    for (std::size_t i = 0; i < by_.size() && i < 64; ++i) {
      if (warned_[i] || (seen_ >> i) & 1U) continue;
      warned_[i] = true;
      if (fields.empty()) {
        boost::system::error_code ec;
        const boost::json::value v = boost::json::parse(sample_, ec);
        if (!ec && v.is_object())
          for (const auto& kv : v.get_object()) fields += (fields.empty() ? "" : ", ") + std::string(kv.key());
      }
      out.push_back("--by field '" + by_[i] + "' is missing or null in every record of batch " +
                    std::to_string(batch_id) + " (its rows show null); the first record has: " + fields);
    }
  }
  seen_ = 0;
  any_ = false;
  sample_.clear();
  return out;
}

}  // namespace sfcrime
