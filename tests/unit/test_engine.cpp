#define BOOST_TEST_MODULE engine
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/query_options.hpp"
#include "sfcrime/stream/engine.hpp"

// The streaming engine against the rules of docs/streaming.md, with hand-computed expectations.

namespace {

using sfcrime::Extracted;
using sfcrime::OutputMode;
using sfcrime::StreamEngine;
using sfcrime::StreamSpec;
namespace group_key = sfcrime::group_key;

constexpr std::int64_t kMin = 60'000;

std::string key(std::string_view g) {
  std::string k;
  group_key::append_string(k, g);
  return k;
}

Extracted rec(std::int64_t t, std::string_view group, std::string_view disposition = "D") {
  Extracted x;
  x.kind = Extracted::Kind::valid;
  x.event_ms = t;
  x.group = key(group);
  x.disposition = disposition;
  return x;
}

/// One emitted row: (window start in minutes, group, count, final, batch).
using Row = std::tuple<std::int64_t, std::string, std::uint64_t, bool, std::int64_t>;

/// A sink that records what it is given.
class Recorder final : public sfcrime::Sink {
 public:
  void window(std::int64_t start, std::int64_t, const sfcrime::WindowAgg&, const std::vector<sfcrime::WindowRow>& rows,
              bool final) override {
    std::vector<std::string> scratch;
    for (const auto& r : rows)
      got.emplace_back(start / kMin, std::string(group_key::decode(r.group, scratch).at(0).value()), r.stats->count,
                       final, batch_.batch_id);
  }
  void end_batch() override { ++batches; }
  std::string description() const override { return "recorder"; }
  std::vector<Row> got;
  int batches = 0;
};

StreamSpec spec(std::int64_t size_min, std::int64_t slide_min, std::int64_t delay_min, OutputMode mode) {
  StreamSpec s;
  s.windows.size_ms = size_min * kMin;
  s.windows.slide_ms = slide_min * kMin;
  s.watermark_delay_ms = delay_min * kMin;
  s.mode = mode;
  return s;
}

}  // namespace

namespace std {
ostream& operator<<(ostream& o, const Row& r) {
  return o << "{" << get<0>(r) << "," << get<1>(r) << "," << get<2>(r) << "," << get<3>(r) << "," << get<4>(r) << "}";
}
}  // namespace std

BOOST_AUTO_TEST_CASE(group_key_round_trip_and_order) {
  std::string a, b, c, d, e;
  group_key::append_null(a);                   // (null, "x")
  group_key::append_string(a, "x");
  group_key::append_string(b, "");             // ("", "x")
  group_key::append_string(b, "x");
  group_key::append_string(c, "a");            // ("a", null)
  group_key::append_null(c);
  group_key::append_string(d, std::string("a\0b", 3));  // ("a\0b", "")
  group_key::append_string(d, "");
  group_key::append_string(e, "ab");           // ("ab", "")
  group_key::append_string(e, "");
  // Byte order is tuple order: null < "" < "a" < "a\0b" < "ab".
  BOOST_TEST((a < b));
  BOOST_TEST((b < c));
  BOOST_TEST((c < d));
  BOOST_TEST((d < e));
  std::vector<std::string> scratch;
  auto pa = group_key::decode(a, scratch);
  BOOST_REQUIRE_EQUAL(pa.size(), 2u);
  BOOST_TEST(!pa[0].has_value());
  BOOST_TEST(pa[1].value() == "x");
  auto pd = group_key::decode(d, scratch);
  BOOST_REQUIRE_EQUAL(pd.size(), 2u);
  BOOST_TEST(pd[0].value() == std::string_view("a\0b", 3));
  BOOST_TEST(pd[1].value() == "");
}

