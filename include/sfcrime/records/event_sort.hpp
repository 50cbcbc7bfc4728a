#pragma once
/// External merge sort of records by event time, for `sfcrime produce --order event-time`.
///
/// The input file is newest first; sending it in ascending event time means sorting an input of
/// any size in bounded memory. EventTimeSorter keeps records (key, compact JSON value, event time,
/// record number) in an in-memory run of at most `run_bytes` bytes of record text; when a run is
/// full it is sorted and appended to one temporary file, which is unlinked as soon as it is
/// created (mkstemp in $TMPDIR or /tmp, then unlink), so nothing is left behind even when the
/// process is killed: the space is freed when the descriptor closes. finish() writes the last run
/// too, frees the in-memory run, and merges the runs (k-way, at most `max_fan_in` at a time; more
/// runs are first merged in passes into a second temporary file); next() yields the records in
/// order. An input that fits in one run is sorted in memory and never touches the disk.
///
/// Order: ascending event time; records with equal event times keep the order in which they were
/// added (the sort is stable), whatever run they fell into.
///
/// Memory: while adding, the current run (run_bytes of text, plus 24 bytes of framing and a
/// 16-byte index entry per record) and a 1 MiB write buffer while spilling; while merging from
/// disk, one read buffer per run (64 KiB, grown to the largest record read), at most max_fan_in of
/// them. Temporary disk space: the input's text plus 24 bytes a record (twice that during a
/// merge pass, which only happens beyond max_fan_in runs: 2 GiB of text with the defaults).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sfcrime {

/// One record as EventTimeSorter::next() yields it. The views stay valid until the next call to
/// next() (or the sorter's destruction).
struct SortedRecord {
  std::int64_t event_ms = 0;              ///< event time, ms since the naive epoch (may be < 0)
  std::uint64_t number = 0;               ///< the caller's record number (for messages)
  std::optional<std::string_view> key;    ///< message key; std::nullopt = null key
  std::string_view value;                 ///< message value (compact JSON text)
};

/// Sorts records by event time in bounded memory (see the file comment). Use: add() every record,
/// finish() once, then next() until it returns false. Not copyable; movable only by pointer.
class EventTimeSorter {
 public:
  /// Default run budget: 32 MiB of record text (keys and values) per in-memory run.
  static constexpr std::size_t kDefaultRunBytes = std::size_t{32} << 20;
  /// Default number of runs merged at once (one read buffer each).
  static constexpr std::size_t kDefaultFanIn = 64;

  /// @param run_bytes  bytes of record text (key + value) per in-memory run; a run is spilled
  ///                   before a record that would take it past this (a record larger than the
  ///                   budget makes a run of its own). Must be > 0.
  /// @param max_fan_in runs merged at once (>= 2); more runs are merged in passes first.
  /// @param tmp_dir    directory of the temporary file; empty means $TMPDIR, else /tmp.
  /// @throws std::invalid_argument for run_bytes == 0 or max_fan_in < 2.
  explicit EventTimeSorter(std::size_t run_bytes = kDefaultRunBytes, std::size_t max_fan_in = kDefaultFanIn,
                           std::string tmp_dir = {});
  ~EventTimeSorter();
  EventTimeSorter(const EventTimeSorter&) = delete;
  EventTimeSorter& operator=(const EventTimeSorter&) = delete;

  /// Adds one record (key and value are copied). Only before finish().
  /// @param event_ms event time in ms since the naive epoch (validate_record's Validated::event_ms).
  /// @param number   the record number, handed back by next() (not used for ordering).
  /// @param key      the message key, std::nullopt for a null key; at most 4 GiB - 2 bytes.
  /// @param value    the message value; at most 4 GiB - 1 bytes.
  /// @throws IoError when the temporary file cannot be created or written (the message names the
  ///         directory and the reason, and suggests TMPDIR); std::logic_error after finish();
  ///         std::length_error for a key or value over the limits above.
  void add(std::int64_t event_ms, std::uint64_t number, std::optional<std::string_view> key, std::string_view value);

  /// Ends the input and prepares the merge (merge passes happen here when there are more than
  /// max_fan_in runs on disk). Idempotent.
  /// @throws IoError on temporary-file errors.
  void finish();

  /// The next record in event-time order. Calls finish() if it was not called.
  /// @returns false once every record was yielded.
  /// @throws IoError when the temporary file cannot be read back (or ends early).
  bool next(SortedRecord& out);

  /// Records added so far.
  std::uint64_t records() const noexcept { return records_; }
  /// Runs written to the temporary file so far (0 when the input fit in memory).
  std::size_t runs_spilled() const noexcept { return runs_spilled_; }
  /// Bytes written to temporary files so far (runs and merge passes).
  std::uint64_t bytes_spilled() const noexcept { return bytes_spilled_; }
  /// The directory temporary files go to.
  const std::string& tmp_dir() const noexcept { return tmp_dir_; }

 private:
  struct Impl;  // the temporary file, its runs and the merge (src/records/event_sort.cpp)
  void spill();  // sorts the in-memory run and appends it to the temporary file

  std::size_t run_bytes_;
  std::size_t fan_in_;
  std::string tmp_dir_;
  // The in-memory run: records framed as in the temporary file (24-byte header, key, value),
  // and one index entry per record, sorted at spill or finish.
  std::string arena_;
  struct Entry {
    std::int64_t event_ms;
    std::size_t offset;  // into arena_; increases with insertion order, so it breaks ties stably
  };
  std::vector<Entry> index_;
  std::size_t text_bytes_ = 0;  // key + value bytes in the current run
  std::uint64_t records_ = 0;
  std::size_t runs_spilled_ = 0;
  std::uint64_t bytes_spilled_ = 0;
  bool finished_ = false;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sfcrime
