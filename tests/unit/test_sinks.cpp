// Unit tests of stream/sinks.hpp: the JSON, CSV and table sinks written to a FILE* (the row shape
// of docs/streaming.md "Rows" and man sfcrime-aggregate), JsonRowWriter's two paths,
// DeferredOutput, TeeSink, and OutputClosed on EPIPE.
#define BOOST_TEST_MODULE sinks
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "key_tuple.hpp"
#include "memory_file.hpp"
#include "temp_file.hpp"

#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "sfcrime/records/radio_codes.hpp"
#include "sfcrime/stream/sinks.hpp"

namespace {

using sfcrime::BatchInfo;
using sfcrime::GroupStats;
using sfcrime::JsonRowWriter;
using sfcrime::OutputFormat;
using sfcrime::RadioCodes;
using sfcrime::RowLabels;
using sfcrime::Sink;
using sfcrime::WindowAgg;
using sfcrime::WindowRow;
using sfcrime::test::encode_key;
using sfcrime::test::KeyTuple;
using sfcrime::test::MemoryFile;
using sfcrime::test::TempFile;

/// Milliseconds since the naive epoch of "YYYY-MM-DDTHH:MM:SS", through the C library (timegm).
std::int64_t ms_of(const char* text) {
  std::tm tm{};
  // Used for constants at namespace scope, before Boost.Test runs: no BOOST_REQUIRE here.
  if (::strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) throw std::invalid_argument(text);
  return static_cast<std::int64_t>(::timegm(&tm)) * 1000;
}

const std::int64_t k0900 = ms_of("2018-10-02T09:00:00");
const std::int64_t k0930 = ms_of("2018-10-02T09:30:00");
const std::int64_t k1000 = ms_of("2018-10-02T10:00:00");

/// One window's state built by hand.
struct Window {
  WindowAgg agg;
  /// Adds `n` records of group `key` with disposition `code`.
  Window& add(const KeyTuple& key, const std::string& code, int n = 1) {
    GroupStats& g = agg.groups[encode_key(key)];
    for (int i = 0; i < n; ++i) g.add(code);
    agg.total += static_cast<std::uint64_t>(n);
    return *this;
  }
  /// The rows of `keys`, in that order.
  std::vector<WindowRow> rows(const std::vector<KeyTuple>& keys) const {
    std::vector<WindowRow> out;
    for (const KeyTuple& k : keys) {
      const auto it = agg.groups.find(encode_key(k));
      BOOST_REQUIRE(it != agg.groups.end());
      out.push_back(WindowRow{it->first, &it->second});
    }
    return out;
  }
};

KeyTuple key(const char* s) { return {std::string(s)}; }

/// radio_code.json with the given (code, description) pairs.
std::string radio_json(const std::vector<std::pair<std::string, std::string>>& codes) {
  boost::json::array a;
  for (const auto& [c, d] : codes) a.push_back({{"disposition_code", c}, {"description", d}});
  return boost::json::serialize(a);
}

/// Drives `sink` through one batch of one window.
void one_batch(Sink& sink, std::int64_t batch, std::int64_t start, std::int64_t end, const Window& w,
               const std::vector<WindowRow>& rows, bool final, const char* mode = "append") {
  sink.begin_batch(BatchInfo{batch, mode});
  sink.window(start, end, w.agg, rows, final);
  sink.end_batch();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::vector<std::string> keys_of(const boost::json::object& o) {
  std::vector<std::string> k;
  for (const auto& kv : o) k.emplace_back(kv.key());
  return k;
}

/// One CSV field as read back: its text and whether it was quoted (null is an empty field, ""
/// the empty string).
struct CsvField {
  std::string text;
  bool quoted = false;
};

/// An RFC 4180 reader: records end with CRLF, fields split by commas, a quoted field may hold
/// commas, CR, LF and doubled quotes. Fails the test on anything else.
std::vector<std::vector<CsvField>> read_csv(const std::string& s) {
  std::vector<std::vector<CsvField>> records;
  std::vector<CsvField> record;
  CsvField field;
  std::size_t i = 0;
  bool at_field_start = true;
  while (i < s.size()) {
    const char c = s[i];
    if (at_field_start && c == '"') {
      field.quoted = true;
      ++i;
      for (;;) {
        BOOST_REQUIRE_MESSAGE(i < s.size(), "unterminated quoted field");
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field.text += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.text += s[i++];
      }
      at_field_start = false;
      BOOST_REQUIRE_MESSAGE(i == s.size() || s[i] == ',' || s[i] == '\r', "text after a closing quote at " << i);
      continue;
    }
    if (c == ',') {
      record.push_back(field);
      field = {};
      at_field_start = true;
      ++i;
    } else if (c == '\r') {
      BOOST_REQUIRE_MESSAGE(i + 1 < s.size() && s[i + 1] == '\n', "a bare CR at " << i);
      record.push_back(field);
      records.push_back(record);
      record.clear();
      field = {};
      at_field_start = true;
      i += 2;
    } else {
      BOOST_REQUIRE_MESSAGE(c != '"' && c != '\n', "an unquoted quote or LF at " << i);
      field.text += c;
      at_field_start = false;
      ++i;
    }
  }
  BOOST_REQUIRE_MESSAGE(record.empty() && at_field_start, "the last record has no CRLF");
  return records;
}

const std::vector<std::string> kOwnColumns = {"count",        "usual_disposition", "usual_disposition_description",
                                              "window_total", "window_distinct",   "final",
                                              "batch_id"};

std::vector<std::string> columns(const std::vector<std::string>& by) {
  std::vector<std::string> c = {"window_start", "window_end"};
  c.insert(c.end(), by.begin(), by.end());
  c.insert(c.end(), kOwnColumns.begin(), kOwnColumns.end());
  return c;
}

/// A pipe whose read end is closed: writing to it fails with EPIPE (SIGPIPE ignored).
struct BrokenPipe {
  std::FILE* file = nullptr;
  BrokenPipe() {
    std::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    ::close(fds[0]);
    file = ::fdopen(fds[1], "w");
    BOOST_REQUIRE(file != nullptr);
  }
  ~BrokenPipe() { std::fclose(file); }
};

bool is_not_output_closed(const sfcrime::IoError& e) { return dynamic_cast<const sfcrime::OutputClosed*>(&e) == nullptr; }

/// A window with the two rows most tests use: Traffic Stop (3: CIT, CIT, HAN) and Assault (2: ADV).
Window two_groups() {
  Window w;
  w.add(key("Traffic Stop"), "CIT", 2).add(key("Traffic Stop"), "HAN").add(key("Assault"), "ADV", 2);
  return w;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(json_row_is_the_documented_object) {
  MemoryFile out;
  const Window w = two_groups();
  TempFile codes(radio_json({{"CIT", "Citation issued"}}));
  const RadioCodes table = RadioCodes::load(codes.path());
  auto sink = sfcrime::make_sink(OutputFormat::json, out.file(), RowLabels{{"original_crime_type_name"}, &table});
  one_batch(*sink, 3, k0900, k0930, w, w.rows({key("Traffic Stop"), key("Assault")}), true);
  const std::string want =
      R"({"window_start":"2018-10-02T09:00:00","window_end":"2018-10-02T09:30:00",)"
      R"("original_crime_type_name":"Traffic Stop","count":3,"usual_disposition":"CIT",)"
      R"("usual_disposition_description":"Citation issued","window_total":5,"window_distinct":2,"final":true,"batch_id":3})"
      "\n"
      R"({"window_start":"2018-10-02T09:00:00","window_end":"2018-10-02T09:30:00",)"
      R"("original_crime_type_name":"Assault","count":2,"usual_disposition":"ADV",)"
      R"("usual_disposition_description":null,"window_total":5,"window_distinct":2,"final":true,"batch_id":3})"
      "\n";
  BOOST_TEST(out.text() == want);
  BOOST_TEST(sink->description() == "json");
}

BOOST_AUTO_TEST_CASE(json_keys_in_documented_order_for_several_by_fields) {
  MemoryFile out;
  Window w;
  w.add({std::nullopt, std::string(), std::string("x")}, "A");
  const std::vector<std::string> by = {"city", "address", "crime"};
  auto sink = sfcrime::make_sink(OutputFormat::json, out.file(), RowLabels{by, nullptr});
  one_batch(*sink, 0, k0900, k0930, w, w.rows({{std::nullopt, std::string(), std::string("x")}}), false);
  const auto lines = lines_of(out.text());
  BOOST_REQUIRE_EQUAL(lines.size(), 1u);
  const auto o = boost::json::parse(lines[0]).as_object();  // Boost.JSON keeps the text's key order
  BOOST_TEST(keys_of(o) == columns(by), boost::test_tools::per_element());
  BOOST_TEST(o.at("city").is_null());                         // null
  BOOST_TEST(o.at("address").as_string() == "");             // the empty string, not null
  BOOST_TEST(o.at("crime").as_string() == "x");
  BOOST_TEST(o.at("usual_disposition_description").is_null());  // no radio codes given
  BOOST_TEST(o.at("final").as_bool() == false);
  BOOST_TEST(o.at("batch_id").as_int64() == 0);
}

BOOST_AUTO_TEST_CASE(json_values_are_escaped) {
  const std::vector<std::string> values = {"say \"hi\"", "back\\slash", "two\nlines\r\n", "tab\there",
                                           std::string("nul\0byte", 8), "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac"};
  MemoryFile out;
  Window w;
  for (const auto& v : values) w.add({v}, v);
  std::vector<KeyTuple> keys;
  for (const auto& v : values) keys.push_back({v});
  auto sink = sfcrime::make_sink(OutputFormat::json, out.file(), RowLabels{{"k"}, nullptr});
  one_batch(*sink, 1, k0900, k0930, w, w.rows(keys), true);
  const auto lines = lines_of(out.text());
  BOOST_REQUIRE_EQUAL(lines.size(), values.size());  // newlines in values never break a line
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto o = boost::json::parse(lines[i]).as_object();
    BOOST_TEST((std::string_view(o.at("k").as_string()) == values[i]), i);
    BOOST_TEST((std::string_view(o.at("usual_disposition").as_string()) == values[i]), i);
  }
}

BOOST_AUTO_TEST_CASE(json_batches_and_windows) {
  MemoryFile out;
  const Window w = two_groups();
  auto sink = sfcrime::make_sink(OutputFormat::json, out.file(), RowLabels{{"t"}, nullptr});
  sink->begin_batch(BatchInfo{7, "update"});
  sink->window(k0900, k0930, w.agg, w.rows({key("Assault")}), true);
  sink->window(k0930, k1000, w.agg, {}, false);  // no rows: nothing written
  sink->window(k0930, k1000, w.agg, w.rows({key("Traffic Stop")}), false);
  sink->end_batch();
  sink->begin_batch(BatchInfo{8, "update"});
  sink->end_batch();  // an empty batch writes nothing
  const auto lines = lines_of(out.text());
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  const auto a = boost::json::parse(lines[0]).as_object(), b = boost::json::parse(lines[1]).as_object();
  BOOST_TEST(a.at("window_end").as_string() == "2018-10-02T09:30:00");
  BOOST_TEST(a.at("final").as_bool());
  BOOST_TEST(b.at("window_start").as_string() == "2018-10-02T09:30:00");
  BOOST_TEST(b.at("window_end").as_string() == "2018-10-02T10:00:00");
  BOOST_TEST(!b.at("final").as_bool());
  BOOST_TEST(a.at("batch_id").as_int64() == 7);
  BOOST_TEST(b.at("batch_id").as_int64() == 7);
}

BOOST_AUTO_TEST_CASE(json_window_bounds_with_milliseconds) {
  // format_naive_datetime appends .mmm only when the milliseconds are not zero (datetime.hpp).
  MemoryFile out;
  const Window w = two_groups();
  auto sink = sfcrime::make_sink(OutputFormat::json, out.file(), RowLabels{{"t"}, nullptr});
  one_batch(*sink, 0, k0900 + 250, k0900 + 1250, w, w.rows({key("Assault")}), true);
  const auto o = boost::json::parse(lines_of(out.text()).at(0)).as_object();
  BOOST_TEST(o.at("window_start").as_string() == "2018-10-02T09:00:00.250");
  BOOST_TEST(o.at("window_end").as_string() == "2018-10-02T09:00:01.250");
}

namespace {

/// The documented row built as a Boost.JSON object here and serialized by Boost.JSON: what the
/// direct path must write byte for byte.
std::string oracle_row(const std::vector<std::string>& by, const RadioCodes* codes, const std::string& start,
                       const std::string& end, const WindowAgg& w, const KeyTuple& key, const GroupStats& s, bool final,
                       std::int64_t batch) {
  // The usual disposition: most frequent, ties to the byte-wise smallest (window.hpp).
  std::string usual;
  std::uint64_t most = 0;
  bool any = false;
  for (const auto& [code, n] : s.dispositions)
    if (!any || n > most || (n == most && std::string_view(code) < std::string_view(usual))) {
      usual = code, most = n, any = true;
    }
  boost::json::object o;
  o["window_start"] = start;
  o["window_end"] = end;
  for (std::size_t i = 0; i < by.size(); ++i) {
    if (key.at(i))
      o[by[i]] = *key[i];
    else
      o[by[i]] = nullptr;
  }
  o["count"] = s.count;
  o["usual_disposition"] = usual;
  const std::string* d = codes ? codes->describe(usual) : nullptr;
  o["usual_disposition_description"] = d ? boost::json::value(*d) : boost::json::value(nullptr);
  o["window_total"] = w.total;
  o["window_distinct"] = w.groups.size();
  o["final"] = final;
  o["batch_id"] = batch;
  return boost::json::serialize(o);
}

/// Random text that needs escaping now and then: quotes, backslashes, control bytes, UTF-8.
struct TextGen {
  std::mt19937 rng{12345};
  std::string next(std::size_t max_len = 8) {
    static const std::vector<std::string> pieces = {"a", "Z", " ", "\"", "\\", "/", "\n", "\t", std::string("\0", 1),
                                                    "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
                                                    "\xf0\x9f\x9a\x93", "<", "&"};
    std::uniform_int_distribution<std::size_t> len(0, max_len), pick(0, pieces.size() - 1);
    std::string s;
    for (std::size_t n = len(rng); n > 0; --n) s += pieces[pick(rng)];
    return s;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(json_row_writer_direct_path_equals_the_object_serialized) {
  TextGen gen;
  std::vector<std::pair<std::string, std::string>> described;
  std::vector<std::string> codes;
  for (int i = 0; i < 12; ++i) {
    codes.push_back(gen.next(4) + std::to_string(i));
    if (i % 2 == 0) described.emplace_back(codes.back(), gen.next(12));  // half the codes have a description
  }
  TempFile file(radio_json(described));
  const RadioCodes table = RadioCodes::load(file.path());
  std::uniform_int_distribution<int> nby(0, 3), ncodes(0, 3), pick(0, 11), times(1, 4), coin(0, 4);
  std::uniform_int_distribution<std::int64_t> batch(0, 1'000'000);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> by;
    for (int i = nby(gen.rng); i > 0; --i) by.push_back("f" + std::to_string(i) + gen.next(3));
    const RowLabels labels{by, round % 3 == 0 ? nullptr : &table};
    JsonRowWriter writer(labels);
    Window w;
    std::vector<KeyTuple> keys;
    for (int g = 0; g < 5; ++g) {
      KeyTuple k;
      for (std::size_t i = 0; i < by.size(); ++i) k.push_back(coin(gen.rng) == 0 ? std::nullopt : std::optional(gen.next()));
      if (w.agg.groups.count(encode_key(k))) continue;
      const int n = ncodes(gen.rng);
      if (n == 0) w.agg.groups[encode_key(k)];  // a group without codes: usual disposition ""
      for (int c = 0; c < n; ++c) w.add(k, codes[static_cast<std::size_t>(pick(gen.rng))], times(gen.rng));
      keys.push_back(k);
    }
    const std::string start = gen.next(), end = gen.next();
    std::string text;
    for (const KeyTuple& k : keys) {
      const auto rows = w.rows({k});
      const bool final = coin(gen.rng) != 0;
      const std::int64_t b = batch(gen.rng);
      text.clear();
      writer.append(text, start, end, w.agg, rows[0], final, b);
      BOOST_TEST_REQUIRE(text == oracle_row(by, labels.codes, start, end, w.agg, k, *rows[0].stats, final, b));
    }
  }
}

BOOST_AUTO_TEST_CASE(json_row_writer_object_path_equals_the_direct_path) {
  // A --by field named like a row key ("count") or named twice makes the writer build a Boost.JSON
  // object; its assignments keep one value per key in its first place. So
  //   by {"count"} on key (v)      writes what by {} writes on key (v), and
  //   by {"a", "a"} on key (u, v)  writes what by {"a"} writes on key (v).
  TextGen gen;
  TempFile file(radio_json({{"CIT", "Citation \"issued\""}}));
  const RadioCodes table = RadioCodes::load(file.path());
  std::uniform_int_distribution<int> coin(0, 2);
  const RowLabels count_by{{"count"}, &table}, none{{}, &table}, twice{{"a", "a"}, &table}, once{{"a"}, &table};
  JsonRowWriter object1(count_by), direct1(none), object2(twice), direct2(once);
  for (int round = 0; round < 2000; ++round) {
    const std::optional<std::string> u = coin(gen.rng) ? std::optional(gen.next()) : std::nullopt;
    const std::optional<std::string> v = coin(gen.rng) ? std::optional(gen.next()) : std::nullopt;
    const std::string code = coin(gen.rng) ? "CIT" : gen.next(3);
    Window w;
    w.add({v}, code, 1 + round % 5).add({u, v}, code, 2);
    const std::string start = gen.next(), end = gen.next();
    const bool final = round % 2 == 0;
    std::string a, b;
    object1.append(a, start, end, w.agg, w.rows({{v}})[0], final, round);
    direct1.append(b, start, end, w.agg, w.rows({{v}})[0], final, round);
    BOOST_TEST_REQUIRE(a == b);
    a.clear();
    b.clear();
    // The same statistics under the one-part key, so that both rows read alike.
    Window w2;
    w2.add({u, v}, code, 3).add({v}, code, 3);
    object2.append(a, start, end, w2.agg, w2.rows({{u, v}})[0], final, round);
    direct2.append(b, start, end, w2.agg, w2.rows({{v}})[0], final, round);
    BOOST_TEST_REQUIRE(a == b);
  }
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(csv_header_and_rows) {
  MemoryFile out;
  const Window w = two_groups();
  TempFile codes(radio_json({{"CIT", "Citation issued"}}));
  const RadioCodes table = RadioCodes::load(codes.path());
  auto sink = sfcrime::make_sink(OutputFormat::csv, out.file(), RowLabels{{"original_crime_type_name"}, &table});
  one_batch(*sink, 3, k0900, k0930, w, w.rows({key("Traffic Stop"), key("Assault")}), true);
  const std::string want =
      "window_start,window_end,original_crime_type_name,count,usual_disposition,usual_disposition_description,"
      "window_total,window_distinct,final,batch_id\r\n"
      "2018-10-02T09:00:00,2018-10-02T09:30:00,Traffic Stop,3,CIT,Citation issued,5,2,true,3\r\n"
      "2018-10-02T09:00:00,2018-10-02T09:30:00,Assault,2,ADV,,5,2,true,3\r\n";
  BOOST_TEST(out.text() == want);
  BOOST_TEST(sink->description() == "csv");
}

BOOST_AUTO_TEST_CASE(csv_header_alone_when_no_row) {
  MemoryFile out;
  auto sink = sfcrime::make_sink(OutputFormat::csv, out.file(), RowLabels{{"a", "b"}, nullptr});
  sink->begin_batch(BatchInfo{0, "append"});
  sink->end_batch();
  sink->begin_batch(BatchInfo{1, "append"});
  sink->end_batch();
  const auto records = read_csv(out.text());
  BOOST_REQUIRE_EQUAL(records.size(), 1u);  // once, not per batch
  std::vector<std::string> names;
  for (const auto& f : records[0]) names.push_back(f.text);
  BOOST_TEST(names == columns({"a", "b"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(csv_header_once_across_batches) {
  MemoryFile out;
  const Window w = two_groups();
  auto sink = sfcrime::make_sink(OutputFormat::csv, out.file(), RowLabels{{"t"}, nullptr});
  one_batch(*sink, 0, k0900, k0930, w, w.rows({key("Assault")}), false);
  one_batch(*sink, 1, k0900, k0930, w, w.rows({key("Assault"), key("Traffic Stop")}), true);
  const auto records = read_csv(out.text());
  BOOST_REQUIRE_EQUAL(records.size(), 4u);
  BOOST_TEST(records[0][0].text == "window_start");
  for (std::size_t r = 1; r < records.size(); ++r) {
    BOOST_TEST(records[r].size() == columns({"t"}).size());
    BOOST_TEST(records[r][0].text == "2018-10-02T09:00:00");
  }
  BOOST_TEST(records[1].back().text == "0");
  BOOST_TEST(records[1][8].text == "false");
  BOOST_TEST(records[3].back().text == "1");
  BOOST_TEST(records[3][8].text == "true");
}

BOOST_AUTO_TEST_CASE(csv_quotes_commas_quotes_and_line_breaks) {
  const std::vector<std::string> values = {"a,b", "say \"hi\"", "two\nlines", "cr\rhere", "crlf\r\n", "\"", ",",
                                           " padded ", "plain", "caf\xc3\xa9"};
  MemoryFile out;
  Window w;
  std::vector<KeyTuple> keys;
  for (const auto& v : values) {
    w.add({v, std::string("x")}, v);
    keys.push_back({v, std::string("x")});
  }
  TempFile codes(radio_json({{"a,b", "one, \"two\"\nthree"}}));
  const RadioCodes table = RadioCodes::load(codes.path());
  auto sink = sfcrime::make_sink(OutputFormat::csv, out.file(), RowLabels{{"name, with comma", "q\"uote"}, &table});
  one_batch(*sink, 2, k0900, k0930, w, w.rows(keys), true);
  const std::string text = out.text();
  const auto records = read_csv(text);
  BOOST_REQUIRE_EQUAL(records.size(), values.size() + 1);
  BOOST_TEST(records[0][2].text == "name, with comma");
  BOOST_TEST(records[0][3].text == "q\"uote");
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& r = records[i + 1];
    BOOST_REQUIRE_EQUAL(r.size(), columns({"", ""}).size());
    BOOST_TEST(r[2].text == values[i]);
    BOOST_TEST(r[5].text == values[i]);  // usual disposition
    // Quoted exactly when the value holds a comma, quote, CR or LF.
    BOOST_TEST(r[2].quoted == (values[i].find_first_of(",\"\r\n") != std::string::npos), values[i]);
  }
  BOOST_TEST(records[1][6].text == "one, \"two\"\nthree");  // the description of "a,b"
  BOOST_TEST(records[2][6].text == "");
}

BOOST_AUTO_TEST_CASE(csv_null_is_an_empty_field_and_the_empty_string_is_two_quotes) {
  MemoryFile out;
  Window w;
  w.add({std::nullopt, std::string(), std::string("v")}, "CIT");
  auto sink = sfcrime::make_sink(OutputFormat::csv, out.file(), RowLabels{{"a", "b", "c"}, nullptr});
  one_batch(*sink, 0, k0900, k0930, w, w.rows({{std::nullopt, std::string(), std::string("v")}}), true);
  const auto lines = lines_of(out.text());
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(lines[1] == "2018-10-02T09:00:00,2018-10-02T09:30:00,,\"\",v,1,CIT,,1,1,true,0\r");
  const auto records = read_csv(out.text());
  BOOST_TEST(!records[1][2].quoted);  // null
  BOOST_TEST(records[1][3].quoted);   // ""
  BOOST_TEST(records[1][3].text == "");
  BOOST_TEST(!records[1][7].quoted);  // no description: null
}

// The usual disposition "" (records without a disposition, docs/streaming.md step 3) is "", not
// an empty field, which CSV's rule reads as null; JSON writes it as "" too.
BOOST_AUTO_TEST_CASE(csv_empty_usual_disposition_is_two_quotes) {
  MemoryFile out;
  Window w;
  w.add(key("Assault"), "");  // a record without a disposition counts as ""
  auto sink = sfcrime::make_sink(OutputFormat::csv, out.file(), RowLabels{{"t"}, nullptr});
  one_batch(*sink, 0, k0900, k0930, w, w.rows({key("Assault")}), true);
  const auto records = read_csv(out.text());
  BOOST_REQUIRE_EQUAL(records.size(), 2u);
  BOOST_TEST(records[1][4].text == "");
  BOOST_TEST(records[1][4].quoted);  // the empty string, not null
}

// ---------------------------------------------------------------------------------------------
// Table
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(table_reproduces_the_man_page_example) {
  // man sfcrime-aggregate, OUTPUT: window 09:00-09:30 with 41 records in 27 crime types, the top
  // row Traffic Stop, 12 records, usual disposition CIT (Citation issued).
  Window w;
  w.add(key("Traffic Stop"), "CIT", 12);
  for (int g = 0; g < 26; ++g) w.add(key(("type " + std::to_string(g)).c_str()), "ADV", g < 3 ? 2 : 1);
  BOOST_REQUIRE_EQUAL(w.agg.total, 41u);
  TempFile codes(radio_json({{"CIT", "Citation issued"}}));
  const RadioCodes table = RadioCodes::load(codes.path());
  MemoryFile out;
  auto sink = sfcrime::make_sink(OutputFormat::table, out.file(), RowLabels{{"original_crime_type_name"}, &table});
  one_batch(*sink, 3, k0900, k0930, w, w.rows({key("Traffic Stop")}), true);
  const std::string example =
      "-------------------------------------------\n"
      "Batch: 3   (append mode)\n"
      "-------------------------------------------\n"
      "\n"
      "2018-10-02T09:00:00 .. 2018-10-02T09:30:00   41 records, 27 crime types\n"
      "    count  original_crime_type_name  usual disposition\n"
      "       12  Traffic Stop              CIT           Citation issued\n";
  const std::string text = out.text();
  BOOST_TEST(text.substr(0, example.size()) == example);
  // The 26 rows left out by --top are counted after the shown ones.
  BOOST_TEST(text.substr(example.size()).find("26") != std::string::npos, text);
  BOOST_TEST(sink->description() == "table");
}

BOOST_AUTO_TEST_CASE(table_columns_are_aligned) {
  const std::vector<std::string> by = {"city", "a_much_longer_heading"};
  const std::vector<KeyTuple> keys = {{std::string("San Francisco"), std::string("x")},
                                      {std::nullopt, std::string("yy")},
                                      {std::string("SF"), std::nullopt},
                                      {std::string(""), std::string("a value longer than its heading")}};
  Window w;
  const std::vector<std::string> codes = {"CIT", "", "HAN", "A_LONG_CODE_X"};
  for (std::size_t i = 0; i < keys.size(); ++i) w.add(keys[i], codes[i], static_cast<int>(1 + 1000 * i));
  TempFile file(radio_json({{"CIT", "Citation issued"}}));
  const RadioCodes table = RadioCodes::load(file.path());
  MemoryFile out;
  auto sink = sfcrime::make_sink(OutputFormat::table, out.file(), RowLabels{by, &table});
  one_batch(*sink, 1, k0900, k0930, w, w.rows(keys), false, "update");
  const auto lines = lines_of(out.text());
  BOOST_REQUIRE_EQUAL(lines.size(), 5u + 1 + keys.size());
  BOOST_TEST(lines[1] == "Batch: 1   (update mode)");
  // 1 + 1001 + 2001 + 3001 records.
  BOOST_TEST(lines[4] == "2018-10-02T09:00:00 .. 2018-10-02T09:30:00   6004 records, 4 distinct keys  (not final)");
  // Cells as the man page names them: (null) for null, (none) for "", (not in radio codes).
  std::vector<std::vector<std::string>> cells;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::vector<std::string> row;
    for (const auto& part : keys[i]) row.push_back(part ? *part : "(null)");
    cells.push_back(row);
  }
  // Column starts: count right-aligned in 9, then each column as wide as its widest cell or
  // heading, two spaces apart; the usual disposition at least 12 wide.
  std::vector<std::size_t> width = {by[0].size(), by[1].size()};
  for (const auto& row : cells)
    for (std::size_t c = 0; c < 2; ++c) width[c] = std::max(width[c], row[c].size());
  const std::size_t by0 = 9 + 2, by1 = by0 + width[0] + 2, usual = by1 + width[1] + 2;
  const std::string& heading = lines[5];
  BOOST_TEST(heading.substr(0, 9) == "    count");
  BOOST_TEST(heading.substr(by0, by[0].size()) == by[0]);
  BOOST_TEST(heading.substr(by1, by[1].size()) == by[1]);
  BOOST_TEST(heading.substr(usual) == "usual disposition");
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string& line = lines[6 + i];
    const std::string count = std::to_string(1 + 1000 * i);
    BOOST_TEST(line.substr(0, 9) == std::string(9 - count.size(), ' ') + count, line);
    BOOST_TEST(line.substr(by0, width[0] + 2) == cells[i][0] + std::string(width[0] + 2 - cells[i][0].size(), ' '), line);
    BOOST_TEST(line.substr(by1, width[1] + 2) == cells[i][1] + std::string(width[1] + 2 - cells[i][1].size(), ' '), line);
    const std::string code = codes[i].empty() ? "(none)" : codes[i];
    const std::string desc = codes[i] == "CIT" ? "Citation issued" : "(not in radio codes)";
    const std::size_t code_width = std::max<std::size_t>(12, code.size());
    BOOST_TEST(line.substr(usual) == code + std::string(code_width - code.size() + 2, ' ') + desc, line);
  }
  for (const auto& l : lines) BOOST_TEST((l.empty() || l.back() != ' '), "trailing space: '" << l << "'");
}

BOOST_AUTO_TEST_CASE(table_without_radio_codes_has_no_description_column) {
  Window w;
  w.add(key("Assault"), "ADV");
  MemoryFile out;
  auto sink = sfcrime::make_sink(OutputFormat::table, out.file(), RowLabels{{"original_crime_type_name"}, nullptr});
  one_batch(*sink, 0, k0900, k0930, w, w.rows({key("Assault")}), true);
  const auto lines = lines_of(out.text());
  BOOST_REQUIRE_EQUAL(lines.size(), 7u);
  BOOST_TEST(lines[4] == "2018-10-02T09:00:00 .. 2018-10-02T09:30:00   1 record, 1 crime types");
  BOOST_TEST(lines[6] == "        1  Assault                   ADV");
}

BOOST_AUTO_TEST_CASE(table_one_header_per_batch_with_rows) {
  const Window w = two_groups();
  MemoryFile out;
  auto sink = sfcrime::make_sink(OutputFormat::table, out.file(), RowLabels{{"t"}, nullptr});
  sink->begin_batch(BatchInfo{0, "append"});
  sink->window(k0900, k0930, w.agg, w.rows({key("Assault")}), true);
  sink->window(k0930, k1000, w.agg, w.rows({key("Assault")}), true);
  sink->end_batch();
  sink->begin_batch(BatchInfo{1, "append"});  // no rows: no header
  sink->end_batch();
  sink->begin_batch(BatchInfo{2, "complete"});
  sink->window(k0900, k0930, w.agg, w.rows({key("Assault")}), true);
  sink->end_batch();
  std::vector<std::string> headers;
  for (const auto& l : lines_of(out.text()))
    if (l.rfind("Batch: ", 0) == 0) headers.push_back(l);
  BOOST_TEST(headers == (std::vector<std::string>{"Batch: 0   (append mode)", "Batch: 2   (complete mode)"}),
             boost::test_tools::per_element());
}

// ---------------------------------------------------------------------------------------------
// DeferredOutput, TeeSink, errors
// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(deferred_output_holds_until_release) {
  MemoryFile out;
  sfcrime::DeferredOutput d(out.file());
  std::fputs("first batch\n", d.file());
  BOOST_TEST(out.text() == "");
  d.release();
  BOOST_TEST(out.text() == "first batch\n");
  std::fputs("aborted batch\n", d.file());
  d.discard();
  d.release();  // nothing held
  BOOST_TEST(out.text() == "first batch\n");
  std::fputs("third\n", d.file());
  d.release();
  BOOST_TEST(out.text() == "first batch\nthird\n");
}

BOOST_AUTO_TEST_CASE(deferred_output_with_a_sink_and_more_than_a_buffer) {
  MemoryFile out;
  sfcrime::DeferredOutput d(out.file());
  Window w;
  std::vector<KeyTuple> keys;
  for (int i = 0; i < 3000; ++i) {
    keys.push_back(key(("group number " + std::to_string(i)).c_str()));
    w.add(keys.back(), "CIT");
  }
  auto deferred = sfcrime::make_sink(OutputFormat::json, d.file(), RowLabels{{"g"}, nullptr});
  one_batch(*deferred, 4, k0900, k0930, w, w.rows(keys), true);
  BOOST_TEST(out.text() == "");
  MemoryFile direct;
  auto plain = sfcrime::make_sink(OutputFormat::json, direct.file(), RowLabels{{"g"}, nullptr});
  one_batch(*plain, 4, k0900, k0930, w, w.rows(keys), true);
  BOOST_REQUIRE_GT(direct.text().size(), 1u << 17);  // several of release()'s 64 KiB reads
  d.release();
  BOOST_TEST((out.text() == direct.text()));
}

BOOST_AUTO_TEST_CASE(deferred_output_release_to_a_closed_pipe) {
  BrokenPipe pipe;
  sfcrime::DeferredOutput d(pipe.file);
  std::fputs("rows\n", d.file());
  BOOST_CHECK_THROW(d.release(), sfcrime::OutputClosed);
}

namespace {
/// A sink that logs the calls it gets.
class Recorder final : public Sink {
 public:
  Recorder(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(log) {}
  void begin_batch(const BatchInfo& b) override {
    Sink::begin_batch(b);
    log_.push_back(name_ + " begin " + std::to_string(b.batch_id) + " " + b.mode);
  }
  void window(std::int64_t start, std::int64_t end, const WindowAgg& w, const std::vector<WindowRow>& rows,
              bool final) override {
    log_.push_back(name_ + " window " + std::to_string(start) + ".." + std::to_string(end) + " total " +
                   std::to_string(w.total) + " rows " + std::to_string(rows.size()) + (final ? " final" : ""));
  }
  void end_batch() override { log_.push_back(name_ + " end " + std::to_string(batch_.batch_id)); }
  std::string description() const override { return name_; }

 private:
  std::string name_;
  std::vector<std::string>& log_;
};
}  // namespace

BOOST_AUTO_TEST_CASE(tee_sink_hands_each_call_to_each_sink_in_turn) {
  std::vector<std::string> log;
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::make_unique<Recorder>("a", log));
  sinks.push_back(std::make_unique<Recorder>("b", log));
  sfcrime::TeeSink tee(std::move(sinks));
  const Window w = two_groups();
  tee.begin_batch(BatchInfo{5, "update"});
  tee.window(1000, 2000, w.agg, w.rows({key("Assault")}), false);
  tee.end_batch();
  const std::vector<std::string> want = {"a begin 5 update",          "b begin 5 update",
                                         "a window 1000..2000 total 5 rows 1", "b window 1000..2000 total 5 rows 1",
                                         "a end 5",                   "b end 5"};
  BOOST_TEST(log == want, boost::test_tools::per_element());
  BOOST_TEST(tee.description() == "a + b");
}

BOOST_AUTO_TEST_CASE(tee_sink_of_text_sinks_writes_what_each_writes_alone) {
  const Window w = two_groups();
  const auto rows = w.rows({key("Traffic Stop"), key("Assault")});
  MemoryFile tj, tc, aj, ac;
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(sfcrime::make_sink(OutputFormat::json, tj.file(), RowLabels{{"t"}, nullptr}));
  sinks.push_back(sfcrime::make_sink(OutputFormat::csv, tc.file(), RowLabels{{"t"}, nullptr}));
  sfcrime::TeeSink tee(std::move(sinks));
  one_batch(tee, 9, k0900, k0930, w, rows, true);
  auto json = sfcrime::make_sink(OutputFormat::json, aj.file(), RowLabels{{"t"}, nullptr});
  auto csv = sfcrime::make_sink(OutputFormat::csv, ac.file(), RowLabels{{"t"}, nullptr});
  one_batch(*json, 9, k0900, k0930, w, rows, true);
  one_batch(*csv, 9, k0900, k0930, w, rows, true);
  BOOST_TEST(tj.text() == aj.text());
  BOOST_TEST(tc.text() == ac.text());
  BOOST_TEST(!tj.text().empty());
  BOOST_TEST(tee.description() == "json + csv");
}

BOOST_AUTO_TEST_CASE(every_sink_throws_output_closed_on_a_closed_pipe) {
  const Window w = two_groups();
  for (const OutputFormat f : {OutputFormat::json, OutputFormat::csv, OutputFormat::table}) {
    BrokenPipe pipe;
    auto sink = sfcrime::make_sink(f, pipe.file, RowLabels{{"t"}, nullptr});
    BOOST_CHECK_THROW(one_batch(*sink, 0, k0900, k0930, w, w.rows({key("Assault")}), true), sfcrime::OutputClosed);
  }
  // The CSV header alone, written at the end of an empty batch, meets the closed pipe too.
  BrokenPipe pipe;
  auto csv = sfcrime::make_sink(OutputFormat::csv, pipe.file, RowLabels{{"t"}, nullptr});
  csv->begin_batch(BatchInfo{0, "append"});
  BOOST_CHECK_THROW(csv->end_batch(), sfcrime::OutputClosed);
}

BOOST_AUTO_TEST_CASE(other_write_errors_are_io_errors_not_output_closed) {
  std::FILE* full = std::fopen("/dev/full", "w");  // every write fails with ENOSPC
  BOOST_REQUIRE(full != nullptr);
  const Window w = two_groups();
  auto sink = sfcrime::make_sink(OutputFormat::json, full, RowLabels{{"t"}, nullptr});
  BOOST_CHECK_EXCEPTION(one_batch(*sink, 0, k0900, k0930, w, w.rows({key("Assault")}), true), sfcrime::IoError,
                        is_not_output_closed);
  std::fclose(full);
}