BOOST_AUTO_TEST_CASE(parse_options) {
  BOOST_TEST((sfcrime::parse_output_mode("update") == OutputMode::update));
  BOOST_CHECK_THROW(sfcrime::parse_output_mode("Append"), sfcrime::UsageError);
  const auto f = sfcrime::parse_filter("original_crime_type_name=Assault,Burglary");
  BOOST_TEST(f.field == "original_crime_type_name");
  BOOST_TEST(f.values == (std::vector<std::string>{"Assault", "Burglary"}), boost::test_tools::per_element());
  BOOST_CHECK_THROW(sfcrime::parse_filter("novalue"), sfcrime::UsageError);
  BOOST_CHECK_THROW(sfcrime::parse_filter("=x"), sfcrime::UsageError);
  BOOST_TEST(sfcrime::parse_field_list("a,b", "--by") == (std::vector<std::string>{"a", "b"}),
             boost::test_tools::per_element());
  BOOST_CHECK_THROW(sfcrime::parse_field_list("a,,b", "--by"), sfcrime::UsageError);
}

BOOST_AUTO_TEST_CASE(extractor_classifies_records) {
  StreamSpec s;
  s.by = {"original_crime_type_name", "city"};
  s.filters = {sfcrime::parse_filter("disposition=CIT,HAN")};
  sfcrime::Extractor ex(s);
  Extracted x;
  ex.extract(R"({"call_date_time":"2018-10-02T09:00:00","original_crime_type_name":"A","disposition":"CIT"})", x);
  BOOST_TEST((x.kind == Extracted::Kind::valid));
  std::vector<std::string> scratch;
  const auto parts = group_key::decode(x.group, scratch);
  BOOST_TEST(parts.at(0).value() == "A");
  BOOST_TEST(!parts.at(1).has_value());  // city missing -> null
  BOOST_TEST(x.disposition == "CIT");
  ex.extract(R"({"call_date_time":"2018-10-02T09:00:00","disposition":"ADV"})", x);
  BOOST_TEST((x.kind == Extracted::Kind::filtered));
  ex.extract(R"({"call_date_time":"2018-10-02T09:00:00"})", x);  // disposition missing: fails the filter
  BOOST_TEST((x.kind == Extracted::Kind::filtered));
  ex.extract(R"({"call_date_time":"yesterday"})", x);
  BOOST_TEST((x.kind == Extracted::Kind::invalid));
  BOOST_TEST(x.reason.find("call_date_time") != std::string::npos);
  ex.extract("[1,2]", x);
  BOOST_TEST((x.kind == Extracted::Kind::invalid));
  ex.extract("{not json", x);
  BOOST_TEST((x.kind == Extracted::Kind::invalid));
}

BOOST_AUTO_TEST_CASE(watermark_moves_per_record) {
  // 30-minute tumbling windows, 10-minute delay. In one batch: 10:00 raises the watermark to
  // 09:50, so a record at 09:10 (window 09:00-09:30, ended at 09:30 <= 09:50) is late at once,
  // although Spark, moving the watermark per batch, would still have counted it.
  StreamEngine e(spec(30, 30, 10, OutputMode::append));
  BOOST_TEST(e.watermark() == StreamEngine::kMinTime);
  BOOST_TEST(e.add(rec(9 * 60 * kMin + 20 * kMin, "A")));
  BOOST_TEST(e.watermark() == 9 * 60 * kMin + 10 * kMin);
  BOOST_TEST(e.add(rec(10 * 60 * kMin, "A")));
  BOOST_TEST(e.watermark() == 9 * 60 * kMin + 50 * kMin);
  BOOST_TEST(!e.add(rec(9 * 60 * kMin + 10 * kMin, "B")));  // late
  BOOST_TEST(e.add(rec(9 * 60 * kMin + 35 * kMin, "B")));    // window 09:30-10:00 still open
  BOOST_TEST(e.batch().late == 1u);
  BOOST_TEST(e.batch().dropped_pairs == 1u);
  Recorder r;
  e.end_batch(false, r);
  // The 09:00 window closed (end 09:30 <= 09:50): emitted once, final, with A only.
  BOOST_TEST(r.got == (std::vector<Row>{{540, "A", 1, true, 0}}), boost::test_tools::per_element());
  BOOST_TEST(e.windows_held() == 2u);
  BOOST_TEST(e.totals().late == 1u);
}

