#define BOOST_TEST_MODULE reader
#include <boost/test/unit_test.hpp>

#include "compact_model.hpp"
#include "temp_file.hpp"

#include <fcntl.h>
#include <unistd.h>

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
  while (r.next(rec)) out.push_back({std::string(rec.text), rec.number, rec.line});
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

BOOST_AUTO_TEST_CASE(max_record_bytes_exceeded_across_reads) {
  const std::string big = "{\"pad\":\"" + std::string(3u << 20, 'z') + "\"}";
  BOOST_CHECK_THROW(read_file("[" + big + "]", 1u << 20), sfcrime::DataError);
  BOOST_CHECK_THROW(read_pipe("[{\"a\":1}," + big + "]", 65536, 1u << 20), sfcrime::DataError);
  BOOST_CHECK_THROW(read_file("{\"a\":1}\n" + big + "\n", 1u << 20), sfcrime::DataError);
  BOOST_CHECK_THROW(read_pipe(big + "\n", 65536, 1u << 20), sfcrime::DataError);
  // The same input is fine under the default limit (16 MiB).
  BOOST_TEST(read_file("[" + big + "]").size() == 1u);
}

BOOST_AUTO_TEST_CASE(max_record_bytes_exceeded_within_one_buffer) {
  // "the largest record accepted" is max_record_bytes, whether or not the record happens to sit
  // inside one read buffer.
  const std::string rec64 = "{\"pad\":\"" + std::string(64 - 10, 'y') + "\"}";
  BOOST_REQUIRE_EQUAL(rec64.size(), 64u);
  const std::string rec200 = "{\"pad\":\"" + std::string(190, 'y') + "\"}";
  BOOST_TEST(read_file("[" + rec64 + "]", 64).size() == 1u);
  BOOST_TEST(read_file(rec64 + "\n", 64).size() == 1u);
  BOOST_CHECK_THROW(read_file("[" + rec200 + "]", 64), sfcrime::DataError);
  BOOST_CHECK_THROW(read_file(rec200 + "\n", 64), sfcrime::DataError);
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
  bool operator==(const Full&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Full& f) {
  return os << "#" << f.number << " line " << f.line << " '" << f.text << "' -> '" << f.compact << "'";
}

/// Every record of `input` (a temp file) with its compact form, and the error thrown after them
/// ("" when none), read by RecordReader directly or through a ReadAheadReader.
std::pair<std::vector<Full>, std::string> read_path(const std::string& path, bool ahead) {
  auto r = std::make_unique<RecordReader>(path);
  r->set_compact(true);
  BOOST_TEST(r->regular_file());
  std::vector<Full> out;
  std::string error;
  RawRecord rec;
  try {
    if (ahead) {
      sfcrime::ReadAheadReader a(std::move(r));
      while (a.next(rec)) out.push_back({std::string(rec.text), std::string(rec.compact), rec.number, rec.line});
    } else {
      while (r->next(rec)) out.push_back({std::string(rec.text), std::string(rec.compact), rec.number, rec.line});
    }
  } catch (const sfcrime::DataError& e) {
    error = e.what();
  }
  return {out, error};
}

std::pair<std::vector<Full>, std::string> read_all(const std::string& input, bool ahead) {
  TempFile f(input);
  return read_path(f.path(), ahead);
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
