#include "sfcrime/config.hpp"

#include <fstream>
#include <limits>

#include "sfcrime/duration.hpp"
#include "sfcrime/errors.hpp"

namespace sfcrime {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

void apply_setting(Config& c, const std::string& key, const std::string& value, const std::string& origin,
                   const std::string& where) {
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
    throw ConfigError("unknown setting '" + key + "' in " + where +
                      " (sfcrime's own keys are sfcrime.timeout and sfcrime.radio.codes)");
  } else {
    c.properties.emplace_back(key, value);
  }
}

void load_file(Config& c, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file '" + path + "' (check --config or SFCRIME_CONFIG)");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto eq = t.find('=');
    const std::string where = "config file '" + path + "' line " + std::to_string(n);
    if (eq == std::string::npos || eq == 0)
      throw ConfigError("expected key=value in " + where);  // the line is not echoed: it may hold a secret
    apply_setting(c, trim(t.substr(0, eq)), trim(t.substr(eq + 1)), "file", where);
  }
}

}  // namespace

bool is_secret_property(const std::string& key) {
  return key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
         key == "ssl.key.pem" || key == "sasl.oauthbearer.config";
}

Config resolve_config(const CommonFlags& flags, const EnvLookup& env) {
  Config c;
  c.origin = {{"bootstrap.servers", "default"}, {"sfcrime.timeout", "default"}, {"sfcrime.radio.codes", "default"}};
  c.verbosity = flags.verbosity;

  // Config file layer.
  std::optional<std::string> file = flags.config_file;
  if (!file) {
    if (const char* p = env("SFCRIME_CONFIG"); p && *p) file = p;
  }
  if (file) load_file(c, *file);

  // Environment layer.
  if (const char* v = env("SFCRIME_BOOTSTRAP_SERVERS"); v && *v) {
    c.bootstrap_servers = v;
    c.origin["bootstrap.servers"] = "env";
  }
  if (const char* v = env("SFCRIME_TIMEOUT"); v && *v) {
    try {
      c.timeout = parse_duration(v, "SFCRIME_TIMEOUT");
    } catch (const UsageError& e) {
      throw ConfigError(e.what());
    }
    c.origin["sfcrime.timeout"] = "env";
  }
  if (const char* v = env("SFCRIME_RADIO_CODES"); v && *v) {
    c.radio_codes = v;
    c.origin["sfcrime.radio.codes"] = "env";
  }

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
    apply_setting(c, x.substr(0, eq), x.substr(eq + 1), "flag", "-X " + x.substr(0, eq));
  }
  if (flags.bootstrap_servers) {
    c.bootstrap_servers = *flags.bootstrap_servers;
    c.origin["bootstrap.servers"] = "flag";
  }
  if (flags.timeout) {
    c.timeout = parse_duration(*flags.timeout, "--timeout");
    c.origin["sfcrime.timeout"] = "flag";
  }
  if (flags.radio_codes) {
    c.radio_codes = *flags.radio_codes;
    c.origin["sfcrime.radio.codes"] = "flag";
  }
  // librdkafka takes timeouts as int milliseconds.
  if (c.timeout.count() > std::numeric_limits<int>::max() - 10'000)
    throw ConfigError("the timeout (sfcrime.timeout, SFCRIME_TIMEOUT or --timeout) must be under 24 days");
  return c;
}

}  // namespace sfcrime
