#define BOOST_TEST_MODULE reader
#include <boost/test/unit_test.hpp>

#include "compact_model.hpp"
#include "temp_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <utility>
#include <string>
#include <thread>
#include <vector>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/records/reader.hpp"

namespace {

using sfcrime::RawRecord;
using sfcrime::RecordReader;

/// A record copied out of the reader (RawRecord::text is only valid until the next call).
struct Rec {
  std::string text;
  std::uint64_t number;
  std::uint64_t line;
  bool too_large;
};

/// Writes into a pipe from a thread; a writer blocked on a full pipe when the reader stops
/// early gets EPIPE once the read end is closed (SIGPIPE is ignored by the global fixture).
class PipeFeeder {
 public:
  /// @param chunk bytes per write(2); @param pause sleep after each of the first `paused_writes`.
  PipeFeeder(std::string data, std::size_t chunk, std::chrono::microseconds pause = {},
             std::size_t paused_writes = 0)
      : data_(std::move(data)) {
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    writer_ = std::thread([this, chunk, pause, paused_writes] {
      std::size_t off = 0;
      std::size_t writes = 0;
      while (off < data_.size()) {
        const std::size_t n = std::min(chunk, data_.size() - off);
        const ssize_t w = ::write(write_fd_, data_.data() + off, n);
        if (w < 0) {
          if (errno == EINTR) continue;
          break;  // EPIPE: the reader gave up
        }
        off += static_cast<std::size_t>(w);
        if (writes++ < paused_writes) std::this_thread::sleep_for(pause);
      }
      ::close(write_fd_);
    });
  }
  ~PipeFeeder() {
    ::close(read_fd_);
    writer_.join();
  }
  int fd() const { return read_fd_; }

