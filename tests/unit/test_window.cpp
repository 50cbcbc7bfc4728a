#define BOOST_TEST_MODULE window
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "sfcrime/stream/engine.hpp"
#include "sfcrime/stream/window.hpp"

namespace {

using sfcrime::WindowSpec;
using Starts = std::vector<std::int64_t>;
using Counts = std::vector<std::pair<std::string, std::uint64_t>>;

constexpr std::int64_t kMin = 60'000;
constexpr std::int64_t kHour = 60 * kMin;

WindowSpec tumbling(std::int64_t size) { return WindowSpec{size, size}; }
WindowSpec hopping(std::int64_t size, std::int64_t slide) { return WindowSpec{size, slide}; }

/// Milliseconds since the epoch of a naive date-time, from C++20 <chrono>.
std::int64_t ms_of(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  const sys_days date{year{y} / month{mo} / day{d}};
  return duration_cast<milliseconds>((date + hours{h} + minutes{mi} + seconds{s}).time_since_epoch()).count();
}

/// Rows of a window as (group, count, usual disposition).
struct Row {
  std::string group;
  std::uint64_t count;
  std::string usual;
  bool operator==(const Row&) const = default;
};
std::ostream& operator<<(std::ostream& o, const Row& r) { return o << "{" << r.group << "," << r.count << "," << r.usual << "}"; }

/// The encoded group key of a single --by value (engine.hpp, group_key).
std::string key(std::string_view group) {
  std::string k;
  sfcrime::group_key::append_string(k, group);
  return k;
}

std::vector<Row> rows_of(const sfcrime::WindowAgg& w) {
  std::vector<Row> out;
  std::vector<std::string> scratch;
  for (const auto& r : sfcrime::sorted_rows(w)) {
    const auto parts = sfcrime::group_key::decode(r.group, scratch);
    out.push_back({std::string(parts.at(0).value()), r.stats->count, std::string(r.stats->usual())});
  }
  return out;
}

/// The engine with a watermark that never closes a window: the whole stream's state.
class WindowTable {
 public:
  explicit WindowTable(WindowSpec spec) : engine_(make_spec(spec)) {}
  void add(std::int64_t t, std::string_view group, std::string_view disposition) {
    sfcrime::Extracted x;
    x.kind = sfcrime::Extracted::Kind::valid;
    x.event_ms = t;
    x.group = key(group);
    x.disposition = disposition;
    BOOST_REQUIRE(engine_.add(x));
  }
  const std::map<std::int64_t, sfcrime::WindowAgg>& windows() const { return engine_.windows(); }
  std::uint64_t rows() const { return engine_.rows_total(); }

