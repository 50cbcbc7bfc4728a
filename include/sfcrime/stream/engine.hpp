#pragma once
/// The streaming engine of `sfcrime aggregate`: event-time windows with a watermark, late records,
/// output modes and micro-batches, with the semantics written down in docs/streaming.md (Spark
/// Structured Streaming's words; the watermark moves per record as Kafka Streams' stream time does).
///
/// The engine knows nothing of Kafka or files: callers extract each record (Extractor), feed it
/// with add(), and call end_batch() at every trigger, which hands the rows to emit to a Sink.
/// Times are milliseconds since the naive epoch (datetime.hpp).
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sfcrime/records/record.hpp"
#include "sfcrime/stream/group_key.hpp"
#include "sfcrime/stream/sink.hpp"
#include "sfcrime/stream/window.hpp"

namespace sfcrime {

/// Spark's output modes (docs/streaming.md, "Output modes").
enum class OutputMode { append, update, complete };

/// "append", "update" or "complete".
const char* to_string(OutputMode m) noexcept;

/// `--filter FIELD=V1[,V2...]`: keeps records whose FIELD is a string equal to one of the values.
struct Filter {
  std::string field;                ///< the record's field, compared as a string
  std::vector<std::string> values;  ///< accepted values (exact, byte-wise); "" matches an empty string
};

/// What to compute: the query of `sfcrime aggregate`.
struct StreamSpec {
  WindowSpec windows;                                           ///< size and slide, ms
  std::int64_t watermark_delay_ms = 3'600'000;                  ///< allowed lateness, ms (>= 0)
  OutputMode mode = OutputMode::append;
  std::vector<std::string> by = {"original_crime_type_name"};   ///< grouping fields, >= 1
  std::vector<Filter> filters;                                  ///< all must hold
  std::string time_field = "call_date_time";                    ///< event time
  std::string disposition_field = "disposition";                ///< for the usual disposition
  std::size_t top = 0;                                          ///< rows per window; 0 = all
};

/// One record as the engine sees it.
struct Extracted {
  enum class Kind { valid, invalid, filtered };
  Kind kind = Kind::invalid;  ///< invalid (not a record), filtered (fails --filter) or valid
  std::string reason;        ///< why it is invalid
  std::int64_t event_ms = 0; ///< valid and filtered records
  std::string group;         ///< encoded group key (valid records)
  std::string disposition;   ///< disposition code, "" when absent
  /// Valid records: bit i set when --by field i (i < 64) is present and not null.
  std::uint64_t by_present = 0;
};

/// Parses and classifies record texts for one StreamSpec (steps 1, 2 and 5 of docs/streaming.md,
/// "Per record"): invalid (not a JSON object; time field missing, not a string, not a date-time),
/// filtered (fails a --filter), else valid with its event time, group key and disposition.
/// The spec is kept by reference and must outlive the Extractor.
class Extractor {
 public:
  explicit Extractor(const StreamSpec& spec);
  /// Fills `out` (reusing its storage) from one record's JSON text.
  void extract(std::string_view text, Extracted& out);

 private:
  const StreamSpec& spec_;
  RecordRules rules_;
  RecordParser parser_;
};

/// Counters of one micro-batch, reset by end_batch().
struct BatchCounters {
  std::uint64_t input = 0;          ///< messages taken (valid, invalid and filtered)
  std::uint64_t invalid = 0;
  std::uint64_t filtered = 0;
  std::uint64_t late = 0;           ///< records all of whose windows were closed
  std::uint64_t dropped_pairs = 0;  ///< (record, window) pairs skipped because the window closed
  std::uint64_t rows_updated = 0;   ///< (window, group) rows whose count changed
  std::uint64_t rows_out = 0;       ///< rows emitted (while the batch ran and at its end)
  std::int64_t min_event = std::numeric_limits<std::int64_t>::max();  ///< of added or late records
  std::int64_t max_event = std::numeric_limits<std::int64_t>::min();
};

/// Told, at the end of each batch, how the engine's state changed, so that it can be written to a
/// changelog (aggregate --exactly-once, state_store.hpp) and restored with StreamEngine::restore_*.
class StateObserver {
 public:
  virtual ~StateObserver() = default;
  /// Window `start` (ms) holds `w` after the batch (it was added to in the batch).
  virtual void window_changed(std::int64_t start, const WindowAgg& w) = 0;
  /// Window `start` was closed and its state freed (append and update modes).
  virtual void window_freed(std::int64_t start) = 0;
  /// The engine's clock after the batch: largest event time seen and watermark (ms; kMinTime /
  /// kMaxTime for -infinity / +infinity), and the id the next batch will get.
  virtual void clock(std::int64_t max_event, std::int64_t watermark, std::int64_t next_batch_id) = 0;
};

/// Window state, watermark and emission per output mode.
class StreamEngine {
 public:
  /// -infinity and +infinity for watermarks.
  static constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();
  static constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();

  explicit StreamEngine(StreamSpec spec);

  /// Takes one extracted record of the current batch. Valid records move the watermark (before
  /// their windows are checked) and are added to every window of theirs that is still open.
  /// @returns false when the record is late (all its windows closed): not added.
  bool add(const Extracted& x);

  /// Emits while the batch runs: in append and update modes, add() hands each window the
  /// watermark closes to `sink` (its rows as end_batch() would emit them: a closed window never
  /// changes again, and closed windows are always older than open ones, so the order is kept) and
  /// frees it at once, telling `state` (when not null). The state held is then bounded by the open
  /// windows, not by the size of the batch (docs/streaming.md, "Output modes"). end_batch() must
  /// be given the same sink and state. Null `sink`: emit only at end_batch() (the default).
  /// Both are kept by pointer and must outlive the engine's use of them.
  void emit_while_running(Sink* sink, StateObserver* state = nullptr) noexcept {
    live_sink_ = sink;
    live_state_ = state;
  }

