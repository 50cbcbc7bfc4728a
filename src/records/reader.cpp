#include "sfcrime/records/reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/records/record.hpp"

namespace sfcrime {
namespace {
constexpr std::size_t kChunk = 1u << 20;  // bytes asked of read(2) at a time

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
}  // namespace

std::string too_large_reason(std::size_t record_bytes, std::size_t limit) {
  std::string s = "record is " + std::to_string(record_bytes) + " bytes, over the limit of " + std::to_string(limit) +
                  " bytes";
  if (limit >= (1u << 20) && limit % (1u << 20) == 0) s += " (" + std::to_string(limit >> 20) + " MiB)";
  return s;
}

RecordReader::RecordReader(const std::string& path, std::size_t max_record_bytes)
    : name_(path == "-" ? "standard input" : path), max_record_(max_record_bytes) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
  } else {
    // A FIFO waits here for its writer; SIGINT or SIGTERM ends the wait (InterruptedError).
    fd_ = open_or_interrupt(path, O_RDONLY | O_CLOEXEC, "input file");
    if (fd_ < 0) {
      const int e = errno;
      if (e == ENOENT) throw NoInputError("input file '" + path + "' does not exist");
      throw IoError("cannot open input file '" + path + "': " + std::strerror(e));
    }
    owns_fd_ = true;
  }
  buf_.resize(kChunk);
}

RecordReader::RecordReader(int fd, std::string name, std::size_t max_record_bytes)
    : fd_(fd), name_(std::move(name)), max_record_(max_record_bytes) {
  buf_.resize(kChunk);
}

RecordReader::~RecordReader() {
  if (owns_fd_) ::close(fd_);
}

bool RecordReader::fill() {
  if (eof_) return false;
  if (buf_.size() - end_ < kChunk / 2) buf_.resize(std::max(buf_.size() * 2, end_ + kChunk));
  for (;;) {
    const ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += static_cast<std::size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) {
      if (interrupted()) throw InterruptedError("interrupted while reading '" + name_ + "'");
      continue;
    }
    throw IoError("cannot read '" + name_ + "': " + std::strerror(errno));
  }
}

void RecordReader::count_lines(std::size_t upto) {
  if (upto <= counted_) return;
  // memchr (vectorised in glibc) hops from newline to newline: std::count compiled to a byte loop
  // at -O2 and took a quarter of `aggregate --file`'s time.
  const char* at = buf_.data() + counted_;
  const char* const end = buf_.data() + upto;
  while ((at = static_cast<const char*>(std::memchr(at, '\n', static_cast<std::size_t>(end - at))))) {
    ++line_;
    if (++at == end) break;
  }
  counted_ = upto;
}

std::string RecordReader::where(std::size_t at) {
  count_lines(at);
  return " (" + name_ + " line " + std::to_string(line_) + ", byte " + std::to_string(base_ + at) + ")";
}

bool RecordReader::ready(int timeout_ms) {
  if (eof_ || done_) return true;
  for (std::size_t i = pos_; i < end_; ++i)
    if (!is_ws(buf_[i])) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) > 0;
}

bool RecordReader::skip_ws() {
  for (;;) {
    while (pos_ < end_ && is_ws(buf_[pos_])) ++pos_;
    if (pos_ < end_) return true;
    // Everything buffered is consumed whitespace: drop it before reading more, so that a long run
    // of whitespace does not grow the buffer (callers take positions only after this returns).
    count_lines(end_);
    base_ += end_;
    pos_ = end_ = counted_ = 0;
    if (!fill()) return false;
  }
}

