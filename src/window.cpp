#include "sfcrime/window.hpp"

#include <algorithm>

namespace sfcrime {

std::vector<std::int64_t> WindowSpec::windows_for(std::int64_t t) const {
  std::vector<std::int64_t> starts;
  // The latest window holding t starts at the last slide boundary at or before t; earlier ones
  // step back by the slide while they still end after t.
  const std::int64_t last = floor_div(t, slide_ms) * slide_ms;
  std::int64_t first = last;
  while (first - slide_ms + size_ms > t) first -= slide_ms;
  for (std::int64_t s = first; s <= last; s += slide_ms) starts.push_back(s);
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

void WindowTable::add(std::int64_t event_ms, std::string_view group, std::string_view disposition) {
  const std::int64_t last = floor_div(event_ms, spec_.slide_ms) * spec_.slide_ms;
  for (std::int64_t s = last; s + spec_.size_ms > event_ms; s -= spec_.slide_ms) {
    WindowAgg& w = windows_[s];
    ++w.total;
    auto it = w.groups.find(group);
    if (it == w.groups.end()) {
      it = w.groups.emplace(std::string(group), GroupStats{}).first;
      ++rows_;
    }
    it->second.add(disposition);
  }
}

std::vector<WindowRow> WindowTable::sorted_rows(const WindowAgg& w) {
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