  /// Ends the current batch: hands the rows to emit (per output mode) to `sink` between
  /// sink.begin_batch() (unless add() already began the batch's output, emit_while_running())
  /// and sink.end_batch(), frees the state of closed windows in append and update modes, and
  /// starts the next batch.
  /// @param final_batch true at the end of input: the watermark goes to +infinity first, so every
  ///        window closes.
  /// @returns the rows emitted in the batch (while it ran and now).
  /// @throws whatever the sink throws (IoError, UnavailableError).
  std::uint64_t end_batch(bool final_batch, Sink& sink);
  /// As end_batch(final_batch, sink), and tells `state` (when not null), after the rows were
  /// emitted, every window changed or freed in the batch and the clock.
  std::uint64_t end_batch(bool final_batch, Sink& sink, StateObserver* state);

  // --- scale-out (aggregate --scale-out, topology.hpp): the engine as one stage of several ---

  /// Stage "aggregate": the watermark is no longer moved by the records added (their event times
  /// still count for max_event and the disorder), only by advance_watermark(), which the caller
  /// gives the smallest of its upstream writers' watermarks (the Dataflow model's watermark
  /// propagation; Apache Flink takes the minimum over its input channels the same way).
  void use_external_watermark() noexcept { external_watermark_ = true; }
  /// Stage "assemble": sets the row (window `start`, encoded `group`) to `stats` as the aggregate
  /// stage computed it, creating the window and row as needed; the window's total moves by the
  /// change of the count, and the row counts as changed in this batch.
  /// @returns false (nothing changed) when the window is already closed by the watermark.
  bool upsert_row(std::int64_t start, std::string_view group, const GroupStats& stats);
  /// Stages "aggregate" and "assemble": raises the watermark to `watermark` (the smallest of the
  /// upstream tasks' watermarks); never lowers it. With emit_while_running(), windows it closes
  /// are emitted and freed at once.
  void advance_watermark(std::int64_t watermark);

  /// Restores one window's state (before the first add()): as a changelog holds it. Its rows
  /// count as unchanged (update mode does not emit them again until they change).
  void restore_window(std::int64_t start, WindowAgg w);
  /// Restores the clock (before the first add()): largest event time seen, watermark, and the id
  /// of the next batch. The watermark never goes back: it is kept as restored, so a run after one
  /// that ended with --exit-at-end (watermark +infinity) finds every new record late.
  void restore_clock(std::int64_t max_event, std::int64_t watermark, std::int64_t next_batch_id);

  /// The watermark, ms: kMinTime before the first valid record, kMaxTime after the final batch.
  std::int64_t watermark() const noexcept { return watermark_; }
  /// The batch being collected (0-based).
  std::int64_t batch_id() const noexcept { return batch_id_; }
  /// Counters of the batch being collected.
  const BatchCounters& batch() const noexcept { return batch_; }
  /// (window, group) rows held in state.
  std::uint64_t rows_total() const noexcept { return rows_; }
  /// Windows held in state.
  std::size_t windows_held() const noexcept { return windows_.size(); }
  /// Totals over every batch so far.
  const BatchCounters& totals() const noexcept { return totals_; }
  /// How far out of event-time order the valid records came, ms: the largest amount by which a
  /// record's event time was older than the largest one seen before it (0 for records in order).
  /// A --watermark at least this long makes no record late.
  std::int64_t max_disorder_ms() const noexcept { return max_disorder_; }
  /// True when the first valid record had the largest event time of all seen so far (an input
  /// that runs backwards, newest first).
  bool newest_came_first() const noexcept { return first_event_ != kMinTime && first_event_ == max_event_; }
  /// The query this engine computes.
  const StreamSpec& spec() const noexcept { return spec_; }
  /// Window start -> state, oldest first.
  const std::map<std::int64_t, WindowAgg>& windows() const noexcept { return windows_; }

 private:
  void emit_window(std::int64_t start, const WindowAgg& w, bool closed, Sink& sink);
  // Emits and frees the windows the watermark has closed, oldest first (append and update
  // modes); stops at the first open one.
  void close_windows(Sink& sink, StateObserver* state);
  // Calls sink.begin_batch() once per batch, before the batch's first window.
  void begin_output(Sink& sink);

  StreamSpec spec_;
  Sink* live_sink_ = nullptr;
  StateObserver* live_state_ = nullptr;
  bool output_begun_ = false;
  bool external_watermark_ = false;
  std::int64_t first_event_ = kMinTime;
  std::int64_t max_disorder_ = 0;
  std::map<std::int64_t, WindowAgg> windows_;
  std::uint64_t rows_ = 0;
  std::int64_t max_event_ = kMinTime;
  std::int64_t watermark_ = kMinTime;
  std::int64_t batch_id_ = 0;
  BatchCounters batch_;
  BatchCounters totals_;
};

/// A watermark as the progress report and the table show it: "-infinity" before the first record,
/// "+infinity" after the final batch, else the naive date-time.
std::string format_watermark(std::int64_t watermark);

/// a + b and a - b clamped to the int64 range (window ends and watermarks near the limits).
std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept;
std::int64_t saturating_sub(std::int64_t a, std::int64_t b) noexcept;

}  // namespace sfcrime
