// Unit tests of stream/merge.hpp beyond test_merge.cpp: the order of the event-time merge
// (ties to the lowest partition, records without an event time first, lanes kept in offset
// order) checked against independent orders on random lanes, and when a lane is waited for:
// idle lanes (timed from when they were last heard from), caught-up lanes, lagging lanes.
#define BOOST_TEST_MODULE merge_order
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "sfcrime/stream/merge.hpp"

namespace {

using sfcrime::EventTimeMerge;
using sfcrime::Extracted;
using sfcrime::LaneState;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using Parts = std::vector<std::int32_t>;
using Out = std::vector<std::pair<std::int32_t, int>>;  // (partition, payload)

Extracted at(std::int64_t t) {
  Extracted x;
  x.kind = Extracted::Kind::valid;
  x.event_ms = t;
  return x;
}
Extracted invalid() { return Extracted{}; }
Extracted filtered(std::int64_t t) {
  Extracted x = at(t);
  x.kind = Extracted::Kind::filtered;
  return x;
}

const LaneState kCaughtUp{true, false}, kOpen{false, false}, kLagging{false, true};

/// Everything the merge gives while every empty lane is caught up.
template <class P>
Out drain(EventTimeMerge<P>& m, const Parts& parts, Clock::time_point now) {
  Out out;
  while (const auto p = m.next(parts, [](std::int32_t) { return kCaughtUp; }, now)) out.emplace_back(*p, m.pop(*p).payload);
  return out;
}

/// A record of the random tests: partition, offset within it, event time (nullopt: invalid).
struct Rec {
  std::int32_t partition;
  int offset;
  std::optional<std::int64_t> time;
};

/// Random lanes of `n` partitions (ids spread out, not 0..n-1), few distinct times so that ties
/// are common, some records without an event time.
std::vector<Rec> random_lanes(std::mt19937& rng, bool sorted_lanes) {
  std::uniform_int_distribution<int> nparts(1, 5), len(0, 12), time(0, 6), bad(0, 9);
  std::vector<Rec> recs;
  const int n = nparts(rng);
  for (int i = 0; i < n; ++i) {
    const std::int32_t p = i * 3 + 1;
    std::vector<std::optional<std::int64_t>> times;
    for (int k = len(rng); k > 0; --k) times.push_back(bad(rng) == 0 ? std::nullopt : std::optional<std::int64_t>(time(rng) * 100));
    if (sorted_lanes) std::sort(times.begin(), times.end());  // nullopt sorts first, as invalid records count
    for (std::size_t k = 0; k < times.size(); ++k) recs.push_back({p, static_cast<int>(k), times[k]});
  }
  return recs;
}

int payload(const Rec& r) { return r.partition * 1000 + r.offset; }

EventTimeMerge<int> merge_of(const std::vector<Rec>& recs, Parts& parts, Clock::time_point now) {
  EventTimeMerge<int> m(1s);
  // Pushed lane by lane in descending partition order: the push order must not matter.
  std::vector<Rec> order = recs;
  std::stable_sort(order.begin(), order.end(), [](const Rec& a, const Rec& b) { return a.partition > b.partition; });
  for (const Rec& r : order) m.push(r.partition, payload(r), r.time ? at(*r.time) : invalid(), now);
  parts.clear();
  for (const Rec& r : recs)
    if (std::find(parts.begin(), parts.end(), r.partition) == parts.end()) parts.push_back(r.partition);
  std::sort(parts.begin(), parts.end());
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ties_go_to_the_lowest_partition_whatever_the_push_order) {
  EventTimeMerge<int> m(1s);
  const auto now = Clock::now();
  m.push(12, 1, at(100), now);
  m.push(7, 2, at(100), now);
  m.push(3, 3, at(100), now);
  m.push(7, 4, at(100), now);
  BOOST_TEST((drain(m, {3, 7, 12}, now) == Out{{3, 3}, {7, 2}, {7, 4}, {12, 1}}));
}

BOOST_AUTO_TEST_CASE(records_without_event_time_first_and_tied_among_themselves) {
  EventTimeMerge<int> m(1s);
  const auto now = Clock::now();
  m.push(0, 1, at(-1'000'000), now);  // before 1970, still after an invalid record
  m.push(1, 2, invalid(), now);
  m.push(2, 3, invalid(), now);
  m.push(2, 4, at(5), now);
  BOOST_TEST((drain(m, {0, 1, 2}, now) == Out{{1, 2}, {2, 3}, {0, 1}, {2, 4}}));
}

BOOST_AUTO_TEST_CASE(filtered_records_go_by_their_event_time) {
  EventTimeMerge<int> m(1s);
  const auto now = Clock::now();
  m.push(0, 1, filtered(50), now);
  m.push(1, 2, at(10), now);
  m.push(1, 3, at(60), now);
  BOOST_TEST((drain(m, {0, 1}, now) == Out{{1, 2}, {0, 1}, {1, 3}}));
}

BOOST_AUTO_TEST_CASE(a_lane_keeps_its_offset_order) {
  // Only a lane's first record competes: a later, earlier-timed record waits its turn.
  EventTimeMerge<int> m(1s);
  const auto now = Clock::now();
  m.push(0, 1, at(30), now);
  m.push(0, 2, at(10), now);
  m.push(1, 3, at(20), now);
  BOOST_TEST((drain(m, {0, 1}, now) == Out{{1, 3}, {0, 1}, {0, 2}}));
}

BOOST_AUTO_TEST_CASE(sorted_lanes_merge_into_a_stable_sort) {
  // When each lane is in event-time order, the merge is the sort of all records by (time, with
  // invalid first; partition; offset).
  std::mt19937 rng(1);
  const auto now = Clock::now();
  for (int round = 0; round < 2000; ++round) {
    const std::vector<Rec> recs = random_lanes(rng, true);
    Parts parts;
    auto m = merge_of(recs, parts, now);
    std::vector<Rec> want = recs;
    std::sort(want.begin(), want.end(), [](const Rec& a, const Rec& b) {
      return std::tuple(a.time, a.partition, a.offset) < std::tuple(b.time, b.partition, b.offset);
    });
    Out expected;
    for (const Rec& r : want) expected.emplace_back(r.partition, payload(r));
    BOOST_TEST_REQUIRE((drain(m, parts, now) == expected), "round " << round);
    BOOST_TEST_REQUIRE(m.empty());
  }
}

BOOST_AUTO_TEST_CASE(unsorted_lanes_merge_by_their_heads) {
  // Any lanes: a naive merge written here: at each step the lane whose head is smallest, scanning
  // partitions from the highest down so that "<=" keeps the lowest on a tie.
  std::mt19937 rng(2);
  const auto now = Clock::now();
  for (int round = 0; round < 2000; ++round) {
    const std::vector<Rec> recs = random_lanes(rng, false);
    Parts parts;
    auto m = merge_of(recs, parts, now);
    std::map<std::int32_t, std::deque<Rec>> lanes;
    for (const Rec& r : recs) lanes[r.partition].push_back(r);
    Out expected;
    for (;;) {
      std::deque<Rec>* best = nullptr;
      for (auto it = lanes.rbegin(); it != lanes.rend(); ++it) {
        if (it->second.empty()) continue;
        if (!best || it->second.front().time <= best->front().time) best = &it->second;
      }
      if (!best) break;
      expected.emplace_back(best->front().partition, payload(best->front()));
      best->pop_front();
    }
    BOOST_TEST_REQUIRE((drain(m, parts, now) == expected), "round " << round);
  }
}

BOOST_AUTO_TEST_CASE(only_the_listed_partitions_are_merged) {
  EventTimeMerge<int> m(1s);
  const auto now = Clock::now();
  m.push(0, 1, at(50), now);
  m.push(9, 2, at(10), now);  // not listed (e.g. not assigned in this call)
  BOOST_TEST((drain(m, {0}, now) == Out{{0, 1}}));
  BOOST_TEST(m.buffered(9) == 1u);
  BOOST_TEST(!m.empty());
}

BOOST_AUTO_TEST_CASE(state_is_asked_only_for_empty_lanes_once_per_call) {
  EventTimeMerge<int> m(1s);
  const auto now = Clock::now();
  m.push(0, 1, at(50), now);
  m.push(2, 2, at(40), now);
  std::vector<std::int32_t> asked;
  const auto p = m.next(Parts{0, 1, 2, 3}, [&](std::int32_t q) {
    asked.push_back(q);
    return kCaughtUp;
  }, now);
  BOOST_TEST(p.value() == 2);
  BOOST_TEST(asked == (Parts{1, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(waiting_for_one_lane_holds_back_every_lane) {
  EventTimeMerge<int> m(1s);
  const auto now = Clock::now();
  m.push(0, 1, at(10), now);  // partition 1 might still bring an earlier record: wait
  m.push(2, 2, at(5), now);
  const auto state = [](std::int32_t p) { return p == 1 ? kLagging : kCaughtUp; };
  BOOST_TEST(!m.next(Parts{0, 1, 2}, state, now).has_value());
  BOOST_TEST(m.buffered(0) == 1u);
  BOOST_TEST(m.buffered(2) == 1u);
}

BOOST_AUTO_TEST_CASE(idle_is_timed_from_the_last_record_or_end_seen) {
  EventTimeMerge<int> m(2s);
  const auto t0 = Clock::now();
  m.push(0, 1, at(10), t0);
  m.push(1, 2, at(5), t0);
  const auto open = [](std::int32_t) { return kOpen; };
  BOOST_TEST(m.next(Parts{0, 1}, open, t0 + 5s).value() == 1);
  m.pop(1);  // lane 1 is empty now, last heard from at t0
  BOOST_TEST(!m.next(Parts{0, 1}, open, t0 + 1999ms).has_value());
  BOOST_TEST(m.next(Parts{0, 1}, open, t0 + 2s).value() == 0);
  // A record (or its end) heard from lane 1 starts the wait again.
  m.push(1, 3, at(20), t0 + 10s);
  m.pop(1);
  BOOST_TEST(!m.next(Parts{0, 1}, open, t0 + 11s).has_value());
  BOOST_TEST(m.next(Parts{0, 1}, open, t0 + 12s).value() == 0);
  m.seen(1, t0 + 20s);
  BOOST_TEST(!m.next(Parts{0, 1}, open, t0 + 21s).has_value());
  BOOST_TEST(m.next(Parts{0, 1}, open, t0 + 22s).value() == 0);
}

BOOST_AUTO_TEST_CASE(a_lane_never_heard_from_is_waited_for_from_its_first_mention) {
  EventTimeMerge<int> m(2s);
  const auto t0 = Clock::now();
  m.push(0, 1, at(10), t0);
  const auto open = [](std::int32_t) { return kOpen; };
  // Partition 5 first comes up at t0 + 1h: the wait runs from then, not from t0.
  BOOST_TEST(!m.next(Parts{0, 5}, open, t0 + 1h).has_value());
  BOOST_TEST((m.last_seen(5, t0 + 2h) == t0 + 1h));
  BOOST_TEST(!m.next(Parts{0, 5}, open, t0 + 1h + 1s).has_value());
  BOOST_TEST(m.next(Parts{0, 5}, open, t0 + 1h + 2s).value() == 0);
  // last_seen() of an unknown partition remembers `now`.
  BOOST_TEST((m.last_seen(8, t0 + 3h) == t0 + 3h));
  BOOST_TEST((m.last_seen(8, t0 + 4h) == t0 + 3h));
}

BOOST_AUTO_TEST_CASE(caught_up_counts_as_heard_from_now) {
  EventTimeMerge<int> m(2s);
  const auto t0 = Clock::now();
  m.push(0, 1, at(10), t0);
  m.push(0, 2, at(20), t0);
  BOOST_TEST(m.next(Parts{0, 1}, [](std::int32_t) { return kCaughtUp; }, t0 + 1h).value() == 0);
  m.pop(0);
  // Partition 1 now has more to give but nothing fetched yet: it was heard from at t0 + 1h.
  const auto open = [](std::int32_t) { return kOpen; };
  BOOST_TEST(!m.next(Parts{0, 1}, open, t0 + 1h + 1s).has_value());
  BOOST_TEST(m.next(Parts{0, 1}, open, t0 + 1h + 2s).value() == 0);
}

BOOST_AUTO_TEST_CASE(lagging_lanes_are_waited_for_past_max_idle) {
  EventTimeMerge<int> m(2s);
  const auto t0 = Clock::now();
  m.push(0, 1, at(10), t0);
  m.seen(1, t0);
  for (const auto later : {3s, 60s, 3600s})
    BOOST_TEST(!m.next(Parts{0, 1}, [](std::int32_t) { return kLagging; }, t0 + later).has_value());
  // Once it brings a record, that record competes as any other.
  const auto p = m.next(Parts{0, 1}, [&](std::int32_t q) {
    m.push(q, 2, at(5), t0 + 2h);
    return kLagging;
  }, t0 + 2h);
  BOOST_TEST(p.value() == 1);
}

BOOST_AUTO_TEST_CASE(nothing_buffered_and_all_caught_up) {
  EventTimeMerge<int> m(1s);
  const auto now = Clock::now();
  BOOST_TEST(m.empty());
  BOOST_TEST(!m.next(Parts{0, 1, 2}, [](std::int32_t) { return kCaughtUp; }, now).has_value());
  BOOST_TEST(!m.next(Parts{}, [](std::int32_t) { return kOpen; }, now).has_value());
}

BOOST_AUTO_TEST_CASE(clear_forgets_every_lane) {
  EventTimeMerge<int> m(2s);
  const auto t0 = Clock::now();
  m.push(0, 1, at(10), t0);
  m.push(1, 2, at(20), t0);
  BOOST_TEST(m.buffered(0) == 1u);
  m.clear();
  BOOST_TEST(m.empty());
  BOOST_TEST(m.buffered(1) == 0u);
  // Forgotten lanes are new again: last heard from at their next mention.
  BOOST_TEST((m.last_seen(0, t0 + 1h) == t0 + 1h));
}

BOOST_AUTO_TEST_CASE(payloads_need_only_be_movable) {
  EventTimeMerge<std::unique_ptr<int>> m(1s);
  const auto now = Clock::now();
  m.push(1, std::make_unique<int>(7), at(1), now);
  m.push(0, std::make_unique<int>(8), at(2), now);
  const auto p = m.next(Parts{0, 1}, [](std::int32_t) { return kCaughtUp; }, now);
  BOOST_TEST(p.value() == 1);
  auto e = m.pop(1);
  BOOST_TEST(*e.payload == 7);
  BOOST_TEST(e.x.event_ms == 1);
}