BOOST_AUTO_TEST_CASE(window_end_equal_to_watermark_is_closed) {
  StreamEngine e(spec(30, 30, 0, OutputMode::append));  // zero delay
  BOOST_TEST(e.add(rec(30 * kMin, "A")));                // watermark 00:30
  BOOST_TEST(!e.add(rec(29 * kMin, "B")));               // window [0, 30) ends at 00:30 <= 00:30
  BOOST_TEST(e.add(rec(30 * kMin, "C")));                // same time as the maximum: on time
}

BOOST_AUTO_TEST_CASE(hopping_partially_late_record) {
  // 30-minute windows every 10 minutes, 5-minute delay; max 01:00 -> watermark 00:55.
  // A record at 00:33 belongs to windows starting 00:10, 00:20, 00:30 (ends 00:40, 00:50, 01:00):
  // the first two are closed, the last open: added once, not late, two dropped pairs.
  StreamEngine e(spec(30, 10, 5, OutputMode::complete));
  BOOST_TEST(e.add(rec(60 * kMin, "A")));
  BOOST_TEST(e.add(rec(33 * kMin, "B")));
  BOOST_TEST(e.batch().late == 0u);
  BOOST_TEST(e.batch().dropped_pairs == 2u);
  BOOST_TEST(e.windows().at(30 * kMin).total == 1u);
  BOOST_TEST(!e.windows().count(20 * kMin));
  BOOST_TEST(!e.add(rec(15 * kMin, "C")));  // windows end 00:20, 00:30, 00:40: all closed
  BOOST_TEST(e.batch().dropped_pairs == 5u);
}

BOOST_AUTO_TEST_CASE(update_mode_emits_changed_rows_and_frees_closed_windows) {
  StreamEngine e(spec(30, 30, 60, OutputMode::update));
  Recorder r;
  e.add(rec(5 * kMin, "A"));
  e.add(rec(6 * kMin, "B"));
  e.end_batch(false, r);
  BOOST_TEST(r.got == (std::vector<Row>{{0, "A", 1, false, 0}, {0, "B", 1, false, 0}}), boost::test_tools::per_element());
  r.got.clear();
  e.add(rec(7 * kMin, "B"));  // only B changes
  e.end_batch(false, r);
  BOOST_TEST(r.got == (std::vector<Row>{{0, "B", 2, false, 1}}), boost::test_tools::per_element());
  r.got.clear();
  e.end_batch(false, r);  // nothing changed: nothing emitted
  BOOST_TEST(r.got.empty());
  e.add(rec(100 * kMin, "C"));  // watermark 00:40: the 00:00 window closes without a change
  e.end_batch(false, r);
  BOOST_TEST(r.got == (std::vector<Row>{{90, "C", 1, false, 3}}), boost::test_tools::per_element());
  BOOST_TEST(!e.windows().count(0));  // freed
  BOOST_TEST(e.rows_total() == 1u);
  r.got.clear();
  e.add(rec(95 * kMin, "C"));
  e.end_batch(true, r);  // final: the changed row is final
  BOOST_TEST(r.got == (std::vector<Row>{{90, "C", 2, true, 4}}), boost::test_tools::per_element());
  BOOST_TEST(e.rows_total() == 0u);
  BOOST_TEST(e.watermark() == StreamEngine::kMaxTime);
}

BOOST_AUTO_TEST_CASE(complete_mode_keeps_everything_and_still_drops_late_records) {
  StreamEngine e(spec(30, 30, 0, OutputMode::complete));
  Recorder r;
  e.add(rec(5 * kMin, "A"));
  e.add(rec(40 * kMin, "B"));  // watermark 00:40: window 00:00 closed
  e.end_batch(false, r);
  BOOST_TEST(r.got == (std::vector<Row>{{0, "A", 1, true, 0}, {30, "B", 1, false, 0}}), boost::test_tools::per_element());
  r.got.clear();
  BOOST_TEST(!e.add(rec(10 * kMin, "A")));  // late: not added even though the state is kept
  e.end_batch(false, r);
  BOOST_TEST(r.got == (std::vector<Row>{{0, "A", 1, true, 1}, {30, "B", 1, false, 1}}), boost::test_tools::per_element());
  BOOST_TEST(e.windows_held() == 2u);
}

