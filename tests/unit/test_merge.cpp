#define BOOST_TEST_MODULE merge
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include "sfcrime/stream/merge.hpp"

// The event-time merge of docs/streaming.md ("Input order"), with hand-computed expectations.

namespace {

using sfcrime::EventTimeMerge;
using sfcrime::Extracted;
using sfcrime::LaneState;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

Extracted at(std::int64_t t) {
  Extracted x;
  x.kind = Extracted::Kind::valid;
  x.event_ms = t;
  return x;
}

Extracted invalid() { return Extracted{}; }

/// Takes every record the merge gives, in order, as (partition, payload); `states` answers for
/// empty lanes (default: caught up).
std::vector<std::pair<int, int>> drain(EventTimeMerge<int>& m, const std::vector<std::int32_t>& parts,
                                       std::map<std::int32_t, LaneState> states, Clock::time_point now) {
  std::vector<std::pair<int, int>> out;
  for (;;) {
    const auto next = m.next(parts, [&](std::int32_t p) {
      const auto it = states.find(p);
      return it == states.end() ? LaneState{true, false} : it->second;
    }, now);
    if (!next) return out;
    out.emplace_back(*next, m.pop(*next).payload);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(smallest_event_time_first_ties_to_the_lower_partition_invalid_first) {
  EventTimeMerge<int> m(2s);
  const auto now = Clock::now();
  m.push(0, 1, at(10), now);
  m.push(0, 2, at(30), now);
  m.push(1, 3, at(20), now);
  m.push(1, 4, at(30), now);
  m.push(2, 5, invalid(), now);
  m.push(2, 6, at(5), now);
  const auto got = drain(m, {0, 1, 2}, {}, now);
  BOOST_TEST((got == std::vector<std::pair<int, int>>{{2, 5}, {2, 6}, {0, 1}, {1, 3}, {0, 2}, {1, 4}}));
  BOOST_TEST(m.empty());
}

BOOST_AUTO_TEST_CASE(an_empty_lane_is_waited_for_unless_caught_up_or_idle_and_not_lagging) {
  EventTimeMerge<int> m(2s);
  const auto t0 = Clock::now();
  m.push(0, 1, at(10), t0);
  // Partition 1 has nothing and is neither caught up nor lagging: waited for until idle.
  const LaneState open{false, false}, lagging{false, true};
  BOOST_TEST(!m.next(std::vector<std::int32_t>{0, 1}, [&](std::int32_t) { return open; }, t0).has_value());
  BOOST_TEST(!m.next(std::vector<std::int32_t>{0, 1}, [&](std::int32_t) { return open; }, t0 + 1999ms).has_value());
  BOOST_TEST(m.next(std::vector<std::int32_t>{0, 1}, [&](std::int32_t) { return open; }, t0 + 2s).value() == 0);
  // Lagging: always waited for.
  BOOST_TEST(!m.next(std::vector<std::int32_t>{0, 1}, [&](std::int32_t) { return lagging; }, t0 + 1h).has_value());
  // Caught up: left out at once, and counted as heard from.
  const LaneState caught{true, false};
  BOOST_TEST(m.next(std::vector<std::int32_t>{0, 1}, [&](std::int32_t) { return caught; }, t0 + 1h).value() == 0);
  BOOST_TEST((m.last_seen(1, t0) == t0 + 1h));
}

BOOST_AUTO_TEST_CASE(the_state_callback_may_fill_the_lane) {
  EventTimeMerge<int> m(2s);
  const auto now = Clock::now();
  m.push(0, 1, at(50), now);
  int asked = 0;
  const auto next = m.next(std::vector<std::int32_t>{0, 1}, [&](std::int32_t p) {
    ++asked;
    m.push(p, 2, at(40), now);  // what the partition's queue held
    return LaneState{};
  }, now);
  BOOST_TEST(asked == 1);
  BOOST_TEST(next.value() == 1);
  BOOST_TEST(m.pop(1).payload == 2);
}

BOOST_AUTO_TEST_CASE(a_dropped_partition_loses_its_records) {
  EventTimeMerge<int> m(2s);
  const auto now = Clock::now();
  m.push(0, 1, at(10), now);
  m.push(1, 2, at(5), now);
  m.drop(1);
  BOOST_TEST(m.buffered(1) == 0u);
  BOOST_TEST((drain(m, {0}, {}, now) == std::vector<std::pair<int, int>>{{0, 1}}));
}
