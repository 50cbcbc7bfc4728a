// libFuzzer harness of the streaming reader (include/sfcrime/records/reader.hpp): fuzz/README.md.
//
// Input: one header byte, then the bytes the reader reads.
//   header bits 0-1  how the bytes reach the reader's descriptor:
//                    0, 3  a memfd (a regular file: one read(2) returns everything, poll is ready);
//                          3 also with set_compact(true), as produce reads
//                    1     a pipe written in full (and closed) before reading
//                    2     a SOCK_SEQPACKET socket pair fed by a writer thread in packets of the
//                          chunk size below: every read(2) returns exactly one packet, so records
//                          cut across reads are reproducible
//   header bits 2-4  max_record_bytes: 1, 8, 32, 64, 128, 256, 1024 or 16 MiB (the default)
//   header bits 5-7  chunk size of mode 2: 1, 2, 3, 7, 16, 64, 300 or 4096 bytes
//
// Besides memory safety and undefined behaviour, the harness checks what the reader promises,
// against an independent model:
//   - records are numbered 1, 2, ...; each is non-empty, has no surrounding whitespace, is marked
//     too_large exactly when it is larger than max_record_bytes (and then has no compact form),
//     stands in the input at increasing offsets, and its line is the line it starts on;
//   - NDJSON: the records are exactly the non-blank lines, trimmed, over the limit or not; no
//     error is allowed;
//   - JSON array: when Boost.JSON accepts the whole input, the records are exactly its elements
//     (each parses to the same value), over the limit or not, and no error is thrown;
//   - at the normal end, every byte was consumed and ready() is true.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/records/reader.hpp"

