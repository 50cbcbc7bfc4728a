#pragma once
/// Streaming reader of input records: a JSON array (pretty-printed like the real file, or compact)
/// or newline-delimited JSON (NDJSON, https://github.com/ndjson/ndjson-spec), from a file or
/// standard input, in bounded memory.
///
/// The reader only finds where each top-level record starts and ends; it does not build a DOM.
/// Memory is one read buffer (1 MiB) plus the largest record. A record over `max_record_bytes`
/// is not an error: it is returned whole, marked RawRecord::too_large, for the caller to reject
/// and keep like any other bad record, and the input goes on (issue 15); so the largest record
/// held is the input's largest, over the limit or not.
/// The format is detected from the first non-blank byte: `[` means one JSON array, anything else
/// means NDJSON (one value per line; blank lines are skipped).
#include <cstddef>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sfcrime {

/// The default of RecordReader's `max_record_bytes`: 16 MiB (16777216 bytes).
inline constexpr std::size_t kMaxRecordBytes = 16u << 20;

/// One record's raw text as it stands in the input (not validated beyond bracket balance).
struct RawRecord {
  /// The record, from its first byte to its last (no surrounding whitespace); for a too_large
  /// record too, all of it. Valid until the next call to next().
  std::string_view text;
  /// With RecordReader::set_compact(true): `text` without the whitespace between its tokens (the
  /// compact form, as simdjson::minify or compact_json() would write it), made in the same pass
  /// that finds the record's end; else empty, and always empty for a too_large record.
  /// Valid until the next call to next().
  std::string_view compact;
  std::uint64_t number = 0;   ///< 1-based position of the record in the input
  std::uint64_t line = 0;     ///< 1-based line on which the record starts
  /// `text` is longer than the reader's max_record_bytes: a record to reject (its reason:
  /// too_large_reason()), not to parse. Its end was found as any record's (NDJSON: its line's
  /// end; JSON array: the element's end by bracket balance, strings skipped whole).
  bool too_large = false;
};

/// Why a too_large record is rejected, as produce and aggregate report it:
/// "record is N bytes, over the limit of L bytes" plus " (M MiB)" when L is whole MiB.
/// @param record_bytes the record's size (RawRecord::text), bytes; @param limit max_record_bytes.
std::string too_large_reason(std::size_t record_bytes, std::size_t limit = kMaxRecordBytes);

/// Reads records one at a time from a file descriptor.
class RecordReader {
 public:
  enum class Format { unknown, array, ndjson };

  /// @param path a file path, or "-" for standard input.
  /// @param max_record_bytes the largest record returned as a record, bytes (default 16 MiB);
  ///        a larger one is returned marked RawRecord::too_large.
  /// @throws NoInputError if the file does not exist, IoError if it cannot be opened,
  ///         InterruptedError on SIGINT or SIGTERM while open(2) waits (a FIFO without a writer).
  explicit RecordReader(const std::string& path, std::size_t max_record_bytes = kMaxRecordBytes);
  /// Reads from an already open descriptor (not closed by the reader); `name` is used in messages.
  RecordReader(int fd, std::string name, std::size_t max_record_bytes = kMaxRecordBytes);
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  /// Advances to the next record. A record over max_record_bytes is returned whole with
  /// RawRecord::too_large set (and no compact form); the next call goes on after it.
  /// @returns false at the end of the input (an empty input has no records).
  /// @throws DataError for input that breaks the framing and cannot be resynchronised: an array
  ///         that is not closed (truncated input), a missing ',' between elements, data after the
  ///         closing ']', a string or value cut off by the end of input, a mismatched bracket
  ///         (also inside a record over the limit: its end is found by the same scan). The
  ///         message gives the record number, line and byte offset.
  ///         IoError when read(2) fails.
  bool next(RawRecord& out);

  /// True when next() has something to work on without waiting for the descriptor: unscanned
  /// input is buffered, the input ended, or the descriptor becomes readable within `timeout_ms`
  /// (poll(2); a regular file is always readable). A record cut by the end of the buffer may still
  /// make next() wait for its rest.
  bool ready(int timeout_ms);

