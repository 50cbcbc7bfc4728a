// Unit tests of records/kept_file.hpp: kept lines (record, line, reason, text or text_base64,
// possibly_delivered) read back as written, with any bytes; lines that are call records or
// malformed are not kept lines; KeptFile writes whole lines, counts what it lost, and
// create_new() never takes an existing file.
#define BOOST_TEST_MODULE kept_file
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "sfcrime/records/kept_file.hpp"
#include "sfcrime/records/record.hpp"

namespace {

using sfcrime::KeptFile;
using sfcrime::PossiblyDelivered;

std::optional<sfcrime::KeptRecord> read_back(const std::string& line) {
  simdjson::dom::parser parser;
  const simdjson::dom::element v = parser.parse(line).value();
  return sfcrime::read_kept_line(v, sfcrime::RecordRules{});
}

std::filesystem::path fresh_dir() {
  const auto d = std::filesystem::temp_directory_path() / ("sfcrime-kept-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lines_read_back_as_written) {
  std::mt19937 rng(3);
  for (int i = 0; i < 300; ++i) {
    std::string text(rng() % 40, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 256);  // any bytes, invalid UTF-8 too
    const PossiblyDelivered p{"calls", static_cast<std::int32_t>(rng() % 6), static_cast<std::int64_t>(rng() % 1000)};
    const bool possibly = rng() % 2;
    const std::string line = sfcrime::kept_line(7 + i, i % 3 ? std::optional<std::uint64_t>(i) : std::nullopt,
                                                "not delivered: x", text, possibly ? &p : nullptr);
    BOOST_TEST_REQUIRE(line.back() == '\n');
    const boost::json::object o = boost::json::parse(line).as_object();  // valid JSON whatever the bytes
    BOOST_TEST(o.at("record").to_number<std::uint64_t>() == static_cast<std::uint64_t>(7 + i));
    const auto k = read_back(line);
    BOOST_TEST_REQUIRE(k.has_value());
    BOOST_TEST(k->text == text);
    BOOST_TEST(k->possibly.has_value() == possibly);
    if (possibly)
      BOOST_TEST((k->possibly->topic == p.topic && k->possibly->partition == p.partition &&
                  k->possibly->after_offset == p.after_offset));
  }
}

BOOST_AUTO_TEST_CASE(call_records_and_other_objects_are_not_kept_lines) {
  BOOST_TEST(!read_back(R"({"record":1,"reason":"r","text":"t","call_date_time":"2018-10-02T09:00:00"})"));
  BOOST_TEST(!read_back(R"({"record":"1","reason":"r","text":"t"})"));
  BOOST_TEST(!read_back(R"({"record":1,"text":"t"})"));
  BOOST_TEST(!read_back(R"({"record":1,"reason":"r"})"));
  BOOST_TEST(!read_back(R"({"record":1,"reason":"r","text_base64":"not base64!"})"));
  BOOST_TEST(!read_back(R"([1,2])"));
}

BOOST_AUTO_TEST_CASE(a_kept_file_writes_whole_lines_and_counts_what_it_lost) {
  const auto dir = fresh_dir();
  KeptFile f((dir / "failed.ndjson").string(), "failed file");
  BOOST_TEST(!f.write("before open\n"));  // not open yet: lost
  f.open();
  BOOST_TEST(f.write("one\n"));
  BOOST_TEST(f.write("two\n"));
  f.close();
  BOOST_TEST(f.kept() == 2u);
  BOOST_TEST(f.lost() == 1u);
  std::ifstream in(f.path());
  std::stringstream s;
  s << in.rdbuf();
  BOOST_TEST(s.str() == "one\ntwo\n");
  KeptFile full("/dev/full", "failed file");
  full.open();
  BOOST_TEST(!full.write("x\n"));
  BOOST_TEST(!full.write("y\n"));  // after a failed write nothing more is written
  BOOST_TEST(full.lost() == 2u);
  BOOST_TEST(!full.error().empty());
  BOOST_TEST(!full.whole());
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(create_new_never_takes_an_existing_file) {
  const auto dir = fresh_dir();
  std::ofstream(dir / "failed-t.ndjson") << "an earlier run's\n";
  KeptFile a("", "failed file"), b("", "failed file");
  BOOST_TEST_REQUIRE(a.create_new(dir.string(), "failed-t"));
  BOOST_TEST_REQUIRE(b.create_new(dir.string(), "failed-t"));
  BOOST_TEST(a.path() == (dir / "failed-t-2.ndjson").string());
  BOOST_TEST(b.path() == (dir / "failed-t-3.ndjson").string());
  a.remove();
  BOOST_TEST(!std::filesystem::exists(a.path()));
  std::ifstream in(dir / "failed-t.ndjson");
  std::string first;
  std::getline(in, first);
  BOOST_TEST(first == "an earlier run's");
  KeptFile c("", "failed file");
  BOOST_TEST(!c.create_new((dir / "no-such-dir").string(), "failed-t"));
  BOOST_TEST(!c.error().empty());
  std::filesystem::remove_all(dir);
}