 private:
  static sfcrime::StreamSpec make_spec(WindowSpec w) {
    sfcrime::StreamSpec s;
    s.windows = w;
    s.watermark_delay_ms = sfcrime::StreamEngine::kMaxTime;
    return s;
  }
  sfcrime::StreamEngine engine_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// floor_div
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(floor_div_rounds_down) {
  static_assert(sfcrime::floor_div(7, 2) == 3);
  static_assert(sfcrime::floor_div(-7, 2) == -4);
  static_assert(sfcrime::floor_div(-8, 2) == -4);
  static_assert(sfcrime::floor_div(0, 5) == 0);
  static_assert(sfcrime::floor_div(-1, 5) == -1);
  BOOST_TEST(sfcrime::floor_div(-1, 30 * kMin) == -1);
}

// ---------------------------------------------------------------------------------------------
// Tumbling windows
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(tumbling_assignment_and_boundaries) {
  const auto spec = tumbling(30 * kMin);
  BOOST_TEST(spec.windows_for(0) == Starts{0}, boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(1) == Starts{0}, boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(30 * kMin - 1) == Starts{0}, boost::test_tools::per_element());
  // [start, end) is half-open: an event at the end belongs to the next window.
  BOOST_TEST(spec.windows_for(30 * kMin) == Starts{30 * kMin}, boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(30 * kMin + 1) == Starts{30 * kMin}, boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(60 * kMin) == Starts{60 * kMin}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tumbling_epoch_alignment) {
  const auto spec = tumbling(30 * kMin);
  // 09:17 falls in [09:00, 09:30); 09:30 starts its own window; 09:59:59 is in [09:30, 10:00).
  BOOST_TEST(spec.windows_for(ms_of(2018, 10, 2, 9, 17)) == Starts{ms_of(2018, 10, 2, 9, 0)},
             boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(ms_of(2018, 10, 2, 9, 30)) == Starts{ms_of(2018, 10, 2, 9, 30)},
             boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(ms_of(2018, 10, 2, 9, 59, 59)) == Starts{ms_of(2018, 10, 2, 9, 30)},
             boost::test_tools::per_element());
  // A 1 day window starts at midnight of the naive calendar; 7 h windows at multiples of 7 h
  // since 1970-01-01T00:00 (not at midnight).
  BOOST_TEST(tumbling(24 * kHour).windows_for(ms_of(2018, 10, 2, 23, 59, 59)) == Starts{ms_of(2018, 10, 2)},
             boost::test_tools::per_element());
  const std::int64_t t = ms_of(2018, 10, 2, 9, 17);
  const auto seven = tumbling(7 * kHour).windows_for(t);
  BOOST_REQUIRE_EQUAL(seven.size(), 1u);
  BOOST_TEST(seven[0] % (7 * kHour) == 0);
  BOOST_TEST(seven[0] <= t);
  BOOST_TEST(t < seven[0] + 7 * kHour);
  // 90 s windows: 2018-10-02T09:17:00 is 1538471820 s after the epoch; 1538471820 / 90 = 17094131.33.
  BOOST_TEST(tumbling(90'000).windows_for(t) == Starts{17094131LL * 90'000}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(tumbling_negative_times) {
  const auto spec = tumbling(30 * kMin);
  BOOST_TEST(spec.windows_for(-1) == Starts{-30 * kMin}, boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(-30 * kMin) == Starts{-30 * kMin}, boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(-30 * kMin - 1) == Starts{-60 * kMin}, boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(-30 * kMin + 1) == Starts{-30 * kMin}, boost::test_tools::per_element());
  // 1969-12-31T23:45 is in [23:30, 00:00).
  BOOST_TEST(spec.windows_for(ms_of(1969, 12, 31, 23, 45)) == Starts{ms_of(1969, 12, 31, 23, 30)},
             boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(ms_of(1950, 6, 15, 6, 7, 8)) == Starts{ms_of(1950, 6, 15, 6, 0)},
             boost::test_tools::per_element());
}

// ---------------------------------------------------------------------------------------------
// Hopping windows
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(hopping_30m_slide_10m) {
  const auto spec = hopping(30 * kMin, 10 * kMin);
  // t = 12:05 -> windows [11:40,12:10) [11:50,12:20) [12:00,12:30), oldest first.
  const std::int64_t t = 12 * kHour + 5 * kMin;
  BOOST_TEST(spec.windows_for(t) == (Starts{11 * kHour + 40 * kMin, 11 * kHour + 50 * kMin, 12 * kHour}),
             boost::test_tools::per_element());
  // On a slide boundary: 12:00 is in [11:40,12:10) [11:50,12:20) [12:00,12:30), not [11:30,12:00).
  BOOST_TEST(spec.windows_for(12 * kHour) == (Starts{11 * kHour + 40 * kMin, 11 * kHour + 50 * kMin, 12 * kHour}),
             boost::test_tools::per_element());
  // Just before it.
  BOOST_TEST(spec.windows_for(12 * kHour - 1) ==
                 (Starts{11 * kHour + 30 * kMin, 11 * kHour + 40 * kMin, 11 * kHour + 50 * kMin}),
             boost::test_tools::per_element());
  // Around the epoch.
  BOOST_TEST(spec.windows_for(0) == (Starts{-20 * kMin, -10 * kMin, 0}), boost::test_tools::per_element());
  BOOST_TEST(spec.windows_for(-1) == (Starts{-30 * kMin, -20 * kMin, -10 * kMin}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(hopping_every_window_holds_t) {
  // For many t and specs: the result is every multiple of the slide in (t - size, t], ascending.
  const std::pair<std::int64_t, std::int64_t> specs[] = {{30 * kMin, 10 * kMin}, {25 * kMin, 10 * kMin},
                                                         {60 * kMin, 7 * kMin},  {10 * kMin, 10 * kMin},
                                                         {1000, 300}};
  for (auto [size, slide] : specs) {
    const WindowSpec spec{size, slide};
    for (std::int64_t t = -3 * size - 17; t < 3 * size; t += size / 13 + 1) {
      Starts expected;
      // Brute force: walk the multiples of slide from well below.
      for (std::int64_t s = (-10 * size / slide - 10) * slide; s <= t; s += slide)
        if (s > t - size) expected.push_back(s);
      const auto got = spec.windows_for(t);
      if (got != expected) {
        BOOST_TEST_INFO("size " << size << " slide " << slide << " t " << t);
        BOOST_TEST(got == expected, boost::test_tools::per_element());
        return;
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(hopping_slide_not_dividing_size) {
  const auto spec = hopping(25 * kMin, 10 * kMin);
  // t = 5m: multiples of 10m in (-20m, 5m] -> -10m, 0 (window [-20m, 5m) ends at t: excluded).
  BOOST_TEST(spec.windows_for(5 * kMin) == (Starts{-10 * kMin, 0}), boost::test_tools::per_element());
  // t = 4m: (-21m, 4m] -> -20m, -10m, 0.
  BOOST_TEST(spec.windows_for(4 * kMin) == (Starts{-20 * kMin, -10 * kMin, 0}), boost::test_tools::per_element());
  // t = 25m: (0, 25m] -> 10m, 20m.
  BOOST_TEST(spec.windows_for(25 * kMin) == (Starts{10 * kMin, 20 * kMin}), boost::test_tools::per_element());
}

// ---------------------------------------------------------------------------------------------
// usual_disposition
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(usual_disposition_rule) {
  BOOST_TEST(sfcrime::usual_disposition(Counts{}) == "");
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"CIT", 1}}) == "CIT");
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"ADV", 2}, {"CIT", 5}, {"HAN", 3}}) == "CIT");
  // Ties go to the lexically smallest code, in any input order.
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"HAN", 4}, {"CIT", 4}, {"ADV", 1}}) == "CIT");
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"CIT", 4}, {"HAN", 4}}) == "CIT");
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"ND", 2}, {"GOA", 2}, {"ADV", 2}, {"CAN", 2}}) == "ADV");
  // Byte-wise: uppercase sorts before lowercase, a prefix before its extensions, ASCII before
  // UTF-8 multi-byte sequences (bytes >= 0x80 compare as unsigned).
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"a", 3}, {"Z", 3}}) == "Z");
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"CITX", 3}, {"CIT", 3}}) == "CIT");
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"\xC3\xA9", 1}, {"z", 1}}) == "z");
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"", 2}, {"A", 2}}) == "");
  // The largest count wins even when its code sorts last.
  BOOST_TEST(sfcrime::usual_disposition(Counts{{"AAA", 1}, {"ZZZ", 2}}) == "ZZZ");
}

