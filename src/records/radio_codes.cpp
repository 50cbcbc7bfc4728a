#include "sfcrime/records/radio_codes.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sfcrime/base/errors.hpp"

namespace sfcrime {

RadioCodes RadioCodes::load(const std::string& path) {
  std::error_code ec_dir;
  // An ifstream opens a directory and reads nothing: say what it is rather than "not valid JSON".
  if (std::filesystem::is_directory(path, ec_dir))
    throw NoInputError("radio codes file '" + path + "' is a directory (see --radio-codes)");
  std::string text;
  if (const int e = read_whole_file(path, text, "radio codes file"); e != 0)
    throw NoInputError("radio codes file '" + path + "' " +
                       (e == ENOENT ? std::string("does not exist") : "cannot be read: " + std::string(std::strerror(e))) +
                       " (see --radio-codes)");
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec) throw DataError("radio codes file '" + path + "' is not valid JSON: " + ec.message());
  if (!v.is_array()) throw DataError("radio codes file '" + path + "' must hold a JSON array");
  RadioCodes r;
  std::size_t i = 0;
  for (const auto& e : v.get_array()) {
    ++i;
    const auto* o = e.if_object();
    const boost::json::value* code = o ? o->if_contains("disposition_code") : nullptr;
    const boost::json::value* desc = o ? o->if_contains("description") : nullptr;
    if (!code || !desc || !code->is_string() || !desc->is_string())
      throw DataError("radio codes file '" + path + "' element " + std::to_string(i) +
                      " lacks string fields \"disposition_code\" and \"description\"");
    r.codes_.emplace(std::string(code->get_string()), std::string(desc->get_string()));
  }
  return r;
}

const std::string* RadioCodes::describe(std::string_view code) const {
  const auto it = codes_.find(std::string(code));
  return it == codes_.end() ? nullptr : &it->second;
}

}  // namespace sfcrime