std::size_t RecordReader::scan_value(std::size_t from) {
  std::size_t i = from;
  // The compact form is given up once the value is over the limit (a too_large record has none):
  // it would be a second copy of the whole record.
  bool compact = compact_on_;
  auto more = [&](std::size_t at) {
    if (compact && at - from > max_record_) {
      compact = false;
      compact_.clear();
    }
    if (!fill())
      throw DataError("truncated input: record " + std::to_string(number_ + 1) +
                      " is cut off by the end of the input" + where(from));
  };
  const char first = buf_[from];
  if (first != '{' && first != '[' && first != '"') {
    // A scalar (number, true, false, null, or garbage the JSON parser will name).
    for (;;) {
      while (i < end_ && !is_ws(buf_[i]) && buf_[i] != ',' && buf_[i] != ']' && buf_[i] != '}') ++i;
      if (i < end_ || !fill()) break;
    }
    if (i == from)
      throw DataError(std::string("expected a record, found '") + first + "' (record " + std::to_string(number_ + 1) +
                      ")" + where(from));
    scanned_lines_ = 0;
    if (compact_on_) {
      if (i - from <= max_record_)
        compact_.assign(buf_.data() + from, i - from);
      else
        compact_.clear();
    }
    return i;
  }
  std::vector<char> closers;  // expected closing brackets, innermost last
  compact_.clear();
  std::uint64_t lines = 0;
  for (;;) {
    if (i == end_) more(i);
    const char c = buf_[i];
    if (c == '"') {
      // A string (most of a record's bytes): its closing quote, found with memchr. A raw newline
      // inside a string is invalid JSON (the parser rejects it) but still counts as a line.
      const std::size_t open = i;
      std::size_t searched = i + 1, close;
      for (;;) {
        const char* b = buf_.data();
        if (const char* q = closing_quote(b + open, b + searched, b + end_)) {
          close = static_cast<std::size_t>(q - b) + 1;
          break;
        }
        searched = end_;
        more(end_);  // the buffer may move: positions are indices
      }
      lines += static_cast<std::uint64_t>(std::count(buf_.data() + open, buf_.data() + close, '\n'));
      if (compact && close - from > max_record_) {
        compact = false;
        compact_.clear();
      }
      if (compact) compact_.append(buf_.data() + open, close - open);
      i = close;
      if (closers.empty()) break;  // a top-level string
      continue;
    }
    if (is_ws(c)) {
      if (c == '\n') ++lines;
      ++i;
      continue;
    }
    if (c == '{') {
      closers.push_back('}');
    } else if (c == '[') {
      closers.push_back(']');
    } else if (c == '}' || c == ']') {
      if (closers.empty() || closers.back() != c)
        throw DataError(std::string("mismatched '") + c + "' in record " + std::to_string(number_ + 1) + where(i));
      closers.pop_back();
    }
    if (compact) compact_.push_back(c);
    ++i;
    if (closers.empty()) break;
  }
  // Over the limit within what was buffered (more() was not needed to see it).
  if (i - from > max_record_) compact_.clear();
  scanned_lines_ = lines;
  return i;
}

bool RecordReader::next(RawRecord& out) {
  if (done_) return false;
  // The previous record's text is no longer needed. Drop everything before pos_, but only once
  // that is half the buffer (or all of it): moving the unread rest for every record would copy
  // about half a buffer per record. `searched` (NDJSON) moves with the data.
  std::size_t searched = pos_;
  auto drop_consumed = [&] {
    count_lines(pos_);
    if (pos_ > 0 && (pos_ == end_ || pos_ >= buf_.size() / 2)) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      base_ += pos_;
      end_ -= pos_;
      counted_ -= pos_;
      searched -= pos_;
      pos_ = 0;
    }
  };
  drop_consumed();
  if (format_ == Format::unknown) {
    while (end_ < 3 && fill()) {
    }
    if (end_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;  // UTF-8 byte order mark
    if (!skip_ws()) {
      done_ = true;  // empty input: no records
      return false;
    }
    format_ = buf_[pos_] == '[' ? Format::array : Format::ndjson;
    if (format_ == Format::array) ++pos_;
  }

  if (format_ == Format::array) {
    const std::string after = number_ == 0 ? "'['" : "record " + std::to_string(number_);
    if (!skip_ws())
      throw DataError("truncated input: the JSON array is not closed (end of input after " + after + ")" + where(end_));
    char c = buf_[pos_];
    if (expect_comma_) {
      if (c == ',') {
        ++pos_;
        if (!skip_ws())
          throw DataError("truncated input: the JSON array is not closed (end of input after " + after + ")" +
                          where(end_));
        c = buf_[pos_];
        if (c == ']') throw DataError("trailing ',' before ']' after " + after + where(pos_));
      } else if (c != ']') {
        throw DataError(std::string("expected ',' or ']' after ") + after + ", found '" + c + "'" + where(pos_));
      }
    }
    if (c == ']') {
      ++pos_;
      if (skip_ws()) throw DataError("unexpected data after the closing ']' of the JSON array" + where(pos_));
      done_ = true;
      return false;
    }
    const std::size_t start = pos_;
    count_lines(start);
    const std::uint64_t line = line_;
    const std::size_t end = scan_value(start);
    line_ += scanned_lines_;  // scan_value counted the record's own lines
    counted_ = end;
    out.text = std::string_view(buf_.data() + start, end - start);
    out.too_large = end - start > max_record_;
    out.compact = compact_on_ && !out.too_large ? std::string_view(compact_) : std::string_view();
    out.number = ++number_;
    out.line = line;
    pos_ = end;
    expect_comma_ = true;
    return true;
  }

  // NDJSON: one value per line; blank lines are skipped.
  searched = pos_;
  for (;;) {
    const char* nl = static_cast<const char*>(std::memchr(buf_.data() + searched, '\n', end_ - searched));
    std::size_t line_end;
    std::size_t next_pos;
    if (nl) {
      line_end = static_cast<std::size_t>(nl - buf_.data());
      next_pos = line_end + 1;
    } else {
      // No end of line yet. The line's leading whitespace (no '\n' in it) is not part of the
      // record: skip it, so that it neither counts against the limit nor stays in the buffer.
      // A line over the limit is read to its end all the same (the record is returned whole).
      while (pos_ < end_ && is_ws(buf_[pos_])) ++pos_;
      searched = end_;
      drop_consumed();  // blank lines skipped in this call: a long run of them must not grow the buffer
      if (fill()) continue;
      line_end = next_pos = end_;  // the last line has no newline
      if (pos_ == end_) {
        done_ = true;
        return false;
      }
    }
    std::size_t b = pos_, e = line_end;
    while (b < e && is_ws(buf_[b])) ++b;
    while (e > b && is_ws(buf_[e - 1])) --e;
    if (b == e) {  // blank line
      pos_ = searched = next_pos;
      if (pos_ == end_) {
        drop_consumed();
        if (!fill()) {
          done_ = true;
          return false;
        }
      }
      continue;
    }
    count_lines(b);
    out.text = std::string_view(buf_.data() + b, e - b);
    out.too_large = e - b > max_record_;
    if (compact_on_ && !out.too_large) compact_json(out.text, compact_);
    out.compact = compact_on_ && !out.too_large ? std::string_view(compact_) : std::string_view();
    out.number = ++number_;
    out.line = line_;
    pos_ = next_pos;
    return true;
  }
}

