#pragma once
/// Where aggregate results go on a stream: a table for people, NDJSON or CSV for scripts (a topic:
/// pipeline/topic_output.hpp). The row shape is written down in docs/streaming.md ("Rows").
#include <boost/json/serializer.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "sfcrime/records/radio_codes.hpp"
#include "sfcrime/stream/sink.hpp"

namespace sfcrime {

/// Output format of `aggregate --output`.
enum class OutputFormat { table, json, csv };

/// How rows are labelled: the grouping fields' names (JSON keys, CSV and table headings) and the
/// disposition descriptions (absent codes are shown as absent).
struct RowLabels {
  std::vector<std::string> by;
  /// The radio codes file's table, or null when none was given: descriptions are then null in
  /// JSON, empty in CSV, and the table shows the code alone (no claim about a file).
  const RadioCodes* codes = nullptr;
};

/// Makes the sink for `format`, writing to `out` (not owned).
///
/// JSON: one object per line, per window and group, the keys in this order:
///   {"window_start":"2018-10-02T09:00:00","window_end":"2018-10-02T09:30:00",
///    "<by field 1>":"Traffic Stop" | null, ..., "count":12,"usual_disposition":"CIT",
///    "usual_disposition_description":"Citation issued" | null,"window_total":41,
///    "window_distinct":27,"final":true,"batch_id":3}
/// window_total counts the window's records; window_distinct its distinct group keys.
/// CSV: RFC 4180, a header line with the same column names (written even when no row is), then
/// one line per row; null is an empty field, an empty string is "". Table: per batch a "Batch: N" header, per window a heading and aligned rows.
std::unique_ptr<Sink> make_sink(OutputFormat format, std::FILE* out, RowLabels labels);

/// Writes a row as the JSON object of docs/streaming.md ("Rows"), keys in their documented order,
/// straight into a string: the JSON sink's lines and the topic sink's message values.
class JsonRowWriter {
 public:
  /// `labels` is kept by reference and must outlive the writer.
  explicit JsonRowWriter(const RowLabels& labels);
  /// Appends the row (no newline). `start`/`end` as format_naive_datetime writes them.
  void append(std::string& text, const std::string& start, const std::string& end, const WindowAgg& w,
              const WindowRow& r, bool final, std::int64_t batch_id);

 private:
  const RowLabels& labels_;
  std::vector<std::string> quoted_by_;
  std::vector<std::string> scratch_;
  boost::json::serializer serializer_;
  bool direct_ = true;
};

/// A FILE* whose bytes are kept in a temporary file until release() writes them to a real stream:
/// what a stdout sink writes during a batch of `aggregate --exactly-once` is shown only once the
/// batch's transaction committed, so stdout never shows rows the committed output lacks.
class DeferredOutput {
 public:
  /// @param out where release() writes (not owned).
  /// @throws IoError if the temporary file cannot be made (tmpfile(3): $TMPDIR is not used, /tmp is).
  explicit DeferredOutput(std::FILE* out);
  ~DeferredOutput();
  DeferredOutput(const DeferredOutput&) = delete;
  DeferredOutput& operator=(const DeferredOutput&) = delete;
  /// The stream to give a sink.
  std::FILE* file() const noexcept { return file_; }
  /// Writes what was collected since the last release() or discard() to `out` and flushes it.
  /// @throws OutputClosed on EPIPE; IoError when `out` cannot be written or the file read back.
  void release();
  /// Drops what was collected (the batch's transaction was aborted).
  /// @throws IoError when the temporary file cannot be emptied.
  void discard();

 private:
  std::FILE* out_;
  std::FILE* file_ = nullptr;
};

/// Hands every call to each of `sinks` in turn.
class TeeSink final : public Sink {
 public:
  explicit TeeSink(std::vector<std::unique_ptr<Sink>> sinks) : sinks_(std::move(sinks)) {}
  void begin_batch(const BatchInfo& b) override;
  void window(std::int64_t start, std::int64_t end, const WindowAgg& w, const std::vector<WindowRow>& rows,
              bool final) override;
  void end_batch() override;
  std::string description() const override;

 private:
  std::vector<std::unique_ptr<Sink>> sinks_;
};

}  // namespace sfcrime