BOOST_AUTO_TEST_CASE(group_stats_add) {
  sfcrime::GroupStats g;
  BOOST_TEST(g.usual() == "");
  for (const char* d : {"HAN", "CIT", "HAN", "CIT", "ADV"}) g.add(d);
  BOOST_TEST(g.count == 5u);
  BOOST_TEST(g.dispositions.size() == 3u);
  BOOST_TEST(g.usual() == "CIT");  // HAN 2, CIT 2: tie -> CIT
  g.add("HAN");
  BOOST_TEST(g.usual() == "HAN");
}

// ---------------------------------------------------------------------------------------------
// Window state (the engine with no watermark)
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(table_tumbling_totals_and_distinct) {
  WindowTable table(tumbling(30 * kMin));
  const std::int64_t w0 = ms_of(2018, 10, 2, 9, 0);
  const std::int64_t w1 = ms_of(2018, 10, 2, 9, 30);
  table.add(ms_of(2018, 10, 2, 9, 0), "Traffic Stop", "CIT");
  table.add(ms_of(2018, 10, 2, 9, 17), "Traffic Stop", "HAN");
  table.add(ms_of(2018, 10, 2, 9, 29, 59), "Passing Call", "HAN");
  table.add(ms_of(2018, 10, 2, 9, 30), "Traffic Stop", "ADV");  // window end -> next window
  table.add(ms_of(2018, 10, 2, 9, 45), "Traffic Stop", "ADV");
  table.add(ms_of(2018, 10, 2, 9, 59), "Fight", "ND");

  const auto& ws = table.windows();
  BOOST_REQUIRE_EQUAL(ws.size(), 2u);
  BOOST_TEST(ws.begin()->first == w0);
  BOOST_TEST(std::next(ws.begin())->first == w1);
  const auto& a = ws.at(w0);
  const auto& b = ws.at(w1);
  BOOST_TEST(a.total == 3u);
  BOOST_TEST(a.groups.size() == 2u);  // distinct crime types
  BOOST_TEST(b.total == 3u);
  BOOST_TEST(b.groups.size() == 2u);
  BOOST_TEST(a.groups.at(key("Traffic Stop")).count == 2u);
  BOOST_TEST(a.groups.at(key("Traffic Stop")).usual() == "CIT");  // CIT 1, HAN 1: tie -> CIT
  BOOST_TEST(a.groups.at(key("Passing Call")).count == 1u);
  BOOST_TEST(b.groups.at(key("Traffic Stop")).count == 2u);
  BOOST_TEST(b.groups.at(key("Traffic Stop")).usual() == "ADV");
  BOOST_TEST(b.groups.at(key("Fight")).usual() == "ND");
  BOOST_TEST(table.rows() == 4u);
}