BOOST_AUTO_TEST_CASE(append_mode_top_k) {
  StreamSpec s = spec(30, 30, 0, OutputMode::append);
  s.top = 2;
  StreamEngine e(s);
  for (const char* g : {"C", "A", "B", "B", "C", "D", "C"}) e.add(rec(kMin, g));
  Recorder r;
  e.end_batch(true, r);
  // C 3, B 2, then A 1 and D 1 cut by --top 2.
  BOOST_TEST(r.got == (std::vector<Row>{{0, "C", 3, true, 0}, {0, "B", 2, true, 0}}), boost::test_tools::per_element());
  BOOST_TEST(r.batches == 1);
}

BOOST_AUTO_TEST_CASE(invalid_and_filtered_records_are_counted_and_do_not_move_the_watermark) {
  StreamEngine e(spec(30, 30, 0, OutputMode::append));
  Extracted bad;
  bad.kind = Extracted::Kind::invalid;
  Extracted skip = rec(1000 * kMin, "A");
  skip.kind = Extracted::Kind::filtered;
  e.add(bad);
  e.add(skip);
  BOOST_TEST(e.watermark() == StreamEngine::kMinTime);
  BOOST_TEST(e.add(rec(kMin, "A")));
  BOOST_TEST(e.batch().input == 3u);
  BOOST_TEST(e.batch().invalid == 1u);
  BOOST_TEST(e.batch().filtered == 1u);
}

BOOST_AUTO_TEST_CASE(extreme_times_do_not_overflow) {
  StreamSpec s = spec(30, 30, 0, OutputMode::append);
  s.watermark_delay_ms = StreamEngine::kMaxTime;  // never late
  StreamEngine e(s);
  BOOST_TEST(e.add(rec(-62'135'596'800'000, "year 1")));
  BOOST_TEST(e.add(rec(253'402'300'799'000, "year 9999")));
  BOOST_TEST(e.add(rec(0, "epoch")));
  BOOST_TEST(e.watermark() < -62'135'596'800'000);
  BOOST_TEST(sfcrime::saturating_add(StreamEngine::kMaxTime, 1) == StreamEngine::kMaxTime);
  BOOST_TEST(sfcrime::saturating_sub(StreamEngine::kMinTime, 1) == StreamEngine::kMinTime);
}

// --- changelog state (aggregate --exactly-once) ---------------------------------------------------

