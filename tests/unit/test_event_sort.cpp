#define BOOST_TEST_MODULE event_sort
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/records/event_sort.hpp"

namespace {

using sfcrime::EventTimeSorter;
using sfcrime::SortedRecord;

/// A record as added to the sorter, and as read back (views copied out).
struct Rec {
  std::int64_t event_ms;
  std::uint64_t number;
  std::optional<std::string> key;
  std::string value;
  bool operator==(const Rec&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  return os << "{" << r.event_ms << ", #" << r.number << ", " << (r.key ? "'" + *r.key + "'" : "null") << ", '"
            << r.value.substr(0, 40) << "'}";
}

void add_all(EventTimeSorter& s, const std::vector<Rec>& in) {
  for (const Rec& r : in)
    s.add(r.event_ms, r.number, r.key ? std::optional<std::string_view>(*r.key) : std::nullopt, r.value);
}

std::vector<Rec> drain(EventTimeSorter& s) {
  std::vector<Rec> out;
  SortedRecord r;
  while (s.next(r))
    out.push_back({r.event_ms, r.number, r.key ? std::optional<std::string>(std::string(*r.key)) : std::nullopt,
                   std::string(r.value)});
  return out;
}

/// What the sorter must yield: `in` stably sorted by event time.
std::vector<Rec> expected(std::vector<Rec> in) {
  std::stable_sort(in.begin(), in.end(), [](const Rec& a, const Rec& b) { return a.event_ms < b.event_ms; });
  return in;
}

/// `n` records with event times drawn from `distinct` values (so many ties), keys and values
/// naming the record, some null keys and empty values.
std::vector<Rec> random_records(std::size_t n, int distinct, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> t(-distinct / 2, distinct / 2);
  std::vector<Rec> in;
  for (std::size_t i = 1; i <= n; ++i) {
    Rec r{static_cast<std::int64_t>(t(rng)) * 60'000, i, "k" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}"};
    if (i % 7 == 0) r.key.reset();
    if (i % 11 == 0) r.value.clear();
    in.push_back(std::move(r));
  }
  return in;
}

/// A fresh empty directory, removed with its content at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sfcrime-sort-test-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  bool empty() const { return std::filesystem::is_empty(path_); }

 private:
  std::string path_;
};

std::int64_t ms(const char* text) {
  const auto v = sfcrime::parse_naive_datetime(text);
  BOOST_REQUIRE(v);
  return *v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(empty_input_yields_nothing_and_writes_nothing) {
  TempDir dir;
  EventTimeSorter s(EventTimeSorter::kDefaultRunBytes, EventTimeSorter::kDefaultFanIn, dir.path());
  s.finish();
  SortedRecord r;
  BOOST_TEST(!s.next(r));
  BOOST_TEST(!s.next(r));  // stays at the end
  BOOST_TEST(s.records() == 0u);
  BOOST_TEST(s.runs_spilled() == 0u);
  BOOST_TEST(dir.empty());
}

BOOST_AUTO_TEST_CASE(next_without_finish_finishes) {
  EventTimeSorter s;
  s.add(2, 1, std::string_view("b"), "B");
  s.add(1, 2, std::string_view("a"), "A");
  const std::vector<Rec> out = drain(s);
  BOOST_TEST(out == (std::vector<Rec>{{1, 2, "a", "A"}, {2, 1, "b", "B"}}), boost::test_tools::per_element());
  BOOST_CHECK_THROW(s.add(3, 3, std::nullopt, "C"), std::logic_error);
}

BOOST_AUTO_TEST_CASE(one_run_sorts_stably_in_memory) {
  // Newest first, as the real file, with ties: equal times keep the input order.
  const std::vector<Rec> in = {
      {ms("2018-10-02T09:30:00"), 1, "a", "1"}, {ms("2018-10-02T09:17:00"), 2, "b", "2"},
      {ms("2018-10-02T09:30:00"), 3, "c", "3"}, {ms("2018-10-01T23:59:59.999"), 4, std::nullopt, "4"},
      {ms("2018-10-02T09:17:00"), 5, "e", ""},  {ms("2018-10-02T09:30:00"), 6, "", "6"},
  };
  TempDir dir;
  EventTimeSorter s(EventTimeSorter::kDefaultRunBytes, EventTimeSorter::kDefaultFanIn, dir.path());
  add_all(s, in);
  const std::vector<Rec> out = drain(s);
  const std::vector<std::uint64_t> numbers = [&] {
    std::vector<std::uint64_t> n;
    for (const Rec& r : out) n.push_back(r.number);
    return n;
  }();
  BOOST_TEST(numbers == (std::vector<std::uint64_t>{4, 2, 5, 1, 3, 6}), boost::test_tools::per_element());
  BOOST_TEST(out == expected(in), boost::test_tools::per_element());
  BOOST_TEST(s.runs_spilled() == 0u);
  BOOST_TEST(s.bytes_spilled() == 0u);
  BOOST_TEST(dir.empty());
}

BOOST_AUTO_TEST_CASE(input_that_fits_never_creates_a_file) {
  // The temporary directory does not exist: creating a file there would throw.
  EventTimeSorter s(1024, 4, "/nonexistent/sfcrime-sort-test");
  add_all(s, random_records(50, 10, 1));
  BOOST_CHECK_NO_THROW(s.finish());
  BOOST_TEST(drain(s).size() == 50u);
}

BOOST_AUTO_TEST_CASE(several_runs_merge_stably) {
  const std::vector<Rec> in = random_records(5000, 40, 7);
  TempDir dir;
  // ~10 records per run: about 500 runs, merged in passes of 64.
  EventTimeSorter s(100, EventTimeSorter::kDefaultFanIn, dir.path());
  add_all(s, in);
  BOOST_TEST(s.runs_spilled() > 400u);
  BOOST_TEST(s.records() == in.size());
  BOOST_TEST(dir.empty());  // the temporary file is unlinked at once
  const std::vector<Rec> out = drain(s);
  BOOST_TEST(out == expected(in), boost::test_tools::per_element());
  BOOST_TEST(dir.empty());
}

BOOST_AUTO_TEST_CASE(every_fan_in_and_run_size_gives_the_same_order) {
  const std::vector<Rec> in = random_records(700, 25, 42);
  const std::vector<Rec> want = expected(in);
  TempDir dir;
  for (std::size_t run_bytes : {1u, 13u, 64u, 500u, 100000u}) {
    for (std::size_t fan_in : {2u, 3u, 5u, 64u}) {
      BOOST_TEST_CONTEXT("run_bytes " << run_bytes << ", fan-in " << fan_in) {
        EventTimeSorter s(run_bytes, fan_in, dir.path());
        add_all(s, in);
        BOOST_TEST(drain(s) == want, boost::test_tools::per_element());
      }
    }
  }
  BOOST_TEST(dir.empty());
}

BOOST_AUTO_TEST_CASE(equal_times_keep_input_order_across_runs) {
  std::vector<Rec> in;
  for (std::uint64_t i = 1; i <= 1000; ++i)
    in.push_back({ms("2018-11-04T01:30:00"), i, std::to_string(i % 3), "v" + std::to_string(i)});
  for (std::size_t fan_in : {2u, 64u}) {
    EventTimeSorter s(50, fan_in);
    add_all(s, in);
    BOOST_TEST(s.runs_spilled() > 10u);
    BOOST_TEST(drain(s) == in, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(times_before_1970_sort_before_later_ones) {
  const std::vector<Rec> in = {
      {ms("1970-01-01T00:00:00"), 1, "epoch", "e"},      {ms("1969-12-31T23:59:59.999"), 2, "b", "just before"},
      {ms("1900-01-01T00:00:00"), 3, "c", "1900"},       {ms("2018-10-02T09:17:00"), 4, "d", "2018"},
      {ms("0001-01-01T00:00:00"), 5, "f", "year 1"},     {ms("1969-12-31T23:59:59.999"), 6, "g", "tie"},
      {ms("1969-07-20T20:17:40"), 7, "h", "moon"},
  };
  BOOST_TEST(ms("1969-12-31T23:59:59.999") == -1);
  const std::vector<std::uint64_t> want = {5, 3, 7, 2, 6, 1, 4};
  for (std::size_t run_bytes : {std::size_t{2}, EventTimeSorter::kDefaultRunBytes}) {
    EventTimeSorter s(run_bytes, 2);
    add_all(s, in);
    std::vector<std::uint64_t> numbers;
    for (const Rec& r : drain(s)) numbers.push_back(r.number);
    BOOST_TEST(numbers == want, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(records_larger_than_the_buffers_and_the_run_budget) {
  // Values larger than the 64 KiB read buffer and the run budget: a run each, read back whole.
  std::vector<Rec> in;
  for (std::uint64_t i = 1; i <= 6; ++i)
    in.push_back({static_cast<std::int64_t>(10 - i % 3), i, std::string(70'000 * (i % 2), 'k'),
                  std::string(100'000 + i * 50'000, static_cast<char>('a' + i))});
  in.push_back({0, 7, "small", "x"});
  TempDir dir;
  EventTimeSorter s(64 << 10, 3, dir.path());
  add_all(s, in);
  BOOST_TEST(s.runs_spilled() >= 6u);
  BOOST_TEST(drain(s) == expected(in), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(default_directory_is_tmpdir) {
  TempDir dir;
  const char* old = std::getenv("TMPDIR");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("TMPDIR", dir.path().c_str(), 1);
  {
    EventTimeSorter s(10);
    BOOST_TEST(s.tmp_dir() == dir.path());
    add_all(s, random_records(100, 5, 3));
    BOOST_TEST(s.runs_spilled() > 1u);
    BOOST_TEST(dir.empty());
    BOOST_TEST(drain(s).size() == 100u);
  }
  ::unsetenv("TMPDIR");
  BOOST_TEST(EventTimeSorter().tmp_dir() == "/tmp");
  if (saved) ::setenv("TMPDIR", saved->c_str(), 1);
}

BOOST_AUTO_TEST_CASE(unusable_temporary_directory_is_an_io_error) {
  EventTimeSorter s(10, 64, "/nonexistent/sfcrime-sort-test");
  s.add(1, 1, std::nullopt, "0123456789");
  try {
    s.add(2, 2, std::nullopt, "0123456789");  // the first run is spilled here
    BOOST_FAIL("no IoError");
  } catch (const sfcrime::IoError& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("'/nonexistent/sfcrime-sort-test'") != std::string::npos, what);
    BOOST_TEST(what.find("TMPDIR") != std::string::npos, what);
    BOOST_TEST(static_cast<int>(e.code()) == 74);
  }
}

BOOST_AUTO_TEST_CASE(bad_parameters_are_rejected) {
  BOOST_CHECK_THROW(EventTimeSorter(0), std::invalid_argument);
  BOOST_CHECK_THROW(EventTimeSorter(100, 1), std::invalid_argument);
}
