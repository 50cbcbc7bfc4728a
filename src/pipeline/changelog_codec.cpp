#include "sfcrime/pipeline/changelog_codec.hpp"

#include <boost/json.hpp>

#include "sfcrime/stream/group_key.hpp"

namespace sfcrime {

boost::json::object group_stats_json(std::string_view key, const GroupStats& stats, std::vector<std::string>& scratch) {
  boost::json::array parts;
  group_key::append_json(key, parts, scratch);
  boost::json::array dispositions;
  for (const auto& [code, n] : stats.dispositions) dispositions.push_back(boost::json::array{code, n});
  return {{"key", std::move(parts)}, {"count", stats.count}, {"dispositions", std::move(dispositions)}};
}

std::pair<std::string, GroupStats> parse_group_stats(const boost::json::object& o) {
  GroupStats stats;
  stats.count = o.at("count").to_number<std::uint64_t>();
  for (const boost::json::value& dv : o.at("dispositions").as_array()) {
    const boost::json::array& d = dv.as_array();
    stats.dispositions.emplace_back(std::string(d.at(0).as_string()), d.at(1).to_number<std::uint64_t>());
  }
  return {group_key::from_json(o.at("key").as_array()), std::move(stats)};
}

}  // namespace sfcrime