BOOST_AUTO_TEST_CASE(table_hopping_counts_each_record_in_every_window) {
  WindowTable table(hopping(30 * kMin, 10 * kMin));
  table.add(12 * kHour + 5 * kMin, "A", "X");   // windows 11:40 11:50 12:00
  table.add(12 * kHour + 15 * kMin, "B", "Y");  // windows 11:50 12:00 12:10
  table.add(12 * kHour + 15 * kMin, "A", "Y");  // windows 11:50 12:00 12:10
  const auto& ws = table.windows();
  Starts starts;
  for (const auto& [s, w] : ws) starts.push_back(s);
  BOOST_TEST(starts == (Starts{11 * kHour + 40 * kMin, 11 * kHour + 50 * kMin, 12 * kHour, 12 * kHour + 10 * kMin}),
             boost::test_tools::per_element());
  BOOST_TEST(ws.at(11 * kHour + 40 * kMin).total == 1u);
  BOOST_TEST(ws.at(11 * kHour + 40 * kMin).groups.size() == 1u);
  BOOST_TEST(ws.at(11 * kHour + 50 * kMin).total == 3u);
  BOOST_TEST(ws.at(11 * kHour + 50 * kMin).groups.size() == 2u);
  BOOST_TEST(ws.at(12 * kHour).total == 3u);
  BOOST_TEST(ws.at(12 * kHour).groups.at(key("A")).count == 2u);
  BOOST_TEST(ws.at(12 * kHour).groups.at(key("A")).usual() == "X");  // X 1, Y 1 -> X
  BOOST_TEST(ws.at(12 * kHour + 10 * kMin).total == 2u);
  BOOST_TEST(ws.at(12 * kHour + 10 * kMin).groups.at(key("A")).usual() == "Y");
  // (window, group) rows: 11:40 {A}, 11:50 {A,B}, 12:00 {A,B}, 12:10 {A,B}.
  BOOST_TEST(table.rows() == 7u);
}

BOOST_AUTO_TEST_CASE(table_agrees_with_windows_for) {
  const WindowSpec spec = hopping(25 * kMin, 10 * kMin);
  WindowTable table(spec);
  std::map<std::int64_t, std::uint64_t> expected;
  for (std::int64_t t = -2 * kHour; t < 2 * kHour; t += 7 * kMin + 13'000) {
    table.add(t, "g", "d");
    for (auto s : spec.windows_for(t)) ++expected[s];
  }
  std::map<std::int64_t, std::uint64_t> got;
  for (const auto& [s, w] : table.windows()) got[s] = w.total;
  BOOST_TEST(got.size() == expected.size());
  BOOST_TEST((got == expected));
}

BOOST_AUTO_TEST_CASE(table_negative_times) {
  WindowTable table(tumbling(30 * kMin));
  table.add(-1, "A", "X");
  table.add(-30 * kMin, "A", "X");
  table.add(0, "A", "X");
  const auto& ws = table.windows();
  BOOST_REQUIRE_EQUAL(ws.size(), 2u);
  BOOST_TEST(ws.at(-30 * kMin).total == 2u);
  BOOST_TEST(ws.at(0).total == 1u);
}

BOOST_AUTO_TEST_CASE(sorted_rows_order) {
  WindowTable table(tumbling(30 * kMin));
  auto add = [&](const char* group, int n, const char* disposition) {
    for (int i = 0; i < n; ++i) table.add(5 * kMin, group, disposition);
  };
  add("Traffic Stop", 3, "CIT");
  add("Fight", 5, "ND");
  add("Alarm", 3, "HAN");
  add("alarm", 3, "HAN");  // lowercase sorts after uppercase, byte-wise
  add("Burglary", 1, "REP");
  add("Assault", 3, "ADV");
  BOOST_REQUIRE_EQUAL(table.windows().size(), 1u);
  const auto rows = rows_of(table.windows().begin()->second);
  const std::vector<Row> expected = {
      {"Fight", 5, "ND"},        {"Alarm", 3, "HAN"}, {"Assault", 3, "ADV"},
      {"Traffic Stop", 3, "CIT"}, {"alarm", 3, "HAN"}, {"Burglary", 1, "REP"},
  };
  BOOST_TEST(rows == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sorted_rows_empty_window) {
  sfcrime::WindowAgg w;
  BOOST_TEST(sfcrime::sorted_rows(w).empty());
}
