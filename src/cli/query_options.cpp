#include "sfcrime/cli/query_options.hpp"

#include "sfcrime/base/errors.hpp"

namespace sfcrime {

OutputMode parse_output_mode(const std::string& s) {
  if (s == "append") return OutputMode::append;
  if (s == "update") return OutputMode::update;
  if (s == "complete") return OutputMode::complete;
  throw OptionError("output-mode", "invalid --output-mode '" + s + "' (expected append, update or complete)");
}

std::vector<std::string> parse_field_list(const std::string& text, const char* what) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (;;) {
    const std::size_t comma = text.find(',', from);
    std::string part = text.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    if (part.empty())
      throw OptionError(what, std::string("invalid ") + what + " '" + text + "' (expected FIELD[,FIELD...] with no empty field)");
    out.push_back(std::move(part));
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return out;
}

Filter parse_filter(const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw OptionError("filter", "invalid --filter '" + text + "' (expected FIELD=VALUE[,VALUE...], e.g. "
                     "original_crime_type_name=Assault,Burglary)");
  Filter f;
  f.field = text.substr(0, eq);
  // Values may be empty strings ("disposition=" keeps records whose disposition is ""), so split
  // without parse_field_list's check.
  const std::string values = text.substr(eq + 1);
  std::size_t from = 0;
  for (;;) {
    const std::size_t comma = values.find(',', from);
    f.values.push_back(values.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return f;
}

OutputFormat parse_output_format(const std::string& s) {
  if (s == "table") return OutputFormat::table;
  if (s == "json") return OutputFormat::json;
  if (s == "csv") return OutputFormat::csv;
  throw OptionError("output", "invalid --output '" + s + "' (expected table, json or csv)");
}

}  // namespace sfcrime
