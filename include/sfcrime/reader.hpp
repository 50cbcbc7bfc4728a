#pragma once
/// Streaming reader of input records: a JSON array (pretty-printed like the real file, or compact)
/// or newline-delimited JSON (NDJSON, https://github.com/ndjson/ndjson-spec), from a file or
/// standard input, in bounded memory.
///
/// The reader only finds where each top-level record starts and ends; it does not build a DOM.
/// Memory is one read buffer (1 MiB) plus the largest record, capped by `max_record_bytes`.
/// The format is detected from the first non-blank byte: `[` means one JSON array, anything else
/// means NDJSON (one value per line; blank lines are skipped).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sfcrime {

/// One record's raw text as it stands in the input (not validated beyond bracket balance).
struct RawRecord {
  std::string_view text;      ///< valid until the next call to next()
  std::uint64_t number = 0;   ///< 1-based position of the record in the input
  std::uint64_t line = 0;     ///< 1-based line on which the record starts
};

/// Reads records one at a time from a file descriptor.
class RecordReader {
 public:
  enum class Format { unknown, array, ndjson };

  /// @param path a file path, or "-" for standard input.
  /// @param max_record_bytes the largest record accepted (default 16 MiB).
  /// @throws NoInputError if the file does not exist, IoError if it cannot be opened.
  explicit RecordReader(const std::string& path, std::size_t max_record_bytes = 16u << 20);
  /// Reads from an already open descriptor (not closed by the reader); `name` is used in messages.
  RecordReader(int fd, std::string name, std::size_t max_record_bytes = 16u << 20);
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  /// Advances to the next record.
  /// @returns false at the end of the input (an empty input has no records).
  /// @throws DataError for input that breaks the framing and cannot be resynchronised: an array
  ///         that is not closed (truncated input), a missing ',' between elements, data after the
  ///         closing ']', a string or value cut off by the end of input, a record over
  ///         max_record_bytes. The message gives the record number, line and byte offset.
  ///         IoError when read(2) fails.
  bool next(RawRecord& out);

  /// True when next() has something to work on without waiting for the descriptor: unscanned
  /// input is buffered, the input ended, or the descriptor becomes readable within `timeout_ms`
  /// (poll(2); a regular file is always readable). A record cut by the end of the buffer may still
  /// make next() wait for its rest.
  bool ready(int timeout_ms);

  Format format() const noexcept { return format_; }
  /// Bytes consumed from the input so far.
  std::uint64_t bytes_read() const noexcept { return base_ + pos_; }
  const std::string& name() const noexcept { return name_; }

 private:
  bool fill();                      // reads more input after the data in buf_; false at EOF
  bool skip_ws();                   // advances pos_ past whitespace; false at EOF
  std::size_t scan_value(std::size_t from);  // end of the JSON value starting at from
  std::string where(std::size_t at);
  void check_size(std::size_t from, std::size_t to);  // DataError if [from, to) exceeds the limit   // " (NAME line L, byte B)"
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
};

}  // namespace sfcrime