namespace {

using sfcrime::RawRecord;
using sfcrime::RecordReader;

[[noreturn]] void fail(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_reader: invariant broken: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}
#define CHECK(cond, ...) \
  do {                   \
    if (!(cond)) fail(#cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Equal JSON values, doubles within a relative 1e-12: Boost.JSON 1.81 parses a long number a few
// ulps differently alone than inside an array (found by the CI smoke: "10.000105194291912943293334398370").
bool same_json(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.is_array() && b.is_array()) {
    const auto &p = a.get_array(), &q = b.get_array();
    if (p.size() != q.size()) return false;
    for (std::size_t i = 0; i < p.size(); ++i)
      if (!same_json(p[i], q[i])) return false;
    return true;
  }
  if (a.is_object() && b.is_object()) {
    const auto &p = a.get_object(), &q = b.get_object();
    if (p.size() != q.size()) return false;
    for (const auto& kv : p) {
      const boost::json::value* other = q.if_contains(kv.key());
      if (!other || !same_json(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

constexpr std::size_t kMaxRecord[] = {1, 8, 32, 64, 128, 256, 1024, 16u << 20};
constexpr std::size_t kChunk[] = {1, 2, 3, 7, 16, 64, 300, 4096};

/// The descriptor the reader reads, and whatever feeds it.
class Feed {
 public:
  Feed(int mode, std::size_t chunk, std::string_view data) {
    if (mode == 1) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) std::abort();
      if (::fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < static_cast<int>(data.size())) {
        ::close(p[0]);
        ::close(p[1]);
        return;  // does not fit in the pipe at once (longer than -max_len would allow): skipped
      }
      write_all(p[1], data);
      ::close(p[1]);
      fd_ = p[0];
    } else if (mode == 2) {
      int s[2];
      if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s) != 0) std::abort();
      fd_ = s[0];
      writer_ = std::thread([w = s[1], chunk, data] {
        for (std::size_t at = 0; at < data.size(); at += chunk) {
          const std::size_t n = std::min(chunk, data.size() - at);
          // One packet per chunk; a failed send means the reader stopped early (a DataError).
          if (::send(w, data.data() + at, n, MSG_NOSIGNAL) != static_cast<ssize_t>(n)) break;
        }
        ::close(w);  // end of input
      });
    } else {
      fd_ = ::memfd_create("fuzz_reader", MFD_CLOEXEC);
      if (fd_ < 0) std::abort();
      write_all(fd_, data);
      if (::lseek(fd_, 0, SEEK_SET) != 0) std::abort();
    }
  }
  ~Feed() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // unblocks the writer if the reader stopped early
    if (writer_.joinable()) writer_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  static void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd, data.data(), data.size());
      if (n <= 0) std::abort();
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  int fd_ = -1;
  std::thread writer_;
};

struct Got {
  std::string text;
  std::uint64_t line;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 1) return 0;
  const int header = bytes[0];
  const int mode = header & 3;
  const std::size_t max_record = kMaxRecord[(header >> 2) & 7];
  const std::size_t chunk = kChunk[(header >> 5) & 7];
  const std::string_view data(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  Feed feed(mode, chunk, data);
  if (feed.fd() < 0) return 0;
  RecordReader reader(feed.fd(), "fuzz input", max_record);
  reader.set_compact(mode == 3);
  const bool always_ready = mode != 2;

  // Read everything, checking what holds for every record.
  std::vector<Got> got;
  std::optional<std::string> error;
  const bool bom = data.size() >= 3 && data.substr(0, 3) == "\xEF\xBB\xBF";
  std::size_t cursor = bom ? 3 : 0;  // where the next record may start in `data`
  std::uint64_t line = 1;            // line at `cursor`
  try {
    for (;;) {
      const bool ready = reader.ready(0);
      if (always_ready) CHECK(ready);
      RawRecord r;
      if (!reader.next(r)) break;
      CHECK(r.number == got.size() + 1);
      CHECK(!r.text.empty());
      CHECK(!is_ws(r.text.front()) && !is_ws(r.text.back()));
      CHECK(r.too_large == (r.text.size() > max_record),
            std::to_string(r.text.size()) + " bytes, limit " + std::to_string(max_record));
      if (r.too_large || mode != 3)
        CHECK(r.compact.empty());
      else
        CHECK(!r.compact.empty() && r.compact.size() <= r.text.size());
      CHECK(r.text.data() != nullptr);
      const void* at = ::memmem(data.data() + cursor, data.size() - cursor, r.text.data(), r.text.size());
      CHECK(at != nullptr, "record " + std::to_string(r.number) + " is not in the input after the previous one");
      const std::size_t off = static_cast<std::size_t>(static_cast<const char*>(at) - data.data());
      line += static_cast<std::uint64_t>(std::count(data.data() + cursor, data.data() + off, '\n'));
      CHECK(r.line == line, "record " + std::to_string(r.number) + " line " + std::to_string(r.line) +
                                ", expected " + std::to_string(line));
      cursor = off;  // the next record may not start before this one ends, but line counts from here
      line += static_cast<std::uint64_t>(std::count(r.text.begin(), r.text.end(), '\n'));
      cursor += r.text.size();
      CHECK(reader.bytes_read() >= cursor && reader.bytes_read() <= data.size());
      got.push_back({std::string(r.text), r.line});
    }
  } catch (const sfcrime::DataError& e) {
    error = e.what();
  }
  // (IoError or anything else escapes: a crash.)

  const std::string_view body = data.substr(bom ? 3 : 0);
  const std::string_view first = trim(body);
  if (first.empty()) {
    CHECK(!error && got.empty());
    CHECK(reader.format() == RecordReader::Format::unknown);
  } else {
    CHECK(reader.format() == (first.front() == '[' ? RecordReader::Format::array : RecordReader::Format::ndjson));
  }
  if (!error) {
    CHECK(reader.bytes_read() == data.size(), std::to_string(reader.bytes_read()) + " of " + std::to_string(data.size()));
    CHECK(reader.ready(0));
  }

  if (reader.format() == RecordReader::Format::ndjson) {
    // The model: the non-blank lines, trimmed.
    std::vector<std::string_view> lines;
    std::size_t from = 0;
    while (from <= body.size()) {
      std::size_t nl = body.find('\n', from);
      if (nl == std::string_view::npos) nl = body.size();
      if (const std::string_view text = trim(body.substr(from, nl - from)); !text.empty()) lines.push_back(text);
      from = nl + 1;
    }
    // A line over the limit is a record marked too_large (checked above), not an error.
    CHECK(!error, *error);
    CHECK(got.size() == lines.size(), std::to_string(got.size()) + " records, " + std::to_string(lines.size()) + " lines");
    for (std::size_t i = 0; i < got.size(); ++i)
      CHECK(got[i].text == lines[i], "record " + std::to_string(i + 1));
  } else if (reader.format() == RecordReader::Format::array) {
    boost::system::error_code ec;
    const boost::json::value whole = boost::json::parse(body, ec);
    if (!ec) {
      CHECK(whole.is_array());
      const boost::json::array& elements = whole.get_array();
      CHECK(!error, *error);
      CHECK(got.size() == elements.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        const boost::json::value v = boost::json::parse(got[i].text, ec);
        CHECK(!ec && same_json(v, elements[i]), "record " + std::to_string(i + 1) + " differs from the array's element");
      }
    }
  }
  return 0;
}
