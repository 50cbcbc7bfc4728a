#pragma once
/// Disposition codes and their meanings, from radio_code.json: a JSON array of
/// {"disposition_code": "...", "description": "..."} objects (the file beside the real data).
#include <string>
#include <string_view>
#include <unordered_map>

namespace sfcrime {

class RadioCodes {
 public:
  /// An empty table: every code is "not in radio codes".
  RadioCodes() = default;

  /// Loads radio_code.json.
  /// @throws NoInputError if the file does not exist or is a directory; IoError if it cannot be read; DataError if
  ///         it is not a JSON array of objects with string "disposition_code" and "description";
  ///         InterruptedError on SIGINT or SIGTERM while waiting for it (a FIFO).
  static RadioCodes load(const std::string& path);

  /// The description of `code`, or nullptr when the code is absent from the table (such codes
  /// are shown as absent, never dropped).
  const std::string* describe(std::string_view code) const;

  std::size_t size() const noexcept { return codes_.size(); }

 private:
  std::unordered_map<std::string, std::string> codes_;
};

}  // namespace sfcrime
