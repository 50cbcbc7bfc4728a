// Unit tests of cli/query_options.hpp: parse_output_format, parse_output_mode, parse_filter and
// parse_field_list (the query's options as text), and their usage errors.
#define BOOST_TEST_MODULE query_options
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/cli/query_options.hpp"

namespace {

using sfcrime::OutputFormat;
using sfcrime::OutputMode;
using Strings = std::vector<std::string>;

template <class F>
std::string usage_message(F&& f) {
  try {
    f();
  } catch (const sfcrime::UsageError& e) {
    return e.what();
  }
  BOOST_FAIL("expected a UsageError");
  return {};
}

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(output_formats) {
  BOOST_TEST((sfcrime::parse_output_format("table") == OutputFormat::table));
  BOOST_TEST((sfcrime::parse_output_format("json") == OutputFormat::json));
  BOOST_TEST((sfcrime::parse_output_format("csv") == OutputFormat::csv));
  for (const char* bad : {"", "JSON", "Table", " json", "json ", "ndjson", "tsv", "text"}) {
    const std::string m = usage_message([&] { sfcrime::parse_output_format(bad); });
    BOOST_TEST(contains(m, "--output"), m);
    BOOST_TEST(contains(m, "'" + std::string(bad) + "'"), m);
    BOOST_TEST(contains(m, "table, json or csv"), m);
  }
}

BOOST_AUTO_TEST_CASE(output_modes) {
  BOOST_TEST((sfcrime::parse_output_mode("append") == OutputMode::append));
  BOOST_TEST((sfcrime::parse_output_mode("update") == OutputMode::update));
  BOOST_TEST((sfcrime::parse_output_mode("complete") == OutputMode::complete));
  for (const char* bad : {"", "APPEND", "completed", "upd"}) {
    const std::string m = usage_message([&] { sfcrime::parse_output_mode(bad); });
    BOOST_TEST(contains(m, "--output-mode"), m);
    BOOST_TEST(contains(m, "'" + std::string(bad) + "'"), m);
  }
}

BOOST_AUTO_TEST_CASE(filters_keep_empty_values) {
  const auto f = sfcrime::parse_filter("disposition=");
  BOOST_TEST(f.field == "disposition");
  BOOST_TEST(f.values == Strings{""}, boost::test_tools::per_element());
  const auto g = sfcrime::parse_filter("disposition=CIT,,HAN,");
  BOOST_TEST(g.values == (Strings{"CIT", "", "HAN", ""}), boost::test_tools::per_element());
  // Only the first '=' splits: values may hold '='.
  const auto h = sfcrime::parse_filter("address=a=b,c");
  BOOST_TEST(h.field == "address");
  BOOST_TEST(h.values == (Strings{"a=b", "c"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(filters_need_a_field_and_an_equals_sign) {
  for (const char* bad : {"", "disposition", "=CIT", "="}) {
    const std::string m = usage_message([&] { sfcrime::parse_filter(bad); });
    BOOST_TEST(contains(m, "--filter"), m);
    BOOST_TEST(contains(m, "'" + std::string(bad) + "'"), m);
  }
}

BOOST_AUTO_TEST_CASE(field_lists) {
  BOOST_TEST(sfcrime::parse_field_list("a", "--by") == Strings{"a"}, boost::test_tools::per_element());
  BOOST_TEST(sfcrime::parse_field_list("a,b,c", "--by") == (Strings{"a", "b", "c"}), boost::test_tools::per_element());
  BOOST_TEST(sfcrime::parse_field_list("a b, c", "--by") == (Strings{"a b", " c"}), boost::test_tools::per_element());
  for (const char* bad : {"", ",", "a,", ",a", "a,,b"}) {
    const std::string m = usage_message([&] { sfcrime::parse_field_list(bad, "--fields"); });
    BOOST_TEST(contains(m, "--fields"), m);
    BOOST_TEST(contains(m, "'" + std::string(bad) + "'"), m);
  }
}
