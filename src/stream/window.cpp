#include "sfcrime/stream/window.hpp"

#include <algorithm>

namespace sfcrime {

std::vector<std::int64_t> WindowSpec::windows_for(std::int64_t t) const {
  std::vector<std::int64_t> starts;
  for_each_window(t, [&](std::int64_t s) { starts.push_back(s); });
  return starts;
}

std::string_view usual_disposition(const std::vector<std::pair<std::string, std::uint64_t>>& counts) {
  const std::pair<std::string, std::uint64_t>* best = nullptr;
  for (const auto& c : counts) {
    if (!best || c.second > best->second || (c.second == best->second && c.first < best->first)) best = &c;
  }
  return best ? std::string_view(best->first) : std::string_view();
}

void GroupStats::add(std::string_view disposition) {
  ++count;
  for (auto& [code, n] : dispositions) {
    if (code == disposition) {
      ++n;
      return;
    }
  }
  dispositions.emplace_back(std::string(disposition), 1);
}

std::vector<WindowRow> sorted_rows(const WindowAgg& w) {
  std::vector<WindowRow> rows;
  rows.reserve(w.groups.size());
  for (const auto& [g, s] : w.groups) rows.push_back({g, &s});
  std::sort(rows.begin(), rows.end(), [](const WindowRow& a, const WindowRow& b) {
    if (a.stats->count != b.stats->count) return a.stats->count > b.stats->count;
    return a.group < b.group;
  });
  return rows;
}

}  // namespace sfcrime
