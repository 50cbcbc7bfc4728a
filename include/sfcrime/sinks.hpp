#pragma once
/// Where aggregate results go: a table for people, NDJSON for scripts.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "sfcrime/radio_codes.hpp"
#include "sfcrime/window.hpp"

namespace sfcrime {

/// Receives windows as they are emitted.
class Sink {
 public:
  virtual ~Sink() = default;
  /// Writes every row of window [start_ms, end_ms).
  /// @param final true when the window will not change any more.
  /// @throws IoError when the output cannot be written (EPIPE ends the command quietly upstream).
  virtual void window(std::int64_t start_ms, std::int64_t end_ms, const WindowAgg& w, bool final) = 0;
  /// Flushes buffered output. @throws IoError.
  virtual void flush() = 0;
};

/// Output format of `aggregate --output`.
enum class OutputFormat { table, json };

/// Parses "table" or "json". @throws UsageError otherwise.
OutputFormat parse_output_format(const std::string& s);

/// Makes the sink for `format`, writing to `out`.
/// @param group_field the grouping field's name, used as the JSON key and table heading.
/// @param codes disposition descriptions; absent codes are shown as absent.
///
/// JSON (one object per line, per window and group, windows oldest first, rows by count):
///   {"window_start":"2018-10-02T09:00:00","window_end":"2018-10-02T09:30:00",
///    "original_crime_type_name":"Traffic Stop","count":12,"usual_disposition":"CIT",
///    "usual_disposition_description":"Citation issued" | null,"window_total":41,
///    "window_distinct":27,"final":true}
/// window_total counts the window's records; window_distinct its distinct group values.
std::unique_ptr<Sink> make_sink(OutputFormat format, std::FILE* out, std::string group_field, const RadioCodes& codes);

}  // namespace sfcrime
