#pragma once
/// The JSON form of a window's group statistics in the topics sfcrime writes for itself: the
/// changelog of `aggregate --exactly-once` (state_store.hpp) and the rows topic of --scale-out
/// (topology.hpp).
#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sfcrime/stream/window.hpp"

namespace sfcrime {

/// The JSON form of one group's statistics, for the changelog and the scale-out rows topic:
/// {"key":[parts...],"count":N,"dispositions":[[code,n],...]}.
boost::json::object group_stats_json(std::string_view key, const GroupStats& stats, std::vector<std::string>& scratch);
/// Parses group_stats_json()'s form: (encoded key, statistics).
/// @throws std::exception (Boost.JSON's errors) when a field is missing or of another type.
std::pair<std::string, GroupStats> parse_group_stats(const boost::json::object& o);

}  // namespace sfcrime
