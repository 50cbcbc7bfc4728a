#include "sfcrime/base/config.hpp"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include "sfcrime/base/duration.hpp"
#include "sfcrime/base/errors.hpp"

namespace sfcrime {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

/// The shorthands for command options: key suffix, option, the commands it applies to, and the
/// environment variable that sets it.
struct Shorthand {
  const char* key;
  const char* option;
  std::vector<std::string> commands;
  const char* env;
};

const std::vector<Shorthand>& shorthands() {
  static const std::vector<Shorthand> s = {
      {"topic", "topic", {"produce", "consume", "aggregate"}, "SFCRIME_TOPIC"},
      {"window", "window", {"aggregate"}, "SFCRIME_WINDOW"},
  };
  return s;
}

/// The command a `sfcrime.COMMAND.OPTION` key names ("topic.create.partitions" -> "topic create",
/// "partitions"), or nullopt when `rest` (the key after "sfcrime.") names no command.
std::optional<std::pair<std::string, std::string>> scoped_option(const std::string& rest,
                                                                 const std::vector<std::string>& commands) {
  std::optional<std::pair<std::string, std::string>> best;
  for (const std::string& c : commands) {
    // The longest command wins: "topic.create.x" is topic create's, not topic's.
    if (rest.size() > c.size() + 1 && rest.compare(0, c.size(), c) == 0 && rest[c.size()] == '.' &&
        (!best || c.size() > best->first.size())) {
      best = {c, rest.substr(c.size() + 1)};
    }
  }
  if (!best || best->second.find('.') != std::string::npos) return std::nullopt;
  std::string name = best->first;
  for (char& ch : name)
    if (ch == '.') ch = ' ';
  return std::pair{name, best->second};
}

/// True when `servers` names no broker: empty, or nothing but commas and spaces (librdkafka would
/// wait the whole timeout for a broker it does not have).
bool no_servers(const std::string& servers) { return servers.find_first_not_of(", \t") == std::string::npos; }

// `commands`: the words a sfcrime.COMMAND.OPTION key may name (CommonFlags::commands).
void apply_setting(Config& c, const std::vector<std::string>& commands, const std::string& key, const std::string& value,
                   const Origin& origin, const std::string& where, int layer) {
  if (is_secret_property(key)) note_secret(value);
  if (key == "bootstrap.servers" || key == "metadata.broker.list") {
    c.bootstrap_servers = value;
    c.origin["bootstrap.servers"] = origin;
  } else if (key == "sfcrime.timeout") {
    try {
      c.timeout = parse_duration(value, "sfcrime.timeout");
    } catch (const UsageError& e) {
      throw ConfigError(std::string(e.what()) + " in " + where);
    }
    c.origin["sfcrime.timeout"] = origin;
  } else if (key == "sfcrime.radio.codes") {
    c.radio_codes = value;
    c.origin["sfcrime.radio.codes"] = origin;
  } else if (key.rfind("sfcrime.", 0) == 0) {
    const std::string rest = key.substr(8);
    for (const Shorthand& s : shorthands()) {
      if (rest == s.key) {
        c.option_defaults.push_back({s.commands, s.option, value, key, origin, false, layer});
        return;
      }
    }
    if (auto scoped = scoped_option(rest, commands)) {
      c.option_defaults.push_back({{scoped->first}, scoped->second, value, key, origin, true, layer});
      return;
    }
    throw ConfigError("unknown setting '" + key + "' in " + where +
                      " (sfcrime's own keys: sfcrime.timeout, sfcrime.radio.codes, sfcrime.topic, sfcrime.window, "
                      "sfcrime.profile, sfcrime.COMMAND.OPTION; see man sfcrime-config)");
  } else {
    c.properties.emplace_back(key, value);
    c.origin[key] = origin;
  }
}

/// One `key=value` line of a config file.
struct FileEntry {
  std::string key, value;
  int line;
};

/// A config file split into its top section and its profiles.
struct ConfigFile {
  std::vector<FileEntry> top;
  std::vector<std::pair<std::string, std::vector<FileEntry>>> profiles;  // in file order
};

ConfigFile read_file(const std::string& path) {
  std::string text;
  if (const int e = read_whole_file(path, text, "config file"); e != 0)
    throw ConfigError("cannot read config file '" + path + "': " + std::strerror(e) + " (check --config or SFCRIME_CONFIG)");
  std::istringstream in(text);
  ConfigFile f;
  std::vector<FileEntry>* into = &f.top;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const std::string where = "config file '" + path + "' line " + std::to_string(n);
    if (t[0] == '[') {
      const std::string name = t.back() == ']' ? trim(t.substr(1, t.size() - 2)) : "";
      if (name.empty() || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
                              std::string::npos)
        throw ConfigError("expected [PROFILE] (letters, digits, '.', '_', '-') in " + where);
      for (const auto& p : f.profiles)
        if (p.first == name) throw ConfigError("profile '" + name + "' defined twice in " + where);
      f.profiles.emplace_back(name, std::vector<FileEntry>{});
      into = &f.profiles.back().second;
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError("expected key=value in " + where);  // the line is not echoed: it may hold a secret
    into->push_back({trim(t.substr(0, eq)), trim(t.substr(eq + 1)), n});
    if (into != &f.top && into->back().key == "sfcrime.profile")
      throw ConfigError("sfcrime.profile belongs before the first [PROFILE] line, not in " + where);
  }
  return f;
}

std::string profile_names(const ConfigFile& f) {
  std::string s;
  for (const auto& p : f.profiles) s += (s.empty() ? "" : ", ") + p.first;
  return s.empty() ? "it has none" : "it has " + s;
}

void load_file(Config& c, const std::vector<std::string>& commands, const std::string& path,
               std::optional<std::string> profile) {
  const ConfigFile f = read_file(path);
  c.config_file = path;
  for (const FileEntry& e : f.top) {
    if (e.key == "sfcrime.profile") {
      if (!profile) profile = e.value;
      continue;
    }
    apply_setting(c, commands, e.key, e.value, {"file", path + " line " + std::to_string(e.line)},
                  "config file '" + path + "' line " + std::to_string(e.line), 0);
  }
  if (!profile || profile->empty()) return;
  for (const auto& [name, entries] : f.profiles) {
    if (name != *profile) continue;
    c.profile = name;
    for (const FileEntry& e : entries)
      apply_setting(c, commands, e.key, e.value, {"file", path + " line " + std::to_string(e.line) + ", profile " + name},
                    "config file '" + path + "' line " + std::to_string(e.line), 1);
    return;
  }
  throw ConfigError("no profile '" + *profile + "' in config file '" + path + "' (" + profile_names(f) +
                    "; profiles start with a [NAME] line)");
}

}  // namespace