namespace {

/// A StateObserver that keeps what a compacted changelog would: the last state per window (none
/// once freed) and the last clock.
class CompactedLog final : public sfcrime::StateObserver {
 public:
  void window_changed(std::int64_t start, const sfcrime::WindowAgg& w) override { windows[start] = w; }
  void window_freed(std::int64_t start) override { windows[start] = std::nullopt; }
  void clock(std::int64_t max_event, std::int64_t watermark, std::int64_t next_batch_id) override {
    clock_ = {max_event, watermark, next_batch_id};
  }
  /// Restores everything kept into a new engine.
  void restore(StreamEngine& e) const {
    e.restore_clock(std::get<0>(clock_), std::get<1>(clock_), std::get<2>(clock_));
    for (const auto& [start, w] : windows)
      if (w) e.restore_window(start, *w);
  }
  std::map<std::int64_t, std::optional<sfcrime::WindowAgg>> windows;
  std::tuple<std::int64_t, std::int64_t, std::int64_t> clock_{};
};

/// Records in batches of three: times (minutes) that move forward with some disorder, four groups.
std::vector<std::vector<Extracted>> batches_of_records() {
  const std::int64_t times[] = {1, 3, 2, 7, 12, 9, 15, 31, 29, 33, 40, 38, 61, 58, 70, 95, 90, 121, 100, 130, 150};
  std::vector<std::vector<Extracted>> out;
  for (std::size_t i = 0; i < std::size(times); ++i) {
    if (i % 3 == 0) out.emplace_back();
    out.back().push_back(rec(times[i] * kMin, std::string(1, "ABCD"[i % 4]), i % 2 ? "X" : "Y"));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(restored_state_continues_as_an_uninterrupted_run) {
  // For every mode and every batch at which a crash could happen: an engine restored from the
  // compacted changelog of the batches before it emits, from then on, exactly what the engine
  // that never stopped emits (rows, counts, finality and batch ids).
  const auto batches = batches_of_records();
  for (const OutputMode mode : {OutputMode::append, OutputMode::update, OutputMode::complete}) {
    for (std::size_t crash = 0; crash <= batches.size(); ++crash) {
      StreamEngine whole(spec(30, 10, 20, mode));
      Recorder whole_rows;
      StreamEngine before(spec(30, 10, 20, mode));
      Recorder ignored;
      CompactedLog log;
      for (std::size_t b = 0; b < batches.size(); ++b) {
        if (b == crash) whole_rows.got.clear();
        for (const Extracted& x : batches[b]) whole.add(x);
        whole.end_batch(b + 1 == batches.size(), whole_rows);
        if (b < crash) {
          for (const Extracted& x : batches[b]) before.add(x);
          before.end_batch(b + 1 == batches.size(), ignored, &log);
        }
      }
      if (crash == batches.size()) continue;
      StreamEngine after(spec(30, 10, 20, mode));
      log.restore(after);
      Recorder after_rows;
      for (std::size_t b = crash; b < batches.size(); ++b) {
        for (const Extracted& x : batches[b]) after.add(x);
        after.end_batch(b + 1 == batches.size(), after_rows, &log);
      }
      BOOST_TEST_CONTEXT("mode " << sfcrime::to_string(mode) << ", restored after batch " << crash) {
        BOOST_TEST(after_rows.got == whole_rows.got, boost::test_tools::per_element());
        BOOST_TEST(after.rows_total() == whole.rows_total());
        BOOST_TEST(after.watermark() == whole.watermark());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(state_observer_sees_changed_and_freed_windows) {
  // Tumbling 30 min, watermark delay 30 min, append. Batch 0 adds to [0, 30) and [30, 60)
  // (watermark 40 - 30 = 10). Batch 1's record at 65 min moves the watermark to 35: [0, 30)
  // closes and is freed, [30, 60) is untouched, [60, 90) opens.
  StreamEngine e(spec(30, 30, 30, OutputMode::append));
  Recorder sink;
  CompactedLog log;
  e.add(rec(10 * kMin, "A"));
  e.add(rec(40 * kMin, "B"));
  e.end_batch(false, sink, &log);
  BOOST_TEST(log.windows.size() == 2u);
  BOOST_TEST((log.windows.at(0) && log.windows.at(0)->total == 1u));
  BOOST_TEST((log.windows.at(30 * kMin) && log.windows.at(30 * kMin)->total == 1u));
  BOOST_TEST(std::get<0>(log.clock_) == 40 * kMin);
  BOOST_TEST(std::get<1>(log.clock_) == 10 * kMin);
  BOOST_TEST(std::get<2>(log.clock_) == 1);
  e.add(rec(65 * kMin, "A"));
  e.end_batch(false, sink, &log);
  BOOST_TEST(!log.windows.at(0).has_value());
  BOOST_TEST(log.windows.at(30 * kMin).has_value());
  BOOST_TEST((log.windows.at(60 * kMin) && log.windows.at(60 * kMin)->total == 1u));
  BOOST_TEST(std::get<1>(log.clock_) == 35 * kMin);
  // A restored engine keeps the watermark: a record of the freed window [0, 30) is late, one of
  // [30, 60) is added to the restored state.
  StreamEngine r(spec(30, 30, 30, OutputMode::append));
  log.restore(r);
  BOOST_TEST(r.watermark() == 35 * kMin);
  BOOST_TEST(r.batch_id() == 2);
  BOOST_TEST(r.rows_total() == 2u);
  BOOST_TEST(!r.add(rec(20 * kMin, "C")));
  BOOST_TEST(r.add(rec(50 * kMin, "C")));
  BOOST_TEST(r.rows_total() == 3u);
  BOOST_TEST(r.windows().at(30 * kMin).total == 2u);
}

// --- scale-out stages (aggregate --scale-out): aggregate stage + assemble stage == one engine ------

namespace {

/// Hands the rows an aggregate-stage engine emits (update mode: the changed ones) to an
/// assemble-stage engine, as the rows topic does.
class Forward final : public sfcrime::Sink {
 public:
  explicit Forward(StreamEngine& to) : to_(to) {}
  void window(std::int64_t start, std::int64_t, const sfcrime::WindowAgg&, const std::vector<sfcrime::WindowRow>& rows,
              bool) override {
    for (const auto& r : rows) to_.upsert_row(start, r.group, *r.stats);
  }
  void end_batch() override {}
  std::string description() const override { return "forward"; }

 private:
  StreamEngine& to_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(aggregate_and_assemble_stages_emit_what_one_engine_emits) {
  // The rows of an update-mode engine without --top, upserted into a second engine in the user's
  // mode whose watermark follows the first's after each batch, give the single engine's rows batch
  // by batch: the split that --scale-out makes (with one aggregate task).
  const auto batches = batches_of_records();
  for (const OutputMode mode : {OutputMode::append, OutputMode::update, OutputMode::complete}) {
    for (const std::size_t top : {std::size_t{0}, std::size_t{2}}) {
      StreamSpec user = spec(30, 10, 20, mode);
      user.top = top;
      StreamSpec agg_spec = user;
      agg_spec.mode = OutputMode::update;
      agg_spec.top = 0;
      StreamEngine single(user), agg(agg_spec), assemble(user);
      Recorder single_rows, assembled_rows;
      Forward forward(assemble);
      for (std::size_t b = 0; b < batches.size(); ++b) {
        const bool final = b + 1 == batches.size();
        for (const Extracted& x : batches[b]) {
          const bool a = single.add(x);
          BOOST_TEST(agg.add(x) == a);
        }
        single.end_batch(final, single_rows);
        agg.end_batch(final, forward);
        assemble.advance_watermark(agg.watermark());
        assemble.end_batch(final, assembled_rows);
      }
      BOOST_TEST_CONTEXT("mode " << sfcrime::to_string(mode) << ", top " << top) {
        BOOST_TEST(assembled_rows.got == single_rows.got, boost::test_tools::per_element());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(an_external_watermark_moves_only_when_advanced_and_never_back) {
  StreamEngine e(spec(30, 30, 10, OutputMode::append));
  e.use_external_watermark();
  BOOST_TEST(e.add(rec(100 * kMin, "A")));
  BOOST_TEST(e.watermark() == StreamEngine::kMinTime);  // records do not move it
  BOOST_TEST(e.add(rec(40 * kMin, "A")));               // so [30, 60) is still open
  e.advance_watermark(90 * kMin);
  BOOST_TEST(e.watermark() == 90 * kMin);
  BOOST_TEST(!e.add(rec(45 * kMin, "A")));  // [30, 60) ended before 90: late
  e.advance_watermark(80 * kMin);           // lower: ignored
  BOOST_TEST(e.watermark() == 90 * kMin);
  e.restore_clock(100 * kMin, StreamEngine::kMaxTime, 5);  // as after --exit-at-end
  BOOST_TEST(!e.add(rec(200 * kMin, "A")));  // the watermark stays +infinity: late
  BOOST_TEST(e.watermark() == StreamEngine::kMaxTime);
}

BOOST_AUTO_TEST_CASE(an_advanced_watermark_emits_closed_windows_at_once) {
  StreamEngine e(spec(30, 30, 0, OutputMode::append));
  e.use_external_watermark();
  Recorder rows;
  e.emit_while_running(&rows);
  e.add(rec(10 * kMin, "A"));
  e.add(rec(40 * kMin, "B"));
  e.advance_watermark(30 * kMin);
  BOOST_TEST(rows.got == (std::vector<Row>{{0, "A", 1, true, 0}}), boost::test_tools::per_element());
  BOOST_TEST(e.windows_held() == 1u);
  e.end_batch(false, rows);
  BOOST_TEST(rows.got.size() == 1u);
}

// --- emission while a batch runs (emit_while_running): state bounded by the open windows ---------

namespace {

/// Records every state change it is told, in order.
class Changes final : public sfcrime::StateObserver {
 public:
  void window_changed(std::int64_t start, const sfcrime::WindowAgg&) override { changed.push_back(start / kMin); }
  void window_freed(std::int64_t start) override { freed.push_back(start / kMin); }
  void clock(std::int64_t, std::int64_t, std::int64_t) override { ++clocks; }
  std::vector<std::int64_t> changed, freed;
  int clocks = 0;
};

}  // namespace

BOOST_AUTO_TEST_CASE(windows_emitted_while_the_batch_runs_equal_those_emitted_at_its_end) {
  // One engine emits at end_batch() only, the other as windows close: same rows, same order, same
  // finality and batch ids, same windows freed, in every mode, hopping and with --top; and in
  // append and update modes the live engine never holds a closed window.
  const auto batches = batches_of_records();
  for (const OutputMode mode : {OutputMode::append, OutputMode::update, OutputMode::complete}) {
    for (const std::size_t top : {std::size_t{0}, std::size_t{1}}) {
      StreamSpec s = spec(30, 10, 20, mode);
      s.top = top;
      StreamEngine at_end(s), live(s);
      Recorder at_end_rows, live_rows;
      Changes at_end_changes, live_changes;
      live.emit_while_running(&live_rows, &live_changes);
      for (std::size_t b = 0; b < batches.size(); ++b) {
        const bool final = b + 1 == batches.size();
        for (const Extracted& x : batches[b]) {
          BOOST_TEST(live.add(x) == at_end.add(x));
          if (mode != OutputMode::complete && !live.windows().empty())
            BOOST_TEST(live.windows().begin()->first + s.windows.size_ms > live.watermark());
        }
        BOOST_TEST(live.end_batch(final, live_rows, &live_changes) == at_end.end_batch(final, at_end_rows, &at_end_changes));
      }
      BOOST_TEST_CONTEXT("mode " << sfcrime::to_string(mode) << ", top " << top) {
        BOOST_TEST(live_rows.got == at_end_rows.got, boost::test_tools::per_element());
        BOOST_TEST(live_rows.batches == at_end_rows.batches);
        BOOST_TEST(live_changes.freed == at_end_changes.freed, boost::test_tools::per_element());
        BOOST_TEST(live.totals().rows_out == at_end.totals().rows_out);
        BOOST_TEST(!live_rows.got.empty());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(one_batch_of_a_long_ordered_input_holds_only_the_open_windows) {
  // 10,000 records a minute apart in one batch, hopping 60 min / 1 min windows, 10 min delay:
  // at most 60 + 10 + 1 windows are ever held, and every window is emitted once, final.
  StreamEngine e(spec(60, 1, 10, OutputMode::append));
  Recorder rows;
  e.emit_while_running(&rows);
  std::size_t most = 0;
  for (std::int64_t i = 0; i < 10'000; ++i) {
    e.add(rec(i * kMin, "A"));
    most = std::max(most, e.windows_held());
  }
  BOOST_TEST(most <= 71u);
  BOOST_TEST(rows.got.size() > 9'000u);  // emitted while the batch ran
  e.end_batch(true, rows);
  BOOST_TEST(rows.got.size() == 10'000u + 59u);  // windows starting at -59 .. 9999 minutes
  for (const Row& r : rows.got) BOOST_TEST(std::get<3>(r));
  BOOST_TEST(rows.batches == 1);
}

BOOST_AUTO_TEST_CASE(disorder_is_measured_and_newest_first_is_told) {
  StreamEngine e(spec(30, 30, 10, OutputMode::append));
  BOOST_TEST(!e.newest_came_first());
  e.add(rec(100 * kMin, "A"));
  e.add(rec(40 * kMin, "A"));
  e.add(rec(90 * kMin, "A"));
  BOOST_TEST(e.max_disorder_ms() == 60 * kMin);
  BOOST_TEST(e.newest_came_first());
  e.add(rec(101 * kMin, "A"));
  BOOST_TEST(!e.newest_came_first());
  BOOST_TEST(e.max_disorder_ms() == 60 * kMin);
}
