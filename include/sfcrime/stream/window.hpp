#pragma once
/// The window engine: event-time windows and their per-group state.
///
/// Windows are half-open [start, end), aligned to the epoch of the naive calendar as Spark's
/// window() and Kafka Streams' TimeWindows are: a tumbling window of size S holding event time t
/// starts at floor(t / S) * S. A hopping window (size S, slide D <= S) set holds t in every window
/// whose start is a multiple of D in (t - S, t]. Times are milliseconds (datetime.hpp).
///
/// The streaming engine (engine.hpp) keeps this state per window start in an ordered map, so that
/// the watermark closes and frees windows oldest first.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sfcrime {

/// floor(a / b) for b > 0, also for negative a (times before 1970).
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/// Window length and slide in milliseconds; tumbling when slide_ms == size_ms.
struct WindowSpec {
  std::int64_t size_ms = 30 * 60'000;
  std::int64_t slide_ms = 30 * 60'000;

  /// Calls f(start) for every window that holds event time `t_ms`, oldest first, without
  /// allocating (the per-record path). The one place windows are enumerated.
  template <class F>
  void for_each_window(std::int64_t t_ms, F&& f) const {
    // The latest window holding t starts at the last slide boundary at or before t; earlier ones
    // step back by the slide while they still end after t.
    const std::int64_t last = floor_div(t_ms, slide_ms) * slide_ms;
    std::int64_t first = last;
    while (first - slide_ms + size_ms > t_ms) first -= slide_ms;
    for (std::int64_t s = first; s <= last; s += slide_ms) f(s);
  }

  /// Starts of every window that holds event time `t_ms`, oldest first
  /// (size_ms / slide_ms of them, rounded up, when the slide divides the size).
  std::vector<std::int64_t> windows_for(std::int64_t t_ms) const;
};

/// The usual disposition: the most frequent code; a tie goes to the lexically smallest code
/// (byte-wise comparison). Returns "" for no codes.
/// @param counts (code, count) pairs, in any order, codes distinct.
std::string_view usual_disposition(const std::vector<std::pair<std::string, std::uint64_t>>& counts);

/// Counts of one group (e.g. one crime type) inside one window.
struct GroupStats {
  std::uint64_t count = 0;
  /// (disposition code, count); a short list: the data has 28 codes in all.
  std::vector<std::pair<std::string, std::uint64_t>> dispositions;
  /// The micro-batch that last changed this row (-1: none yet); for the update output mode.
  std::int64_t changed_in = -1;

  void add(std::string_view disposition);
  std::string_view usual() const { return usual_disposition(dispositions); }
};

/// Transparent hash so that lookups by std::string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// One window's state: total records and per-group statistics.
struct WindowAgg {
  std::uint64_t total = 0;
  /// The micro-batch that last added to this window (-1: none since it was created or restored);
  /// the changelog (aggregate --exactly-once) writes the windows changed in each batch.
  std::int64_t changed_in = -1;
  std::unordered_map<std::string, GroupStats, StringHash, std::equal_to<>> groups;
};

/// One output row: a group within a window.
struct WindowRow {
  /// The encoded group key (engine.hpp, group_key); views the window's state, so it is valid
  /// until that state changes (the next record or batch).
  std::string_view group;
  const GroupStats* stats = nullptr;
};

/// The rows of one window ordered by count (descending), then group key (ascending, byte-wise).
std::vector<WindowRow> sorted_rows(const WindowAgg& w);

}  // namespace sfcrime
