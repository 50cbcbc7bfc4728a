#include "sfcrime/pipeline/produce_ledger.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace sfcrime {

void SettledPrefix::settle(std::uint64_t record, State how) {
  if (record <= k_) return;
  const std::size_t i = record - k_ - 1;
  if (i >= after_.size()) after_.resize(i + 1, pending);
  after_[i] = how;
  while (!after_.empty() && after_.front() != pending) {
    after_.pop_front();
    ++k_;
  }
}

std::uint64_t SettledPrefix::delivered_after() const {
  return static_cast<std::uint64_t>(std::count(after_.begin(), after_.end(), delivered));
}

std::string shell_word(const std::string& s) {
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./:,=+@%", c);
  });
  if (plain) return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string plural(std::uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string resume_command(const ResumeShape& shape, std::uint64_t kept, const std::string& kept_path,
                           bool input_done, std::uint64_t last_read) {
  const std::string produce = "sfcrime produce --topic " + shell_word(shape.topic);
  std::string first, rest;
  if (kept) first = produce + " --file " + shell_word(kept_path) + shape.options;
  if (!input_done) {
    rest = produce + (shape.input == "-" ? "" : " --file " + shell_word(shape.input)) + " --skip " +
           std::to_string(last_read) + shape.input_options;
    if (shape.limit_left) rest += " --limit " + std::to_string(shape.limit_left);
    // Standard input cannot be read again by sfcrime: the same input is piped in once more.
    if (shape.input == "-") rest = "<the same input> | " + rest;
  }
  if (first.empty()) return rest;
  if (rest.empty()) return first;
  return first + " && " + rest;
}

}  // namespace sfcrime
