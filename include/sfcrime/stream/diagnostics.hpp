#pragma once
/// What `sfcrime aggregate` tells a user when its answer differs from the batch answer, or may be
/// not what was meant: too many late records (with the measured cause and the remedies), a --by
/// field that no record has. Pure functions and small state; the command prints what they return.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sfcrime/stream/engine.hpp"

namespace sfcrime {

/// What the engine measured about late records over a whole run.
struct LateFacts {
  std::uint64_t valid = 0;               ///< valid records read (late ones included)
  std::uint64_t late = 0;                ///< records all of whose windows had closed
  std::int64_t max_disorder_ms = 0;      ///< StreamEngine::max_disorder_ms(): in processing order
  bool newest_first = false;             ///< StreamEngine::newest_came_first()
  std::int64_t watermark_delay_ms = 0;   ///< --watermark, ms
  /// StreamInput::partition_disorder_ms(): each partition in its own order (a topic), or none.
  std::optional<std::int64_t> partition_disorder_ms;
};

/// The share of late records above which the closing summary explains them: more than 1 %.
constexpr double kLateWarnShare = 0.01;
/// The longest --watermark the command takes (36500d), ms: a longer disorder gets no proposal.
constexpr std::int64_t kMaxWatermarkMs = 36'500LL * 86'400'000;

/// The warning for a run whose late records are more than kLateWarnShare of its valid records,
/// else std::nullopt. It gives the count and share, the measured cause (how far out of
/// event-time order the input was, and whether the newest record came first) and the remedies:
/// `produce --order event-time`, and a --watermark at least as long as the disorder (rounded up
/// to a whole day, hour, minute or second). When every partition was in order within --watermark
/// but the processing order was not (partitions read far apart in event time: records produced
/// while the query ran), it says that and names the watermark that covers the processing order.
/// When even that is within --watermark (a restored watermark), it says the windows had closed.
/// One line, no trailing newline, no "sfcrime" prefix.
std::optional<std::string> late_warning(const LateFacts& facts);

/// A duration for people, largest units first, zero parts left out: 90d 14h 46m, 2h, 1500ms.
std::string describe_duration(std::int64_t ms);

/// A duration option value at least `ms` long in one whole unit (d, h, m or s; rounded up in the
/// largest unit not longer than `ms`, then written in the largest unit that divides it), as
/// --watermark takes it: 7822800000 -> "91d", 5400000 -> "2h", 3599000 -> "1h", 0 -> "0s".
std::string duration_at_least(std::int64_t ms);

/// Notices --by fields that no valid record of a micro-batch had (missing or null): the rows then
/// all carry null for that field, which usually means a misspelt field name.
class ByFieldCheck {
 public:
  /// `by` as StreamSpec::by; fields past the 64th are not checked (Extracted::by_present).
  explicit ByFieldCheck(std::vector<std::string> by);
  /// Takes one record of the batch; only valid ones count. `text` is the record's JSON text (the
  /// first valid record of a batch is kept, to name its fields).
  void see(const Extracted& x, std::string_view text);
  /// Ends the batch: one warning per field that no valid record of the batch had (missing or
  /// null), each field at most once per run, naming the fields of the batch's first valid record,
  /// e.g. "--by field 'dispositon' is missing or null in every record of batch 0 (its rows show
  /// null); the first record has: crime_id, ...". One line each,
  /// no trailing newline, no "sfcrime" prefix.
  std::vector<std::string> end_batch(std::int64_t batch_id);

 private:
  std::vector<std::string> by_;
  std::vector<bool> warned_;
  std::uint64_t seen_ = 0;
  bool any_ = false;
  std::string sample_;
};

}  // namespace sfcrime
