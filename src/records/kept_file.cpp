#include "sfcrime/records/kept_file.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sfcrime/base/bytes.hpp"
#include "sfcrime/base/errors.hpp"

namespace sfcrime {

std::string kept_line(std::uint64_t record, std::optional<std::uint64_t> line, std::string_view reason,
                      std::string_view text, const PossiblyDelivered* possibly) {
  boost::json::object o;
  o["record"] = record;
  if (line)
    o["line"] = *line;
  else
    o["line"] = nullptr;
  std::string why(reason);
  if (!valid_utf8(why))
    for (char& c : why)
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  o["reason"] = why;
  if (valid_utf8(text))
    o["text"] = text;
  else
    o["text_base64"] = base64_encode(text);
  if (possibly) {
    boost::json::object p;
    p["topic"] = possibly->topic;
    p["partition"] = possibly->partition;
    p["after_offset"] = possibly->after_offset;
    o["possibly_delivered"] = std::move(p);
  }
  std::string s = boost::json::serialize(o);
  s += '\n';
  return s;
}

std::optional<KeptRecord> read_kept_line(const simdjson::dom::element& v, const RecordRules& rules) {
  if (!v.is_object()) return std::nullopt;
  const simdjson::dom::object o = v.get_object().value_unsafe();
  if (find_field(o, rules.time_field)) return std::nullopt;
  const auto rec = find_field(o, "record");
  const auto why = find_field(o, "reason");
  if (!rec || !(rec->is_uint64() || rec->is_int64()) || !why || !why->is_string()) return std::nullopt;
  KeptRecord k;
  if (const auto t = string_field(o, "text")) {
    k.text = std::string(*t);
  } else if (const auto b = string_field(o, "text_base64")) {
    if (!base64_decode(*b, k.text)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (const auto p = find_field(o, "possibly_delivered"); p && p->is_object()) {
    const simdjson::dom::object po = p->get_object().value_unsafe();
    const auto t = string_field(po, "topic");
    const auto part = find_field(po, "partition");
    const auto off = find_field(po, "after_offset");
    if (t && part && part->is_int64() && off && off->is_int64())
      k.possibly = PossiblyDelivered{std::string(*t), static_cast<std::int32_t>(part->get_int64().value_unsafe()),
                                     off->get_int64().value_unsafe()};
  }
  return k;
}

KeptFile::~KeptFile() {
  if (fd_ >= 0) ::close(fd_);
}

void KeptFile::open() {
  // A FIFO waits here for its reader; SIGINT or SIGTERM ends the wait (InterruptedError).
  fd_ = open_or_interrupt(path_, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, what_, 0666);
  if (fd_ < 0) throw IoError("cannot create the " + what_ + " '" + path_ + "': " + std::strerror(errno));
}

bool KeptFile::create_new(const std::string& dir, const std::string& stem) {
  for (int n = 1; n < 1000; ++n) {
    const std::string path = dir + "/" + stem + (n == 1 ? "" : "-" + std::to_string(n)) + ".ndjson";
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      path_ = path;
      error_.clear();
      return true;
    }
    if (errno != EEXIST) {
      path_ = path;
      error_ = "cannot create it: " + std::string(std::strerror(errno));
      return false;
    }
  }
  error_ = "cannot create a new file '" + dir + "/" + stem + "-N.ndjson': 999 exist";
  return false;
}

bool KeptFile::write(const std::string& line) {
  if (fd_ < 0 || !error_.empty()) {
    ++lost_;
    return false;
  }
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n < 0 ? std::strerror(errno) : "nothing written";
      ++lost_;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  ++kept_;
  return true;
}

void KeptFile::close() {
  if (fd_ < 0) return;
  if (::close(fd_) != 0 && error_.empty()) error_ = std::string("closing it failed: ") + std::strerror(errno);
  fd_ = -1;
}

void KeptFile::remove() {
  close();
  ::unlink(path_.c_str());
}

}  // namespace sfcrime