bool RecordReader::regular_file() const noexcept {
  struct stat st{};
  return ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
}

// ---------------------------------------------------------------------------------------------
// ReadAheadReader
// ---------------------------------------------------------------------------------------------

struct ReadAheadReader::Batch {
  struct Entry {
    std::size_t text_at, text_len, compact_at, compact_len;
    std::uint64_t number, line;
    std::uint64_t bytes_read;  // the reader's bytes_read() after this record
    bool too_large;
  };
  std::string bytes;           // the records' texts and compact forms, one after another
  std::vector<Entry> entries;
  bool end = false;            // no batch follows (end of input, or `error`)
  std::uint64_t end_bytes = 0; // with `end`: the reader's bytes_read() when it stopped
  std::exception_ptr error;    // thrown by the reader after the entries
  void clear() {
    // After a record much larger than a batch: the storage goes, not to be kept by every batch.
    if (bytes.capacity() > 2 * kBatchBytes) std::string().swap(bytes);
    bytes.clear();
    entries.clear();
    end = false;
    end_bytes = 0;
    error = nullptr;
  }
};

ReadAheadReader::ReadAheadReader(std::unique_ptr<RecordReader> reader) : reader_(std::move(reader)) {
  for (std::size_t i = 0; i < kBatches; ++i) free_.push_back(std::make_unique<Batch>());
  thread_ = std::thread([this] { run(); });
}

ReadAheadReader::~ReadAheadReader() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ReadAheadReader::run() noexcept {
  ::pthread_setname_np(::pthread_self(), "sfcrime-read");  // as top, perf and gdb show it
  RawRecord raw;
  bool pending = false;  // `raw` is a too_large record that ended the last batch unsent: it starts this one
  for (;;) {
    std::unique_ptr<Batch> b;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      b = std::move(free_.front());
      free_.pop_front();
    }
    b->clear();
    try {
      while (b->entries.size() < kBatchRecords && b->bytes.size() < kBatchBytes) {
        if (!pending && !reader_->next(raw)) {
          b->end = true;
          break;
        }
        // A too_large record is a batch of its own: the one before goes out first. `raw` stays
        // valid meanwhile (the reader is not called until it is copied).
        pending = raw.too_large && !b->entries.empty();
        if (pending) break;
        Batch::Entry e{b->bytes.size(), raw.text.size(), 0, raw.compact.size(), raw.number, raw.line,
                       reader_->bytes_read(), raw.too_large};
        b->bytes.append(raw.text);
        e.compact_at = b->bytes.size();
        b->bytes.append(raw.compact);
        b->entries.push_back(e);
        if (raw.too_large) break;
      }
    } catch (...) {
      b->error = std::current_exception();
      b->end = true;
    }
    if (b->end) b->end_bytes = reader_->bytes_read();
    const bool end = b->end;
    {
      std::lock_guard lock(mu_);
      full_.push_back(std::move(b));
    }
    cv_.notify_all();
    if (end) return;
  }
}

bool ReadAheadReader::next(RawRecord& out) {
  while (!current_ || at_ == current_->entries.size()) {
    if (current_) {
      if (current_->end) {
        bytes_read_ = current_->end_bytes;
        if (current_->error) std::rethrow_exception(current_->error);
        return false;
      }
      std::lock_guard lock(mu_);
      free_.push_back(std::move(current_));
    }
    cv_.notify_all();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty(); });
    current_ = std::move(full_.front());
    full_.pop_front();
    at_ = 0;
  }
  const Batch::Entry& e = current_->entries[at_++];
  out.text = std::string_view(current_->bytes.data() + e.text_at, e.text_len);
  out.compact = std::string_view(current_->bytes.data() + e.compact_at, e.compact_len);
  out.number = e.number;
  out.line = e.line;
  out.too_large = e.too_large;
  bytes_read_ = e.bytes_read;
  return true;
}

}  // namespace sfcrime
