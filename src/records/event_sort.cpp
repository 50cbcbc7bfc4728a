#include "sfcrime/records/event_sort.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include "sfcrime/base/errors.hpp"

namespace sfcrime {

namespace {

// A record's framing, in memory and in the temporary file alike (native byte order: the file
// never outlives the process): event_ms (int64), number (uint64), key length (uint32, kNullKey
// for a null key), value length (uint32), then the key's and the value's bytes.
constexpr std::size_t kHeader = 24;
constexpr std::uint32_t kNullKey = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t kReadBuffer = std::size_t{64} << 10;
constexpr std::size_t kWriteBuffer = std::size_t{1} << 20;

std::string errno_text(int e) { return std::strerror(e); }

std::string default_tmp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? std::string(t) : std::string("/tmp");
}

void put_header(char* p, std::int64_t event_ms, std::uint64_t number, std::uint32_t key_len, std::uint32_t value_len) {
  std::memcpy(p, &event_ms, 8);
  std::memcpy(p + 8, &number, 8);
  std::memcpy(p + 16, &key_len, 4);
  std::memcpy(p + 20, &value_len, 4);
}

/// Decodes the header at `p`; returns the framed record's total size.
std::size_t get_header(const char* p, SortedRecord& r, std::uint32_t& key_len, std::uint32_t& value_len) {
  std::memcpy(&r.event_ms, p, 8);
  std::memcpy(&r.number, p + 8, 8);
  std::memcpy(&key_len, p + 16, 4);
  std::memcpy(&value_len, p + 20, 4);
  return kHeader + (key_len == kNullKey ? 0 : key_len) + value_len;
}

/// Points r.key and r.value into the framed record at `p` (whose header get_header() read).
void set_views(const char* p, std::uint32_t key_len, std::uint32_t value_len, SortedRecord& r) {
  if (key_len == kNullKey) {
    r.key.reset();
    r.value = std::string_view(p + kHeader, value_len);
  } else {
    r.key = std::string_view(p + kHeader, key_len);
    r.value = std::string_view(p + kHeader + key_len, value_len);
  }
}

/// An unlinked temporary file: created with mkstemp and removed from its directory at once, so
/// it disappears with its descriptor whatever happens to the process.
class SpillFile {
 public:
  explicit SpillFile(const std::string& dir) : dir_(dir) {
    std::string tmpl = dir + "/sfcrime-sort-XXXXXX";
    fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd_ < 0)
      throw IoError("cannot create a temporary file in '" + dir + "' to sort by event time: " + errno_text(errno) +
                    " (set TMPDIR to a writable directory with room)");
    if (::unlink(tmpl.c_str()) != 0) {
      const int e = errno;
      ::close(fd_);
      ::unlink(tmpl.c_str());
      throw IoError("cannot unlink the temporary file '" + tmpl + "': " + errno_text(e));
    }
  }
  ~SpillFile() { ::close(fd_); }
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  /// Appends `n` bytes at the end of the file.
  void append(const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(size_));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw IoError("cannot write the temporary sort file in '" + dir_ + "': " + errno_text(errno) +
                      " (sorting by event time needs about the input's size of free space there; set TMPDIR "
                      "to a directory with room)");
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      size_ += static_cast<std::uint64_t>(w);
    }
  }

  /// Reads up to `n` bytes at `offset`; returns the count (> 0).
  std::size_t read_at(char* p, std::size_t n, std::uint64_t offset) const {
    for (;;) {
      const ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(offset));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw IoError("cannot read the temporary sort file in '" + dir_ + "': " + errno_text(errno));
      }
      if (r == 0) throw IoError("the temporary sort file in '" + dir_ + "' ended early (was it truncated?)");
      return static_cast<std::size_t>(r);
    }
  }

  std::uint64_t size() const noexcept { return size_; }

 private:
  std::string dir_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

/// Buffered appends to a SpillFile.
class Writer {
 public:
  explicit Writer(SpillFile& f) : f_(f) { buf_.reserve(kWriteBuffer); }
  void put(const char* p, std::size_t n) {
    if (buf_.size() + n > kWriteBuffer) flush();
    if (n >= kWriteBuffer) {
      f_.append(p, n);
    } else {
      buf_.append(p, n);
    }
  }
  void flush() {
    f_.append(buf_.data(), buf_.size());
    buf_.clear();
  }

 private:
  SpillFile& f_;
  std::string buf_;
};

/// A run: a sorted span of framed records in a SpillFile.
struct Run {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
};

/// Reads one sorted run, record by record: from a SpillFile span, or from the in-memory run.
class Cursor {
 public:
  /// Over a span of `file`; `order` breaks ties between runs (lower first).
  Cursor(const SpillFile& file, Run run, std::size_t order)
      : file_(&file), off_(run.offset), end_(run.offset + run.bytes), order_(order), buf_(kReadBuffer) {}
  /// Over the in-memory run: `arena` framed records visited in the order of `offsets`.
  Cursor(const std::string& arena, std::vector<std::size_t> offsets, std::size_t order)
      : arena_(&arena), offsets_(std::move(offsets)), order_(order) {}