  /// Also writes each record's compact form (RawRecord::compact): what `produce` sends.
  void set_compact(bool on) noexcept { compact_on_ = on; }

  /// True when the input is a regular file (reading it never waits for a writer).
  bool regular_file() const noexcept;

  /// The limit given to the constructor, bytes.
  std::size_t max_record_bytes() const noexcept { return max_record_; }

  Format format() const noexcept { return format_; }
  /// Bytes consumed from the input so far.
  std::uint64_t bytes_read() const noexcept { return base_ + pos_; }
  const std::string& name() const noexcept { return name_; }

 private:
  bool fill();                      // reads more input after the data in buf_; false at EOF
  bool skip_ws();                   // advances pos_ past whitespace; false at EOF
  // End of the JSON value starting at from; counts its lines into scanned_lines_ and, with
  // compact_on_, writes its compact form to compact_ (left empty for a value over the limit).
  std::size_t scan_value(std::size_t from);
  std::string where(std::size_t at);  // " (NAME line L, byte B)"
  void count_lines(std::size_t upto);

  int fd_ = -1;
  bool owns_fd_ = false;
  std::string name_;
  std::size_t max_record_;
  std::string buf_;        // holds [0, end_) of input from offset base_
  std::size_t end_ = 0;
  std::size_t pos_ = 0;    // scanning position in buf_
  std::size_t counted_ = 0;  // lines counted up to this position in buf_
  std::uint64_t base_ = 0;  // input offset of buf_[0]
  std::uint64_t line_ = 1;
  std::uint64_t number_ = 0;
  bool eof_ = false;
  bool done_ = false;
  bool expect_comma_ = false;
  Format format_ = Format::unknown;
  bool compact_on_ = false;
  std::string compact_;              // the last record's compact form
  std::uint64_t scanned_lines_ = 0;  // newlines inside the last scanned value
};

/// A RecordReader run in a thread of its own, a few batches ahead of the caller, so that finding
/// and compacting the records (one pass over every byte) overlaps with what the caller does with
/// them (`produce`: parsing, validating, handing to librdkafka) on a second core.
///
/// Only for regular files (RecordReader::regular_file()): a read of a pipe can wait for its writer
/// without end, and the thread could then not be stopped; callers read pipes directly.
/// Records, their numbers, lines and too_large marks, and the errors thrown are those of the
/// RecordReader, in the same order: an error comes after every record before it. Memory: kBatches
/// batches of at most kBatchRecords records or kBatchBytes bytes of text (plus one record larger
/// than that). A too_large record is a batch of its own, and a batch that grew past twice
/// kBatchBytes frees its storage when it is reused, so that the batches do not keep the size of
/// the largest record once the caller has taken it.
class ReadAheadReader {
 public:
  /// Takes the reader (configured: set_compact) and starts the thread.
  explicit ReadAheadReader(std::unique_ptr<RecordReader> reader);
  /// Stops the thread (it is at most one batch from noticing) and joins it.
  ~ReadAheadReader();
  ReadAheadReader(const ReadAheadReader&) = delete;
  ReadAheadReader& operator=(const ReadAheadReader&) = delete;

  /// As RecordReader::next(): the next record (its views valid until the next call), false at the
  /// end of the input. @throws what RecordReader::next() threw, once the records before it are taken.
  bool next(RawRecord& out);

  /// Bytes of the input consumed up to the end of the record next() returned last (the
  /// reader's RecordReader::bytes_read() then), or the whole input once next() returned false:
  /// what a progress bar counts against the file's size. Caller's thread only.
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }

  static constexpr std::size_t kBatches = 4;
  static constexpr std::size_t kBatchRecords = 1024;
  static constexpr std::size_t kBatchBytes = 1u << 20;

 private:
  struct Batch;
  void run() noexcept;

  std::unique_ptr<RecordReader> reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> free_, full_;  // guarded by mu_
  bool stop_ = false;                               // guarded by mu_
  std::unique_ptr<Batch> current_;                  // the caller's batch
  std::size_t at_ = 0;                              // next record of current_
  std::uint64_t bytes_read_ = 0;                    // see bytes_read()
  std::thread thread_;
};

}  // namespace sfcrime
