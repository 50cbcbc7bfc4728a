#pragma once
/// Where aggregate results go: a table for people, NDJSON or CSV for scripts, a Kafka topic for
/// other programs. The row shape is written down in docs/streaming.md ("Rows").
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "sfcrime/errors.hpp"
#include "sfcrime/radio_codes.hpp"
#include "sfcrime/window.hpp"

namespace sfcrime {

namespace kafka {
class Producer;
}

/// Thrown by the stdout sinks when the reader of the output went away (EPIPE: `aggregate | head`):
/// the command stops quietly, without committing, as `consume` does.
struct OutputClosed : IoError {
  OutputClosed() : IoError("the output was closed") {}
};

/// What a sink is told at the start of each micro-batch's output. Rows can be emitted while the
/// batch is still running (StreamEngine::emit_while_running), so nothing here depends on how the
/// batch ends (its watermark, its counts: the progress report has those).
struct BatchInfo {
  std::int64_t batch_id = 0;
  const char* mode = "append";   ///< output mode
};

/// Receives the rows each micro-batch emits: begin_batch(), window() for each window with rows to
/// emit (oldest first; in append and update modes possibly while the batch runs), end_batch().
class Sink {
 public:
  virtual ~Sink() = default;
  /// Starts a batch's output; the batch's id, mode and watermark label what follows.
  virtual void begin_batch(const BatchInfo& batch) { batch_ = batch; }
  /// Writes `rows` of window [start_ms, end_ms) (already ordered and cut to --top).
  /// @param w the whole window's state (for window_total and window_distinct).
  /// @param final true when the window is closed and will not change any more.
  /// @throws IoError when the output cannot be written (EPIPE ends the command quietly upstream).
  virtual void window(std::int64_t start_ms, std::int64_t end_ms, const WindowAgg& w, const std::vector<WindowRow>& rows,
                      bool final) = 0;
  /// Ends the batch: flushes buffered output (a topic sink waits for delivery).
  /// @throws IoError; UnavailableError when rows were not delivered to a topic.
  virtual void end_batch() = 0;
  /// What the progress report calls the sink, e.g. "json" or "topic answers".
  virtual std::string description() const = 0;

 protected:
  BatchInfo batch_;
};

/// Output format of `aggregate --output`.
enum class OutputFormat { table, json, csv };

/// Parses "table", "json" or "csv". @throws UsageError otherwise.
OutputFormat parse_output_format(const std::string& s);

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

/// A sink that sends one message per row to `producer`'s topic number `topic_index` (0: the
/// topic it was made for; see kafka::Producer::add_topic), named `topic`: key the compact JSON
/// array [window_start, key1, ...], value the JSON row. end_batch() waits until every row is
/// delivered (in a transaction: written, visible once the transaction commits).
/// @throws UnavailableError from end_batch() when a row is not delivered within the producer's
///         message.timeout.ms.
std::unique_ptr<Sink> make_topic_sink(kafka::Producer& producer, std::string topic, RowLabels labels,
                                      std::size_t topic_index = 0);

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