  /// Moves to the next record; false at the end of the run.
  bool advance() {
    std::uint32_t key_len = 0, value_len = 0;
    if (arena_) {
      if (next_ >= offsets_.size()) return false;
      const char* p = arena_->data() + offsets_[next_++];
      get_header(p, cur_, key_len, value_len);
      set_views(p, key_len, value_len, cur_);
      return true;
    }
    pos_ += consumed_;  // the previous record is no longer referenced
    consumed_ = 0;
    if (pos_ == len_ && off_ == end_) return false;
    ensure(kHeader);
    const std::size_t size = get_header(buf_.data() + pos_, cur_, key_len, value_len);
    ensure(size);
    set_views(buf_.data() + pos_, key_len, value_len, cur_);
    consumed_ = size;
    return true;
  }

  const SortedRecord& current() const noexcept { return cur_; }
  std::size_t order() const noexcept { return order_; }

  /// Orders cursors for a min-heap on (event time, run order).
  static bool later(const Cursor* a, const Cursor* b) noexcept {
    if (a->cur_.event_ms != b->cur_.event_ms) return a->cur_.event_ms > b->cur_.event_ms;
    return a->order_ > b->order_;
  }

 private:
  // Makes at least n bytes available at buf_[pos_].
  void ensure(std::size_t n) {
    if (len_ - pos_ >= n) return;
    std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
    len_ -= pos_;
    pos_ = 0;
    if (buf_.size() < n) buf_.resize(std::max(n, buf_.size() * 2));
    while (len_ < n) {
      const std::uint64_t left = end_ - off_;
      if (left == 0) throw IoError("a run in the temporary sort file ends inside a record (internal error)");
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size() - len_, left));
      const std::size_t got = file_->read_at(buf_.data() + len_, want, off_);
      len_ += got;
      off_ += got;
    }
  }

  const SpillFile* file_ = nullptr;
  std::uint64_t off_ = 0, end_ = 0;  // the part of the span not yet in buf_
  const std::string* arena_ = nullptr;
  std::vector<std::size_t> offsets_;
  std::size_t next_ = 0;
  std::size_t order_ = 0;
  std::vector<char> buf_;
  std::size_t pos_ = 0, len_ = 0, consumed_ = 0;
  SortedRecord cur_;
};

/// A k-way merge of cursors (min-heap on event time, then run order).
class Merger {
 public:
  explicit Merger(std::vector<std::unique_ptr<Cursor>> cursors) : cursors_(std::move(cursors)) {
    for (auto& c : cursors_)
      if (c->advance()) heap_.push_back(c.get());
    std::make_heap(heap_.begin(), heap_.end(), &Cursor::later);
  }
  /// The next record (valid until the next call), or nullptr at the end.
  const SortedRecord* next() {
    if (last_) {
      if (last_->advance()) {
        heap_.push_back(last_);
        std::push_heap(heap_.begin(), heap_.end(), &Cursor::later);
      }
      last_ = nullptr;
    }
    if (heap_.empty()) return nullptr;
    std::pop_heap(heap_.begin(), heap_.end(), &Cursor::later);
    last_ = heap_.back();
    heap_.pop_back();
    return &last_->current();
  }

 private:
  std::vector<std::unique_ptr<Cursor>> cursors_;
  std::vector<Cursor*> heap_;
  Cursor* last_ = nullptr;
};

void write_record(Writer& w, const SortedRecord& r) {
  char h[kHeader];
  const std::uint32_t key_len = r.key ? static_cast<std::uint32_t>(r.key->size()) : kNullKey;
  put_header(h, r.event_ms, r.number, key_len, static_cast<std::uint32_t>(r.value.size()));
  w.put(h, kHeader);
  if (r.key) w.put(r.key->data(), r.key->size());
  w.put(r.value.data(), r.value.size());
}

}  // namespace

struct EventTimeSorter::Impl {
  std::unique_ptr<SpillFile> file;  // created at the first spill
  std::vector<Run> runs;            // in the order they were written (= insertion order)
  std::unique_ptr<Merger> merger;
};

EventTimeSorter::EventTimeSorter(std::size_t run_bytes, std::size_t max_fan_in, std::string tmp_dir)
    : run_bytes_(run_bytes),
      fan_in_(max_fan_in),
      tmp_dir_(tmp_dir.empty() ? default_tmp_dir() : std::move(tmp_dir)),
      impl_(std::make_unique<Impl>()) {
  if (run_bytes_ == 0) throw std::invalid_argument("EventTimeSorter: run_bytes must be positive");
  if (fan_in_ < 2) throw std::invalid_argument("EventTimeSorter: max_fan_in must be at least 2");
}

