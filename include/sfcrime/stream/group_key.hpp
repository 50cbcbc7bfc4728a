#pragma once
#include <boost/json/array.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sfcrime {

/// Group keys: a tuple of nullable strings (one per --by field) encoded in one byte string whose
/// byte-wise order is the tuple's order (field by field, null first, then strings byte-wise), the
/// encoding of FoundationDB's tuple layer: null = 0x01; a string = 0x02, its bytes with 0x00
/// written as 0x00 0xFF, then 0x00.
namespace group_key {
/// Appends a null part (a --by field that is missing or null) to `key`.
void append_null(std::string& key);
/// Appends a string part to `key` (any bytes, 0x00 included).
void append_string(std::string& key, std::string_view value);
/// The parts of an encoded key, std::nullopt for null. Views point into `key`'s storage except
/// for strings that held 0x00 bytes, which are unescaped into `scratch`.
std::vector<std::optional<std::string_view>> decode(std::string_view key, std::vector<std::string>& scratch);
/// Appends the parts of an encoded key to `out` as JSON strings and nulls (message keys of
/// --output-topic, the changelog, the scale-out topics).
void append_json(std::string_view key, boost::json::array& out, std::vector<std::string>& scratch);
/// The encoded key of a JSON array of strings and nulls (append_json's inverse).
/// @throws std::exception (Boost.JSON's errors) for another element.
std::string from_json(const boost::json::array& parts);
}  // namespace group_key

}  // namespace sfcrime