 private:
  std::string data_;
  int read_fd_ = -1;
  int write_fd_ = -1;
  std::thread writer_;
};

using sfcrime::test::TempFile;

std::vector<Rec> drain(RecordReader& r) {
  std::vector<Rec> out;
  RawRecord rec;
  while (r.next(rec)) out.push_back({std::string(rec.text), rec.number, rec.line, rec.too_large});
  return out;
}

/// Reads every record of `input` from a temp file (path constructor).
std::vector<Rec> read_file(const std::string& input, std::size_t max = 16u << 20) {
  TempFile f(input);
  RecordReader r(f.path(), max);
  return drain(r);
}

/// Reads every record of `input` through a pipe written `chunk` bytes at a time (fd constructor).
std::vector<Rec> read_pipe(const std::string& input, std::size_t chunk, std::size_t max = 16u << 20,
                           std::chrono::microseconds pause = {}, std::size_t paused_writes = 0) {
  PipeFeeder feeder(input, chunk, pause, paused_writes);
  RecordReader r(feeder.fd(), "test pipe", max);
  return drain(r);
}

std::vector<std::string> texts(const std::vector<Rec>& recs) {
  std::vector<std::string> t;
  for (const auto& r : recs) t.push_back(r.text);
  return t;
}

std::vector<std::uint64_t> lines(const std::vector<Rec>& recs) {
  std::vector<std::uint64_t> l;
  for (const auto& r : recs) l.push_back(r.line);
  return l;
}

/// Checks that reading `input` throws DataError (from a file and from a slow pipe).
void expect_data_error(const std::string& input) {
  BOOST_TEST_CONTEXT("input: " << input) {
    BOOST_CHECK_THROW(read_file(input), sfcrime::DataError);
    BOOST_CHECK_THROW(read_pipe(input, 1), sfcrime::DataError);
  }
}

struct IgnoreSigpipe {
  IgnoreSigpipe() { std::signal(SIGPIPE, SIG_IGN); }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(IgnoreSigpipe);

// ---------------------------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(pretty_printed_array) {
  const std::string input =
      "[\n"
      "  {\n"
      "    \"crime_id\": \"1\",\n"
      "    \"call_date_time\": \"2018-10-02T09:17:00\"\n"
      "  },\n"
      "  {\n"
      "    \"crime_id\": \"2\"\n"
      "  }\n"
      "]\n";
  TempFile f(input);
  RecordReader r(f.path());
  const auto recs = drain(r);
  BOOST_TEST((r.format() == RecordReader::Format::array));
  BOOST_REQUIRE_EQUAL(recs.size(), 2u);
  BOOST_TEST(recs[0].text ==
             "{\n    \"crime_id\": \"1\",\n    \"call_date_time\": \"2018-10-02T09:17:00\"\n  }");
  BOOST_TEST(recs[1].text == "{\n    \"crime_id\": \"2\"\n  }");
  BOOST_TEST(recs[0].number == 1u);
  BOOST_TEST(recs[1].number == 2u);
  BOOST_TEST(recs[0].line == 2u);
  BOOST_TEST(recs[1].line == 6u);
  BOOST_TEST(r.bytes_read() == input.size());
  RawRecord again;
  BOOST_TEST(!r.next(again));  // stays at the end
}

BOOST_AUTO_TEST_CASE(compact_array) {
  const auto recs = read_file(R"([{"a":1},{"b":[1,2,{"c":3}]},{}])");
  BOOST_TEST(texts(recs) == (std::vector<std::string>{R"({"a":1})", R"({"b":[1,2,{"c":3}]})", "{}"}),
             boost::test_tools::per_element());
  BOOST_TEST(lines(recs) == (std::vector<std::uint64_t>{1, 1, 1}), boost::test_tools::per_element());
  BOOST_TEST(recs.back().number == 3u);
}

BOOST_AUTO_TEST_CASE(array_of_scalars_is_framed) {
  // The reader frames; it does not validate: scalar elements come out as they stand.
  const auto recs = read_file("[1, \"x,]\" ,true,null , -2.5e3]");
  BOOST_TEST(texts(recs) == (std::vector<std::string>{"1", "\"x,]\"", "true", "null", "-2.5e3"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ndjson_basic) {
  TempFile f("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
  RecordReader r(f.path());
  const auto recs = drain(r);
  BOOST_TEST((r.format() == RecordReader::Format::ndjson));
  BOOST_TEST(texts(recs) == (std::vector<std::string>{R"({"a":1})", R"({"b":2})", R"({"c":3})"}),
             boost::test_tools::per_element());
  BOOST_TEST(lines(recs) == (std::vector<std::uint64_t>{1, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(ndjson_blank_lines_crlf_and_no_final_newline) {
  const std::string input = "\n  \n{\"a\":1}\r\n\r\n\t{\"b\":\"x y\"}  \r\n\n\n{\"c\":3}";
  for (const auto& recs : {read_file(input), read_pipe(input, 2)}) {
    BOOST_TEST(texts(recs) == (std::vector<std::string>{R"({"a":1})", R"({"b":"x y"})", R"({"c":3})"}),
               boost::test_tools::per_element());
    BOOST_TEST(lines(recs) == (std::vector<std::uint64_t>{3, 5, 8}), boost::test_tools::per_element());
    BOOST_REQUIRE_EQUAL(recs.size(), 3u);
    BOOST_TEST(recs[0].number == 1u);
    BOOST_TEST(recs[2].number == 3u);
  }
}

BOOST_AUTO_TEST_CASE(ndjson_trailing_blank_lines) {
  const auto recs = read_file("{\"a\":1}\n\n   \n\r\n");
  BOOST_TEST(texts(recs) == (std::vector<std::string>{R"({"a":1})"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(empty_input_has_no_records) {
  TempFile f("");
  RecordReader r(f.path());
  RawRecord rec;
  BOOST_TEST(!r.next(rec));
  BOOST_TEST(!r.next(rec));
  BOOST_TEST(r.bytes_read() == 0u);
  BOOST_TEST(read_pipe("", 1).empty());
}

BOOST_AUTO_TEST_CASE(whitespace_only_input_has_no_records) {
  BOOST_TEST(read_file("  \n\t\r\n  \n").empty());
  BOOST_TEST(read_pipe(" \n\n \r\n\t", 1).empty());
}

BOOST_AUTO_TEST_CASE(empty_array) {
  for (const std::string input : {"[]", "[ ]", "\n[\n]\n", "  [\r\n\t]  "}) {
    TempFile f(input);
    RecordReader r(f.path());
    RawRecord rec;
    BOOST_TEST(!r.next(rec), input);
    BOOST_TEST((r.format() == RecordReader::Format::array), input);
  }
}

BOOST_AUTO_TEST_CASE(byte_order_mark_is_skipped) {
  const auto recs = read_file("\xEF\xBB\xBF[{\"a\":1}]");
  BOOST_TEST(texts(recs) == (std::vector<std::string>{R"({"a":1})"}), boost::test_tools::per_element());
  const auto nd = read_file("\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}\n");
  BOOST_TEST(texts(nd) == (std::vector<std::string>{R"({"a":1})", R"({"b":2})"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(byte_order_mark_split_across_reads) {
  // The BOM's three bytes arrive in separate read(2) calls: it must still be recognised.
  const std::string input = "\xEF\xBB\xBF[{\"a\":1}]";
  PipeFeeder feeder(input, 1, std::chrono::milliseconds(20), 3);
  RecordReader r(feeder.fd(), "bom pipe");
  const auto recs = drain(r);
  BOOST_TEST((r.format() == RecordReader::Format::array));
  BOOST_TEST(texts(recs) == (std::vector<std::string>{R"({"a":1})"}), boost::test_tools::per_element());
}

// ---------------------------------------------------------------------------------------------
// Strings: escapes and raw UTF-8 must not split records
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(strings_with_brackets_commas_escapes_and_utf8) {
  const std::vector<std::string> expected = {
      R"({"a":"x\"]},{"})",                       // escaped quote followed by brackets and a comma
      R"({"b":"\\"})",                            // escaped backslash right before the closing quote
      R"({"c":"\\\"[{"})",                        // backslash, escaped quote, brackets
      R"({"d":"\u005d\u007B\u0022,"})",           // \u escapes (']', '{', '"') then a comma
      "{\"e\":\"caf\xC3\xA9 [,] \xF0\x9F\x98\x80 }{\"}",  // raw UTF-8, brackets in the string
      R"({"f":["]",{"g":"}"}]})",
  };
  std::string input = "[";
  for (std::size_t i = 0; i < expected.size(); ++i) input += (i ? ",\n  " : "") + expected[i];
  input += "]";
  for (const auto& recs : {read_file(input), read_pipe(input, 1), read_pipe(input, 7)}) {
    BOOST_TEST(texts(recs) == expected, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(ndjson_strings_with_brackets) {
  const std::string input = "{\"a\":\"[\"}\n{\"b\":\"]\\\"\"}\n";
  const auto recs = read_file(input);
  BOOST_TEST(texts(recs) == (std::vector<std::string>{"{\"a\":\"[\"}", "{\"b\":\"]\\\"\"}"}),
             boost::test_tools::per_element());
}

// ---------------------------------------------------------------------------------------------
// Malformed framing -> DataError
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(truncated_array_not_closed) {
  expect_data_error("[");
  expect_data_error("[\n");
  expect_data_error(R"([{"a":1})");
  expect_data_error(R"([{"a":1},)");
  expect_data_error("[{\"a\":1},\n  ");
  expect_data_error("[1");
}

BOOST_AUTO_TEST_CASE(truncated_record_inside_string_or_object) {
  expect_data_error(R"([{"a":"abc)");
  expect_data_error(R"([{"a":"abc\")");  // the escaped quote does not close the string
  expect_data_error(R"([{"a":{"b":1})");
  expect_data_error(R"([{"a":1},{"b":[1,2)");
}

BOOST_AUTO_TEST_CASE(truncated_input_still_yields_complete_records_first) {
  TempFile f(R"([{"a":1},{"b":"cut)");
  RecordReader r(f.path());
  RawRecord rec;
  BOOST_REQUIRE(r.next(rec));
  BOOST_TEST(rec.text == R"({"a":1})");
  BOOST_CHECK_THROW(r.next(rec), sfcrime::DataError);
}

BOOST_AUTO_TEST_CASE(missing_comma) {
  expect_data_error(R"([{"a":1} {"b":2}])");
  expect_data_error("[{\"a\":1}\n{\"b\":2}\n]");
  expect_data_error("[1 2]");
}

BOOST_AUTO_TEST_CASE(missing_comma_message_names_record_line_and_input) {
  TempFile f("[\n{\"a\":1}\n{\"b\":2}\n]");
  RecordReader r(f.path());
  RawRecord rec;
  BOOST_REQUIRE(r.next(rec));
  try {
    r.next(rec);
    BOOST_FAIL("expected DataError");
  } catch (const sfcrime::DataError& e) {
    const std::string m = e.what();
    BOOST_TEST_INFO("message: " << m);
    BOOST_TEST(m.find("record 1") != std::string::npos);
    BOOST_TEST(m.find("line 3") != std::string::npos);
    BOOST_TEST(m.find(f.path()) != std::string::npos);
    BOOST_TEST(static_cast<int>(e.code()) == 65);
  }
}

BOOST_AUTO_TEST_CASE(data_after_closing_bracket) {
  expect_data_error(R"([{"a":1}] x)");
  expect_data_error(R"([{"a":1}]{"b":2})");
  expect_data_error("[]\n[]");
  expect_data_error("[],");
}

BOOST_AUTO_TEST_CASE(trailing_whitespace_after_closing_bracket_is_fine) {
  BOOST_TEST(read_file("[{\"a\":1}]\n\r\n\t  ").size() == 1u);
}

BOOST_AUTO_TEST_CASE(trailing_comma) {
  expect_data_error(R"([{"a":1},])");
  expect_data_error("[{\"a\":1},\n]");
  expect_data_error("[1, 2 , ]");
}

BOOST_AUTO_TEST_CASE(mismatched_brackets) {
  expect_data_error(R"([{"a":[1}])");
  expect_data_error(R"([{"a":1]])");
  expect_data_error(R"([{"a":1}}])");
  expect_data_error(R"([[1,2}])");
  expect_data_error("[}]");
}

BOOST_AUTO_TEST_CASE(element_without_value_is_rejected) {
  // A ',' or '}' where an element should start: no empty record may come out, and the framing
  // error is reported.
  for (const std::string input : {"[,{\"a\":1}]", "[{\"a\":1},,{\"b\":2}]", "[}]"}) {
    BOOST_TEST_CONTEXT("input: " << input) {
      TempFile f(input);
      RecordReader r(f.path());
      RawRecord rec;
      bool threw = false;
      try {
        while (r.next(rec)) BOOST_TEST(!rec.text.empty(), "record " << rec.number << " is empty");
      } catch (const sfcrime::DataError&) {
        threw = true;
      }
      BOOST_TEST(threw);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Records split across reads; large records; line and record numbers
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(record_split_across_pipe_reads) {
  std::string input = "[\n";
  std::vector<std::string> expected;
  std::vector<std::uint64_t> expected_lines;
  std::uint64_t line = 2;
  for (int i = 0; i < 40; ++i) {
    const std::string rec = "{\n    \"crime_id\": \"" + std::to_string(i) +
                            "\",\n    \"name\": \"a \\\"q\\\" [x], {y}\"\n  }";
    expected.push_back(rec);
    expected_lines.push_back(line);
    input += "  " + rec + (i + 1 < 40 ? ",\n" : "\n");
    line += 4;
  }
  input += "]\n";
  for (std::size_t chunk : {1u, 3u, 5u, 64u}) {
    BOOST_TEST_CONTEXT("chunk " << chunk) {
      const auto recs = read_pipe(input, chunk, 16u << 20, std::chrono::microseconds(20), 200);
      BOOST_TEST(texts(recs) == expected, boost::test_tools::per_element());
      BOOST_TEST(lines(recs) == expected_lines, boost::test_tools::per_element());
      BOOST_REQUIRE_EQUAL(recs.size(), 40u);
      for (std::size_t i = 0; i < recs.size(); ++i) BOOST_TEST(recs[i].number == i + 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(ndjson_split_across_pipe_reads) {
  std::string input;
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    expected.push_back("{\"id\":" + std::to_string(i) + ",\"s\":\"[,]\"}");
    input += expected.back() + (i % 2 ? "\r\n" : "\n");
    if (i % 10 == 0) input += "\n";
  }
  const auto recs = read_pipe(input, 3, 16u << 20, std::chrono::microseconds(20), 100);
  BOOST_TEST(texts(recs) == expected, boost::test_tools::per_element());
  // Records 0, 10, 20... are followed by an extra blank line.
  BOOST_REQUIRE_EQUAL(recs.size(), 50u);
  std::uint64_t line = 1;
  for (int i = 0; i < 50; ++i) {
    BOOST_TEST(recs[i].line == line, "record " << i);
    line += (i % 10 == 0) ? 2 : 1;
  }
}

BOOST_AUTO_TEST_CASE(records_across_the_1_mib_read_chunks) {
  // About 3 MiB of records of varying length, so that records straddle every chunk boundary,
  // read with real 1 MiB reads from a file and through a pipe.
  std::string array = "[\n";
  std::string ndjson;
  std::vector<std::string> expected;
  std::size_t total = 0;
  for (int i = 0; total < (3u << 20); ++i) {
    std::string rec = "{\"id\":" + std::to_string(i) + ",\"pad\":\"" + std::string(static_cast<std::size_t>(i % 997), 'x') +
                      "\",\"q\":\"\\\"]\"}";
    total += rec.size();
    expected.push_back(rec);
    array += (i ? ",\n" : "") + rec;
    ndjson += rec + "\n";
  }
  array += "\n]\n";
  const auto a = read_file(array);
  BOOST_REQUIRE_EQUAL(a.size(), expected.size());
  bool all_equal = true;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].text != expected[i] || a[i].number != i + 1 || a[i].line != i + 2) {
      BOOST_TEST_INFO("array record " << i);
      BOOST_TEST(a[i].text == expected[i]);
      BOOST_TEST(a[i].line == i + 2);
      all_equal = false;
      break;
    }
  }
  BOOST_TEST(all_equal);
  const auto n = read_pipe(ndjson, 65536);
  BOOST_REQUIRE_EQUAL(n.size(), expected.size());
  all_equal = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (n[i].text != expected[i] || n[i].number != i + 1 || n[i].line != i + 1) {
      BOOST_TEST_INFO("ndjson record " << i);
      BOOST_TEST(n[i].text == expected[i]);
      BOOST_TEST(n[i].line == i + 1);
      all_equal = false;
      break;
    }
  }
  BOOST_TEST(all_equal);
}

BOOST_AUTO_TEST_CASE(record_larger_than_one_mib) {
  const std::string big = "{\"crime_id\":\"big\",\"pad\":\"" + std::string(3u << 20, 'z') + "\\\"}]\"}";
  const std::string input = "[{\"a\":1},\n" + big + ",\n{\"b\":2}]";
  for (const auto& recs : {read_file(input), read_pipe(input, 65536)}) {
    BOOST_REQUIRE_EQUAL(recs.size(), 3u);
    BOOST_TEST(recs[0].text == "{\"a\":1}");
    BOOST_TEST(recs[1].text.size() == big.size());
    BOOST_TEST((recs[1].text == big));
    BOOST_TEST(recs[2].text == "{\"b\":2}");
    BOOST_TEST(recs[2].line == 3u);
    BOOST_TEST(recs[2].number == 3u);
  }
  const std::string nd = "{\"a\":1}\n" + big + "\n{\"b\":2}\n";
  const auto recs = read_pipe(nd, 65536);
  BOOST_REQUIRE_EQUAL(recs.size(), 3u);
  BOOST_TEST((recs[1].text == big));
  BOOST_TEST(recs[2].line == 3u);
}

// ---------------------------------------------------------------------------------------------
// max_record_bytes
// ---------------------------------------------------------------------------------------------

// A record over the limit is returned whole, marked too_large, and the input goes on (issue 15).

BOOST_AUTO_TEST_CASE(max_record_bytes_exceeded_across_reads) {
  // 3 MiB under a 1 MiB limit: the record spans several reads, and still comes out whole.
  const std::string big = "{\"pad\":\"" + std::string(3u << 20, 'z') + "\"}";
  const std::string a = "{\"a\":1}", b = "{\"b\":2}";
  for (const auto& recs : {read_file("[" + a + "," + big + "," + b + "]", 1u << 20),
                           read_pipe("[" + a + ",\n" + big + ",\n" + b + "]", 65536, 1u << 20),
                           read_file(a + "\n" + big + "\n" + b + "\n", 1u << 20),
                           read_pipe(a + "\n" + big + "\n" + b, 65536, 1u << 20)}) {
    BOOST_REQUIRE_EQUAL(recs.size(), 3u);
    BOOST_TEST(recs[0].text == a);
    BOOST_TEST(!recs[0].too_large);
    BOOST_TEST(recs[1].text.size() == big.size());
    BOOST_TEST((recs[1].text == big));
    BOOST_TEST(recs[1].too_large);
    BOOST_TEST(recs[1].number == 2u);
    BOOST_TEST(recs[2].text == b);
    BOOST_TEST(!recs[2].too_large);
    BOOST_TEST(recs[2].number == 3u);
  }
  // The same input is within the default limit (16 MiB).
  const auto recs = read_file("[" + big + "]");
  BOOST_REQUIRE_EQUAL(recs.size(), 1u);
  BOOST_TEST(!recs[0].too_large);
}

BOOST_AUTO_TEST_CASE(max_record_bytes_exceeded_within_one_buffer) {
  // The limit is max_record_bytes, whether or not the record happens to sit inside one read
  // buffer; a record of exactly the limit is within it.
  const std::string rec64 = "{\"pad\":\"" + std::string(64 - 10, 'y') + "\"}";
  BOOST_REQUIRE_EQUAL(rec64.size(), 64u);
  const std::string rec65 = "{\"pad\":\"" + std::string(65 - 10, 'y') + "\"}";
  const std::string rec200 = "{\"pad\":\"" + std::string(190, 'y') + "\"}";
  for (const auto& recs : {read_file("[" + rec64 + "," + rec65 + ", " + rec200 + "]", 64),
                           read_file(rec64 + "\n" + rec65 + "\n  " + rec200 + "  \n", 64)}) {
    BOOST_REQUIRE_EQUAL(recs.size(), 3u);
    BOOST_TEST(!recs[0].too_large);
    BOOST_TEST(recs[1].too_large);
    BOOST_TEST(recs[2].too_large);
    BOOST_TEST(recs[2].text == rec200);
  }
}

BOOST_AUTO_TEST_CASE(too_large_reason_names_size_and_limit) {
  BOOST_TEST(sfcrime::too_large_reason(17825792) ==
             "record is 17825792 bytes, over the limit of 16777216 bytes (16 MiB)");
  BOOST_TEST(sfcrime::too_large_reason(65, 64) == "record is 65 bytes, over the limit of 64 bytes");
  BOOST_TEST(sfcrime::too_large_reason(3u << 20, 1u << 20) ==
             "record is 3145728 bytes, over the limit of 1048576 bytes (1 MiB)");
}

// ---------------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_file_is_no_input_error) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "sfcrime-test-reader-does-not-exist.json").string();
  std::filesystem::remove(path);
  try {
    RecordReader r(path);
    BOOST_FAIL("expected NoInputError");
  } catch (const sfcrime::NoInputError& e) {
    BOOST_TEST(static_cast<int>(e.code()) == 66);
    BOOST_TEST(std::string(e.what()).find(path) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(reading_a_directory_is_io_error) {
  const auto dir = std::filesystem::temp_directory_path().string();
  RecordReader r(dir);
  RawRecord rec;
  BOOST_CHECK_THROW(r.next(rec), sfcrime::IoError);
}

BOOST_AUTO_TEST_CASE(names) {
  RecordReader stdin_reader("-");
  BOOST_TEST(stdin_reader.name() == "standard input");
  PipeFeeder feeder("", 1);
  RecordReader r(feeder.fd(), "my input");
  BOOST_TEST(r.name() == "my input");
}

BOOST_AUTO_TEST_CASE(fd_constructor_does_not_close_the_descriptor) {
  TempFile f("{\"a\":1}\n");
  const int fd = ::open(f.path().c_str(), O_RDONLY);
  BOOST_REQUIRE(fd >= 0);
  {
    RecordReader r(fd, "fd");
    BOOST_TEST(drain(r).size() == 1u);
  }
  BOOST_TEST(::fcntl(fd, F_GETFD) != -1);  // still open
  ::close(fd);
}

// ---------------------------------------------------------------------------------------------
// Compact form (set_compact) and ReadAheadReader
// ---------------------------------------------------------------------------------------------

namespace {

/// A record with its compact form, copied out of a reader.
struct Full {
  std::string text, compact;
  std::uint64_t number, line;
  bool too_large;
  bool operator==(const Full&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Full& f) {
  return os << "#" << f.number << " line " << f.line << (f.too_large ? " too large" : "") << " '"
            << (f.text.size() > 200 ? f.text.substr(0, 200) + "..." : f.text) << "' -> '" << f.compact << "'";
}

/// Every record of `input` (a temp file) with its compact form, and the error thrown after them
/// ("" when none), read by RecordReader directly or through a ReadAheadReader.
std::pair<std::vector<Full>, std::string> read_path(const std::string& path, bool ahead,
                                                    std::size_t max = sfcrime::kMaxRecordBytes) {
  auto r = std::make_unique<RecordReader>(path, max);
  r->set_compact(true);
  BOOST_TEST(r->regular_file());
  std::vector<Full> out;
  std::string error;
  RawRecord rec;
  try {
    if (ahead) {
      sfcrime::ReadAheadReader a(std::move(r));
      while (a.next(rec))
        out.push_back({std::string(rec.text), std::string(rec.compact), rec.number, rec.line, rec.too_large});
    } else {
      while (r->next(rec))
        out.push_back({std::string(rec.text), std::string(rec.compact), rec.number, rec.line, rec.too_large});
    }
  } catch (const sfcrime::DataError& e) {
    error = e.what();
  }
  return {out, error};
}

std::pair<std::vector<Full>, std::string> read_all(const std::string& input, bool ahead,
                                                   std::size_t max = sfcrime::kMaxRecordBytes) {
  TempFile f(input);
  return read_path(f.path(), ahead, max);
}


/// A pretty-printed array of `n` records with escapes, unicode and nested values, `pad` bytes of
/// padding in each.
std::string pretty_array(int n, std::size_t pad = 10) {
  std::string s = "[\r\n";
  for (int i = 1; i <= n; ++i) {
    s += "  {\n    \"crime_id\" : \"" + std::to_string(i) + "\",\n\t\"q\": \"a \\\"quoted\\\" \\\\ \\u00e9 caf\xC3\xA9 {[,]}\",\n";
    s += "    \"n\": [ 1 , -2.5e3 , { \"x\" : null } ],\n    \"pad\": \"" + std::string(pad, 'p') + "\"\n  }";
    s += i < n ? ",\n" : "\n";
  }
  return s + "]\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(compact_form_strips_whitespace_between_tokens_only) {
  const std::string input = pretty_array(3);
  const auto [recs, error] = read_all(input, false);
  BOOST_TEST(error.empty(), error);
  BOOST_REQUIRE(recs.size() == 3u);
  for (const Full& r : recs) BOOST_TEST(r.compact == sfcrime::test::strip_whitespace(r.text), r);
  BOOST_TEST(recs[0].compact.find("\"q\":\"a \\\"quoted\\\" \\\\ \\u00e9 caf\xC3\xA9 {[,]}\"") != std::string::npos,
             recs[0]);
  BOOST_TEST(recs[0].compact.find("[1,-2.5e3,{\"x\":null}]") != std::string::npos, recs[0]);
  // NDJSON lines too, and top-level scalars and strings as they are.
  const auto nd = read_all("{ \"a\" : [ 1, 2 ] }\n\"a b\"\n 42 \n", false);
  BOOST_REQUIRE(nd.first.size() == 3u);
  BOOST_TEST(nd.first[0].compact == "{\"a\":[1,2]}");
  BOOST_TEST(nd.first[1].compact == "\"a b\"");
  BOOST_TEST(nd.first[2].compact == "42");
}

BOOST_AUTO_TEST_CASE(compact_off_leaves_it_empty) {
  TempFile f("[ {\"a\": 1} ]");
  RecordReader r(f.path());
  RawRecord rec;
  BOOST_REQUIRE(r.next(rec));
  BOOST_TEST(rec.compact.empty());
  BOOST_TEST(rec.text == "{\"a\": 1}");
}

BOOST_AUTO_TEST_CASE(read_ahead_gives_what_the_reader_gives) {
  // Several batches by count (> kBatchRecords records) and by bytes (> kBatchBytes), a record
  // larger than a whole batch, NDJSON, and inputs that end in each kind of framing error.
  const std::string big(sfcrime::ReadAheadReader::kBatchBytes + 100, 'x');
  const std::vector<std::string> inputs = {
      pretty_array(3000),
      pretty_array(40, 40000),
      "[{\"a\":\"" + big + "\"},{\"b\":1},{\"c\":\"" + big + "\"}]",
      "{\"a\":1}\n\n{\"b\":2}\r\n" + std::string(5000, ' ') + "{\"c\":3}",
      "",
      pretty_array(2500).substr(0, 300000),        // truncated: an error after the records before
      "[{\"a\":1},{\"b\":2}]x",                     // data after the array
      "[{\"a\":1} {\"b\":2}]",                      // missing ','
      "[{\"a\":1},{\"b\":2]}]",                     // mismatched bracket
  };
  for (const std::string& input : inputs) {
    TempFile f(input);  // one file: the error messages name it
    const auto direct = read_path(f.path(), false);
    const auto ahead = read_path(f.path(), true);
    BOOST_TEST_CONTEXT("input of " << input.size() << " bytes starting '" << input.substr(0, 40) << "'") {
      BOOST_TEST(ahead.first.size() == direct.first.size());
      BOOST_TEST((ahead.first == direct.first));
      BOOST_TEST(ahead.second == direct.second);
    }
  }
  // The inputs with an error do throw one, after some records.
  const auto truncated = read_all(inputs[5], true);
  BOOST_TEST(!truncated.second.empty());
  BOOST_TEST(truncated.first.size() > 1000u);
}

BOOST_AUTO_TEST_CASE(read_ahead_stops_when_dropped_early) {
  // The caller stops after a few records of a large file: the destructor stops the thread,
  // which is blocked waiting for a free batch, and returns.
  TempFile f(pretty_array(20000));
  for (int taken : {0, 1, 1500}) {
    auto r = std::make_unique<RecordReader>(f.path());
    r->set_compact(true);
    const auto t0 = std::chrono::steady_clock::now();
    {
      sfcrime::ReadAheadReader a(std::move(r));
      RawRecord rec;
      for (int i = 0; i < taken; ++i) BOOST_REQUIRE(a.next(rec));
      if (taken) BOOST_TEST(rec.number == static_cast<std::uint64_t>(taken));
    }
    BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)), "taken " << taken);
  }
}

// ---------------------------------------------------------------------------------------------
// Records over max_record_bytes (issue 15): returned whole, marked too_large, the input goes on
// ---------------------------------------------------------------------------------------------

namespace {

constexpr std::size_t kSmallLimit = 100;  // bytes: the oversized records here are a few KiB

/// A record of about `size` bytes (an object with a padding string; a few bytes more than size).
std::string sized_record(int id, std::size_t size) {
  const std::string head = "{\"crime_id\":\"" + std::to_string(id) + "\",\"pad\":\"";
  return head + std::string(size > head.size() + 2 ? size - head.size() - 2 : 1, 'a' + id % 26) + "\"}";
}

/// The same record pretty-printed as an array element (indented by two, several lines).
std::string pretty(const std::string& compact) {
  std::string s = "{\n    ";
  for (std::size_t i = 1; i + 1 < compact.size(); ++i) {
    s += compact[i];
    if (compact[i] == ':' && compact[i - 1] == '"') s += ' ';
    if (compact[i] == ',' && compact[i - 1] == '"') s += "\n    ";
  }
  return s + "\n  }";
}

struct Layout {
  std::string input;
  std::vector<Full> expected;  // as a reader with set_compact(true) gives them
  std::size_t counted = 0;     // newlines of input counted up to here (while it is written)
  std::uint64_t line = 1;      // the line at `counted`
};

/// The records (their compact texts) as NDJSON, a compact array and a pretty-printed array, with
/// the records the reader must give: numbers, lines, too_large, compact form (none when too large).
std::vector<Layout> layouts(const std::vector<std::string>& records, std::size_t limit) {
  std::vector<Layout> out(3);
  auto expect = [&](Layout& l, const std::string& text, std::uint64_t number) {
    const std::size_t at = l.input.size() - text.size() - (&l == &out[0] ? 1 : 0);  // just written
    BOOST_REQUIRE(l.input.compare(at, text.size(), text) == 0);
    l.line += static_cast<std::uint64_t>(std::count(l.input.begin() + l.counted, l.input.begin() + at, '\n'));
    l.counted = at;
    const bool big = text.size() > limit;
    l.expected.push_back({text, big ? std::string() : sfcrime::test::strip_whitespace(text), number, l.line, big});
  };
  out[1].input = "[";
  out[2].input = "[\n  ";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::uint64_t n = i + 1;
    out[0].input += (i == 2 ? "\n" : "") + records[i] + "\n";  // and one blank line
    expect(out[0], records[i], n);
    out[1].input += (i ? "," : "") + records[i];
    expect(out[1], records[i], n);
    out[2].input += (i ? ",\n  " : "") + pretty(records[i]);
    expect(out[2], pretty(records[i]), n);
  }
  out[1].input += "]";
  out[2].input += "\n]\n";
  return out;
}

/// Reads `input` every way: a file directly and through a ReadAheadReader, and pipes of 1, 7 and
/// 4096 bytes a write; each must give `expected` and no error.
void check_all_ways(const Layout& l, std::size_t limit) {
  BOOST_TEST_CONTEXT("input of " << l.input.size() << " bytes starting '" << l.input.substr(0, 40) << "'") {
    for (const bool ahead : {false, true}) {
      const auto [got, error] = read_all(l.input, ahead, limit);
      BOOST_TEST(error.empty(), error);
      BOOST_TEST(got.size() == l.expected.size(), "ahead " << ahead);
      BOOST_TEST((got == l.expected), "ahead " << ahead);
    }
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
      const auto got = read_pipe(l.input, chunk, limit);
      BOOST_REQUIRE_EQUAL(got.size(), l.expected.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        BOOST_TEST((got[i].text == l.expected[i].text), "chunk " << chunk << " record " << i + 1);
        BOOST_TEST(got[i].number == l.expected[i].number);
        BOOST_TEST(got[i].line == l.expected[i].line, "chunk " << chunk << " record " << i + 1);
        BOOST_TEST(got[i].too_large == l.expected[i].too_large);
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(oversized_record_at_start_middle_and_end) {
  const std::string big = sized_record(0, 5000);
  std::vector<std::string> normal;
  for (int i = 1; i <= 6; ++i) normal.push_back(sized_record(i, 40 + i));
  using V = std::vector<std::string>;
  const std::vector<V> cases = {
      {big, normal[0], normal[1], normal[2]},                         // at the start
      {normal[0], normal[1], big, normal[2], normal[3]},              // in the middle
      {normal[0], normal[1], normal[2], big},                         // at the end
      {big},                                                          // alone
      {big, big, normal[0], big, normal[1], normal[2], big, big},     // several, side by side
  };
  for (const V& records : cases)
    for (const Layout& l : layouts(records, kSmallLimit)) {
      BOOST_REQUIRE(std::any_of(l.expected.begin(), l.expected.end(), [](const Full& f) { return f.too_large; }));
      check_all_ways(l, kSmallLimit);
    }
}

BOOST_AUTO_TEST_CASE(oversized_record_followed_by_many_records_numbers_and_lines_stay_right) {
  // Oversized records larger than the 1 MiB read chunk among 3,000 normal ones (several read-ahead
  // batches by count), under a limit of 1 MiB: a too_large record in the middle of a batch.
  const std::size_t limit = sfcrime::ReadAheadReader::kBatchBytes;
  std::vector<std::string> records;
  for (int i = 1; i <= 3000; ++i) {
    records.push_back(sized_record(i, 30 + i % 50));
    if (i == 1 || i == 500 || i == 2047) records.push_back(sized_record(i, limit + limit / 2));
  }
  for (const Layout& l : layouts(records, limit)) {
    BOOST_TEST_CONTEXT("input of " << l.input.size() << " bytes starting '" << l.input.substr(0, 20) << "'") {
      const auto direct = read_all(l.input, false, limit);
      const auto ahead = read_all(l.input, true, limit);
      BOOST_TEST(direct.second.empty(), direct.second);
      BOOST_TEST(ahead.second.empty(), ahead.second);
      BOOST_REQUIRE_EQUAL(direct.first.size(), l.expected.size());
      BOOST_TEST((direct.first == l.expected));
      BOOST_TEST((ahead.first == l.expected));
      BOOST_TEST(std::count_if(ahead.first.begin(), ahead.first.end(), [](const Full& f) { return f.too_large; }) == 3);
      const auto piped = read_pipe(l.input, 65536, limit);
      BOOST_REQUIRE_EQUAL(piped.size(), l.expected.size());
      BOOST_TEST(piped.back().line == l.expected.back().line);
      BOOST_TEST(piped.back().number == l.expected.back().number);
    }
  }
}

BOOST_AUTO_TEST_CASE(oversized_record_over_the_default_limit_through_read_ahead) {
  // The real limit: 16 MiB + 1 byte is too large, 16 MiB is not.
  const std::size_t limit = sfcrime::kMaxRecordBytes;
  const std::string over = sized_record(1, limit + 1), at = sized_record(2, limit);
  BOOST_REQUIRE_EQUAL(over.size(), limit + 1);
  BOOST_REQUIRE_EQUAL(at.size(), limit);
  const std::string input = "{\"a\":1}\n" + over + "\n" + at + "\n{\"b\":2}\n";
  for (const bool ahead : {false, true}) {
    const auto [got, error] = read_all(input, ahead);
    BOOST_TEST(error.empty(), error);
    BOOST_REQUIRE_EQUAL(got.size(), 4u);
    BOOST_TEST((got[1].too_large && got[1].text == over && got[1].compact.empty()));
    BOOST_TEST((!got[2].too_large && got[2].text == at && got[2].compact == at));
    BOOST_TEST((got[3].text == "{\"b\":2}" && got[3].number == 4u && got[3].line == 4u));
  }
}

BOOST_AUTO_TEST_CASE(oversized_scalars_and_strings_in_an_array) {
  // A top-level element that is a long number or string is framed as any value.
  const std::string num(300, '7'), str = "\"" + std::string(300, 's') + "\"";
  const auto recs = read_file("[" + num + ", " + str + " , {\"a\":1}]", kSmallLimit);
  BOOST_REQUIRE_EQUAL(recs.size(), 3u);
  BOOST_TEST((recs[0].too_large && recs[0].text == num));
  BOOST_TEST((recs[1].too_large && recs[1].text == str));
  BOOST_TEST((!recs[2].too_large && recs[2].text == "{\"a\":1}"));
}

BOOST_AUTO_TEST_CASE(framing_errors_in_or_after_an_oversized_record_still_throw) {
  const std::string big = sized_record(1, 3000);
  const std::string cut = big.substr(0, 2000);
  for (const std::string& input : {
           "[{\"a\":1}," + cut,                          // cut off inside the oversized record
           "[" + big + "," + cut,                        // after one, inside the next
           "[" + big.substr(0, big.size() - 1) + "]]",   // mismatched bracket closes it
           "[" + big + " " + big + "]",                  // missing ','
           "[" + big + "]x",                             // data after the array
           "[" + big + ",",                              // not closed
       }) {
    BOOST_TEST_CONTEXT("input '" << input.substr(0, 30) << "...' of " << input.size() << " bytes") {
      BOOST_CHECK_THROW(read_file(input, kSmallLimit), sfcrime::DataError);
      BOOST_CHECK_THROW(read_pipe(input, 7, kSmallLimit), sfcrime::DataError);
      TempFile f(input);  // one file: the error messages name it
      const auto direct = read_path(f.path(), false, kSmallLimit);
      const auto ahead = read_path(f.path(), true, kSmallLimit);
      BOOST_TEST(!direct.second.empty());
      BOOST_TEST((ahead.first == direct.first));
      BOOST_TEST(ahead.second == direct.second);
    }
  }
  // The records before the break are given first, the oversized one included.
  const auto [recs, error] = read_all("[{\"a\":1}," + big + "," + cut, false, kSmallLimit);
  BOOST_REQUIRE_EQUAL(recs.size(), 2u);
  BOOST_TEST(recs[1].too_large);
  BOOST_TEST(error.find("record 3 is cut off") != std::string::npos, error);
}

BOOST_AUTO_TEST_CASE(a_line_with_unbalanced_brackets_over_the_limit_is_one_record) {
  // NDJSON frames by lines only: what the line holds is for the JSON parser to judge.
  const std::string bad = "{\"a\":[" + std::string(500, '[') + "\"x";
  const auto recs = read_file("{\"a\":1}\n" + bad + "\n{\"b\":2}\n", kSmallLimit);
  BOOST_REQUIRE_EQUAL(recs.size(), 3u);
  BOOST_TEST((recs[1].too_large && recs[1].text == bad && recs[1].line == 2u));
  BOOST_TEST(recs[2].line == 3u);
}
