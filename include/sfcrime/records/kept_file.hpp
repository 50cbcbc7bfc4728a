#pragma once
/// Kept records: the lines of `produce --dead-letter-file` and `--failed-file`, and the file they
/// are written to. Nothing `produce` reads is lost without a word: a rejected record can be kept in
/// a dead-letter file, a record that was not delivered is kept in the failed file, and
/// `sfcrime produce --file F` reads such a file back, sending each line's record.
///
/// One line (NDJSON):
///   {"record": N, "line": L or null, "reason": "...", "text": "..."[, "possibly_delivered":
///    {"topic": T, "partition": P, "after_offset": O}]}
/// "text" is the record's text; a text that is not valid UTF-8 (so not a JSON string) is given as
/// "text_base64" instead (RFC 4648 base64), so every line stays valid JSON and no byte is lost.
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sfcrime/records/record.hpp"

namespace sfcrime {

/// Where a record that was sent without an answer would be if the broker wrote it: the first
/// matching message after `after_offset` in `partition` of `topic`.
struct PossiblyDelivered {
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t after_offset = -1;
};

/// One kept line (with its newline), as above. A reason that is not valid UTF-8 has its non-ASCII
/// bytes replaced by '?'.
std::string kept_line(std::uint64_t record, std::optional<std::uint64_t> line, std::string_view reason,
                      std::string_view text, const PossiblyDelivered* possibly = nullptr);

/// A kept line read back: the record's text and, for one sent without an answer, where it may be.
struct KeptRecord {
  std::string text;
  std::optional<PossiblyDelivered> possibly;
};

/// Recognises a kept line: an object with "record" (a number), "reason" (a string) and "text" (a
/// string) or "text_base64", and without the event-time field `rules.time_field` (so never a call
/// record). @returns std::nullopt for anything else.
std::optional<KeptRecord> read_kept_line(const simdjson::dom::element& v, const RecordRules& rules);

/// A file of kept lines, created (or truncated) when first written, line by line with write(2)
/// so that what is counted as kept is on its way to the disk. After a failed write nothing more
/// is written (a half-written line would spoil the next one): every later line counts as lost.
class KeptFile {
 public:
  /// Names the file; nothing is created yet. `what` names it in messages ("failed file").
  KeptFile(std::string path, std::string what) : path_(std::move(path)), what_(std::move(what)) {}
  ~KeptFile();
  KeptFile(const KeptFile&) = delete;
  KeptFile& operator=(const KeptFile&) = delete;

  /// Creates or truncates the file now (a run that could not connect leaves an earlier run's file
  /// as it was, so callers open it once the broker answered).
  /// @throws IoError naming the file when it cannot be created; InterruptedError on SIGINT or
  ///         SIGTERM while open(2) waits (a FIFO without a reader).
  void open();
  /// Creates a new file named `stem` + ".ndjson" in `dir` (or `stem`-2, -3, ... when that exists;
  /// never an existing file), and keeps its path. @returns false, with the path tried and the
  /// reason in error(), when it cannot be created (later writes then count as lost).
  bool create_new(const std::string& dir, const std::string& stem);
  /// Appends one line (with its newline). @returns false when it was not written (counted lost).
  bool write(const std::string& line);
  /// Closes the file; a failure to close (e.g. a full disk on NFS) leaves its lines in doubt.
  void close();
  /// Closes and deletes the file (it turned out not to be needed).
  void remove();

  const std::string& path() const noexcept { return path_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  std::uint64_t kept() const noexcept { return kept_; }
  std::uint64_t lost() const noexcept { return lost_; }
  /// Empty unless creating, a write or closing failed.
  const std::string& error() const noexcept { return error_; }
  /// True when every line written so far is in the file (none lost, no error).
  bool whole() const noexcept { return lost_ == 0 && error_.empty(); }

 private:
  std::string path_;
  std::string what_;
  int fd_ = -1;
  std::uint64_t kept_ = 0;
  std::uint64_t lost_ = 0;
  std::string error_;
};

}  // namespace sfcrime