std::string default_config_path(const EnvLookup& env) {
  if (const char* x = env("XDG_CONFIG_HOME"); x && *x == '/') return std::string(x) + "/sfcrime/config";
  if (const char* h = env("HOME"); h && *h) return std::string(h) + "/.config/sfcrime/config";
  return {};
}

std::vector<std::string> config_profiles(const std::string& path) {
  std::vector<std::string> names;
  for (const auto& p : read_file(path).profiles) names.push_back(p.first);
  return names;
}

bool is_secret_property(const std::string& key) {
  std::string k = key;
  for (char& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return k.find("password") != std::string::npos || k.find("secret") != std::string::npos ||
         k.find("jaas") != std::string::npos || k == "ssl.key.pem" || k == "sasl.oauthbearer.config";
}

Config resolve_config(const CommonFlags& flags, const EnvLookup& env) {
  Config c;
  c.origin = {{"bootstrap.servers", {}}, {"sfcrime.timeout", {}}, {"sfcrime.radio.codes", {}}};
  c.verbosity = flags.verbosity;

  // Config file layer: --config, else SFCRIME_CONFIG, else the default file when it exists.
  std::optional<std::string> file = flags.config_file;
  if (!file) {
    if (const char* p = env("SFCRIME_CONFIG"); p && *p) file = p;
  }
  if (!file) {
    const std::string d = default_config_path(env);
    std::error_code ec;
    if (!d.empty() && std::filesystem::exists(d, ec)) file = d;
  }
  std::optional<std::string> profile = flags.profile;
  if (!profile) {
    if (const char* p = env("SFCRIME_PROFILE"); p && *p) profile = p;
  }
  if (file) {
    load_file(c, flags.commands, *file, profile);
  } else if (profile) {
    throw ConfigError("profile '" + *profile + "' needs a config file, and there is none (--config, SFCRIME_CONFIG, or " +
                      (default_config_path(env).empty() ? std::string("~/.config/sfcrime/config") : default_config_path(env)) +
                      ")");
  }

  // Environment layer.
  if (const char* v = env("SFCRIME_BOOTSTRAP_SERVERS"); v && *v) {
    c.bootstrap_servers = v;
    c.origin["bootstrap.servers"] = {"env", "SFCRIME_BOOTSTRAP_SERVERS"};
  }
  if (const char* v = env("SFCRIME_TIMEOUT"); v && *v) {
    try {
      c.timeout = parse_duration(v, "SFCRIME_TIMEOUT");
    } catch (const UsageError& e) {
      throw ConfigError(e.what());
    }
    c.origin["sfcrime.timeout"] = {"env", "SFCRIME_TIMEOUT"};
  }
  if (const char* v = env("SFCRIME_RADIO_CODES"); v && *v) {
    c.radio_codes = v;
    c.origin["sfcrime.radio.codes"] = {"env", "SFCRIME_RADIO_CODES"};
  }
  for (const Shorthand& s : shorthands())
    if (const char* v = env(s.env); v && *v) c.option_defaults.push_back({s.commands, s.option, v, std::string("sfcrime.") + s.key, {"env", s.env}, false, 2});

  // Flag layer: -X first, then the dedicated flags, which win over a -X of the same meaning.
  for (const std::string& x : flags.properties) {
    if (x == "dump") {
      c.dump = true;
      continue;
    }
    const auto eq = x.find('=');
    if (eq == std::string::npos || eq == 0)
      // The argument is not echoed: `-X sasl.password:hunter2` must not print the password.
      throw UsageError("-X expects key=value (a librdkafka property) or 'dump'; an argument has no '='");
    if (x.compare(0, eq, "sfcrime.profile") == 0)
      throw UsageError("use --profile NAME to choose a profile, not -X sfcrime.profile");
    apply_setting(c, flags.commands, x.substr(0, eq), x.substr(eq + 1), {"flag", "-X"}, "-X " + x.substr(0, eq), 3);
  }
  if (flags.bootstrap_servers) {
    if (no_servers(*flags.bootstrap_servers))
      throw UsageError("-b/--bootstrap-servers is empty: give HOST:PORT,... (or leave it out for "
                       "SFCRIME_BOOTSTRAP_SERVERS, the config file or localhost:9092)");
    c.bootstrap_servers = *flags.bootstrap_servers;
    c.origin["bootstrap.servers"] = {"flag", "--bootstrap-servers"};
  }
  if (flags.timeout) {
    c.timeout = parse_duration(*flags.timeout, "--timeout");
    c.origin["sfcrime.timeout"] = {"flag", "--timeout"};
  }
  if (flags.radio_codes) {
    c.radio_codes = *flags.radio_codes;
    c.origin["sfcrime.radio.codes"] = {"flag", "--radio-codes"};
  }
  if (no_servers(c.bootstrap_servers))
    throw ConfigError("'bootstrap.servers' is empty (" + c.origin["bootstrap.servers"].text() +
                      "): give HOST:PORT,... or leave it out for localhost:9092");
  // librdkafka takes timeouts as int milliseconds.
  if (c.timeout.count() > std::numeric_limits<int>::max() - 10'000)
    throw ConfigError("the timeout (sfcrime.timeout, SFCRIME_TIMEOUT or --timeout) must be under 24 days");
  return c;
}

}  // namespace sfcrime
