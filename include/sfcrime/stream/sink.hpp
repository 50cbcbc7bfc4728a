#pragma once
/// Where the engine hands the rows each micro-batch emits (StreamEngine::end_batch). The concrete
/// sinks: sinks.hpp (table, NDJSON, CSV on a stream) and pipeline/topic_output.hpp (a topic).
#include <cstdint>
#include <string>
#include <vector>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/stream/window.hpp"

namespace sfcrime {

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

}  // namespace sfcrime
