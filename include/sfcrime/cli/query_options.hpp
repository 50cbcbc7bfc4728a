#pragma once
/// The options of `sfcrime aggregate` that name parts of the query (StreamSpec, engine.hpp) or
/// its output, as text.
#include <string>
#include <vector>

#include "sfcrime/stream/engine.hpp"
#include "sfcrime/stream/sinks.hpp"

namespace sfcrime {

/// Parses "append", "update" or "complete". @throws UsageError otherwise.
OutputMode parse_output_mode(const std::string& s);
/// Parses "FIELD=V1,V2". @throws UsageError when '=' or the field is missing.
Filter parse_filter(const std::string& text);

/// Splits "a,b,c" into fields. @throws UsageError for an empty field (e.g. "a,,b"), naming `what`.
std::vector<std::string> parse_field_list(const std::string& text, const char* what);

/// Parses "table", "json" or "csv". @throws UsageError otherwise.
OutputFormat parse_output_format(const std::string& s);

}  // namespace sfcrime
