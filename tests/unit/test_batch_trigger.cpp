#define BOOST_TEST_MODULE batch_trigger
#include <boost/test/unit_test.hpp>

#include <chrono>

#include "sfcrime/stream/batch_trigger.hpp"

// When a micro-batch ends (batch_trigger.hpp), with times chosen by hand.

namespace {

using sfcrime::BatchTrigger;
using Clock = BatchTrigger::Clock;
using namespace std::chrono_literals;

const Clock::time_point t0{std::chrono::seconds(1000)};

}  // namespace

BOOST_AUTO_TEST_CASE(default_trigger_ends_when_caught_up_or_quiet) {
  BatchTrigger t({0ms, 0, true}, t0);
  t.begin(t0 + 10ms);
  t.took(t0 + 20ms);
  BOOST_TEST(!t.due(t0 + 50ms, 1, false));
  BOOST_TEST(t.due(t0 + 50ms, 1, true));                                   // caught up
  BOOST_TEST(!t.due(t0 + 20ms + BatchTrigger::kQuiet - 1ms, 1, false));
  BOOST_TEST(t.due(t0 + 20ms + BatchTrigger::kQuiet, 1, false));           // quiet
  t.took(t0 + 5s);
  BOOST_TEST(!t.due(t0 + 5s + 50ms, 1, false));  // no age bound where the input says it caught up
  BOOST_TEST(t.wait(t0 + 5s).count() == 100);
}

BOOST_AUTO_TEST_CASE(default_trigger_without_caught_up_is_bounded_by_age) {
  BatchTrigger t({0ms, 0, false}, t0);
  t.begin(t0);
  for (auto at = t0; at < t0 + BatchTrigger::kMaxAge; at += 10ms) {
    t.took(at);
    BOOST_TEST(!t.due(at, 1, true));  // `caught_up` is not read
  }
  BOOST_TEST(t.due(t0 + BatchTrigger::kMaxAge, 1, false));
  t.begin(t0 + 2s);  // begin() restarts both clocks
  BOOST_TEST(!t.due(t0 + 2s + 50ms, 1, false));
}

BOOST_AUTO_TEST_CASE(max_records_end_a_default_batch) {
  BatchTrigger t({0ms, 3, true}, t0);
  t.begin(t0);
  BOOST_TEST(!t.full(2));
  BOOST_TEST(!t.due(t0, 2, false));
  BOOST_TEST(t.full(3));
  BOOST_TEST(t.due(t0, 3, false));
  BatchTrigger unbounded({0ms, 0, true}, t0);
  BOOST_TEST(!unbounded.full(1'000'000'000));
}

BOOST_AUTO_TEST_CASE(interval_ends_on_multiples_since_the_query_started) {
  BatchTrigger t({1000ms, 5, true}, t0);
  BOOST_TEST(t.timed());
  t.begin(t0 + 2500ms);  // the batch ends at the next multiple: 3 s
  BOOST_CHECK(t.end_time() == t0 + 3s);
  BOOST_TEST(!t.due(t0 + 2999ms, 5, true));  // neither caught up nor a full batch ends it early
  BOOST_TEST(t.due(t0 + 3s, 0, false));
  BOOST_TEST(t.wait(t0 + 2950ms).count() == 50);
  BOOST_TEST(t.wait(t0 + 2500ms).count() == 100);
  BOOST_TEST(t.wait(t0 + 4s).count() == 0);
  t.begin(t0 + 3s);  // on a multiple: the next one
  BOOST_CHECK(t.end_time() == t0 + 4s);
  t.begin(t0);
  BOOST_CHECK(t.end_time() == t0 + 1s);
}