EventTimeSorter::~EventTimeSorter() = default;

void EventTimeSorter::add(std::int64_t event_ms, std::uint64_t number, std::optional<std::string_view> key,
                          std::string_view value) {
  if (finished_) throw std::logic_error("EventTimeSorter::add after finish");
  if ((key && key->size() >= kNullKey) || value.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("EventTimeSorter::add: key or value over 4 GiB");
  const std::size_t text = (key ? key->size() : 0) + value.size();
  if (!index_.empty() && text_bytes_ + text > run_bytes_) spill();
  // Room for a full run and its framing at once, so the arena is not reallocated (and copied) as
  // it grows; untouched pages of the reservation cost no memory.
  if (arena_.capacity() == 0) arena_.reserve(run_bytes_ + run_bytes_ / 4);
  const std::size_t at = arena_.size();
  arena_.resize(at + kHeader);
  put_header(arena_.data() + at, event_ms, number, key ? static_cast<std::uint32_t>(key->size()) : kNullKey,
             static_cast<std::uint32_t>(value.size()));
  if (key) arena_.append(key->data(), key->size());
  arena_.append(value.data(), value.size());
  index_.push_back({event_ms, at});
  text_bytes_ += text;
  ++records_;
}

namespace {
// Sorts the in-memory index by event time; the arena offset (insertion order) breaks ties, which
// makes the sort stable.
template <typename Entries>
void sort_index(Entries& index) {
  std::sort(index.begin(), index.end(), [](const auto& a, const auto& b) {
    return a.event_ms != b.event_ms ? a.event_ms < b.event_ms : a.offset < b.offset;
  });
}
}  // namespace

void EventTimeSorter::spill() {
  sort_index(index_);
  if (!impl_->file) impl_->file = std::make_unique<SpillFile>(tmp_dir_);
  SpillFile& f = *impl_->file;
  Run run{f.size(), 0};
  {
    Writer w(f);
    for (const Entry& e : index_) {
      const char* p = arena_.data() + e.offset;
      SortedRecord r;
      std::uint32_t key_len = 0, value_len = 0;
      w.put(p, get_header(p, r, key_len, value_len));
    }
    w.flush();
  }
  run.bytes = f.size() - run.offset;
  bytes_spilled_ += run.bytes;
  impl_->runs.push_back(run);
  ++runs_spilled_;
  arena_.clear();
  index_.clear();
  text_bytes_ = 0;
}

void EventTimeSorter::finish() {
  if (finished_) return;
  finished_ = true;
  Impl& im = *impl_;
  if (!im.runs.empty()) {
    // The last run joins the others on disk, and the arena's pages go back to the system: the
    // merge then needs only its read buffers, while the records sent pile up in the producer's
    // queue. (An input that fits in one run is merged from memory, without a file.)
    if (!index_.empty()) spill();
    std::string().swap(arena_);
    std::vector<Entry>().swap(index_);
  }
  // Merge passes while the runs exceed the fan-in: consecutive groups of runs become one run
  // each in a new file, so the run order (the tie-break) is kept.
  while (im.runs.size() > fan_in_) {
    auto next = std::make_unique<SpillFile>(tmp_dir_);
    std::vector<Run> merged;
    for (std::size_t i = 0; i < im.runs.size(); i += fan_in_) {
      const std::size_t end = std::min(im.runs.size(), i + fan_in_);
      std::vector<std::unique_ptr<Cursor>> group;
      for (std::size_t j = i; j < end; ++j) group.push_back(std::make_unique<Cursor>(*im.file, im.runs[j], j));
      Merger m(std::move(group));
      Run out{next->size(), 0};
      Writer w(*next);
      while (const SortedRecord* r = m.next()) write_record(w, *r);
      w.flush();
      out.bytes = next->size() - out.offset;
      bytes_spilled_ += out.bytes;
      merged.push_back(out);
    }
    im.runs = std::move(merged);
    im.file = std::move(next);  // closes the previous file, which frees its space
  }
  std::vector<std::unique_ptr<Cursor>> cursors;
  for (std::size_t j = 0; j < im.runs.size(); ++j)
    cursors.push_back(std::make_unique<Cursor>(*im.file, im.runs[j], j));
  if (!index_.empty()) {
    sort_index(index_);
    std::vector<std::size_t> offsets;
    offsets.reserve(index_.size());
    for (const Entry& e : index_) offsets.push_back(e.offset);
    index_.clear();
    index_.shrink_to_fit();
    cursors.push_back(std::make_unique<Cursor>(arena_, std::move(offsets), im.runs.size()));
  }
  im.merger = std::make_unique<Merger>(std::move(cursors));
}

bool EventTimeSorter::next(SortedRecord& out) {
  if (!finished_) finish();
  const SortedRecord* r = impl_->merger->next();
  if (!r) return false;
  out = *r;
  return true;
}

}  // namespace sfcrime
