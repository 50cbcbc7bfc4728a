#include "sfcrime/kafka/envelope.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>

#include "sfcrime/base/errors.hpp"

namespace sfcrime {

namespace {

/// Sets o[field] to the bytes as a string, or base64 with o[field + "_encoding"] = "base64".
void put_bytes(boost::json::object& o, std::string_view field, const void* data, std::size_t size) {
  if (!data) {
    o[field] = nullptr;
    return;
  }
  const std::string_view s(static_cast<const char*>(data), size);
  if (valid_utf8(s)) {
    o[field] = s;
  } else {
    o[field] = base64_encode(s);
    o[std::string(field) + "_encoding"] = "base64";
  }
}

}  // namespace

void append_envelope(const rd_kafka_message_t& m, std::string_view topic, std::string& out,
                     std::optional<std::int64_t> create_time) {
  boost::json::object o;
  o.reserve(12);
  o["topic"] = topic;
  if (m.partition >= 0)
    o["partition"] = m.partition;
  else
    o["partition"] = nullptr;
  if (m.offset >= 0)
    o["offset"] = m.offset;
  else
    o["offset"] = nullptr;
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  const std::int64_t ts = rd_kafka_message_timestamp(&m, &type);
  if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && create_time) {
    o["timestamp"] = *create_time;
    o["timestamp_type"] = "create";
  } else if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) {
    o["timestamp"] = nullptr;
    o["timestamp_type"] = nullptr;
  } else {
    o["timestamp"] = ts;
    o["timestamp_type"] = type == RD_KAFKA_TIMESTAMP_CREATE_TIME ? "create" : "log_append";
  }
  put_bytes(o, "key", m.key, m.key_len);
  put_bytes(o, "value", m.payload, m.len);
  boost::json::array hs;
  rd_kafka_headers_t* headers = nullptr;
  // rd_kafka_message_headers() wants a non-const message (it parses the headers lazily).
  if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(&m), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      boost::json::object h;
      put_bytes(h, "key", name, std::char_traits<char>::length(name));
      put_bytes(h, "value", value, size);
      hs.push_back(std::move(h));
    }
  }
  o["headers"] = std::move(hs);
  out += boost::json::serialize(o);
  out += '\n';
}

void append_envelope(const kafka::DeliveryReport& r, std::string_view topic, std::string& out,
                     std::optional<std::int64_t> create_time) {
  if (r.message) return append_envelope(*r.message, topic, out, create_time);
  if (!r.refused) return;
  EnvelopeMessage e;
  if (r.refused->key) e.key = std::string(*r.refused->key);
  if (r.refused->value) e.value = std::string(*r.refused->value);
  e.headers.assign(r.refused->headers.begin(), r.refused->headers.end());
  if (r.refused->timestamp_ms > 0) e.timestamp = r.refused->timestamp_ms;
  if (r.refused->partition >= 0) e.partition = r.refused->partition;
  append_envelope(e, topic, out);
}

void append_envelope(const EnvelopeMessage& m, std::string_view topic, std::string& out,
                     const std::vector<kafka::Header>& extra) {
  boost::json::object o;
  o.reserve(12);
  o["topic"] = topic;
  if (m.partition)
    o["partition"] = *m.partition;
  else
    o["partition"] = nullptr;
  o["offset"] = nullptr;
  if (m.timestamp) {
    o["timestamp"] = *m.timestamp;
    o["timestamp_type"] = "create";
  } else {
    o["timestamp"] = nullptr;
    o["timestamp_type"] = nullptr;
  }
  auto put = [](boost::json::object& to, std::string_view field, const std::optional<std::string>& bytes) {
    put_bytes(to, field, bytes ? bytes->data() : nullptr, bytes ? bytes->size() : 0);
  };
  put(o, "key", m.key);
  put(o, "value", m.value);
  boost::json::array hs;
  for (const auto* list : {&m.headers, &extra})
    for (const kafka::Header& h : *list) {
      boost::json::object ho;
      put_bytes(ho, "key", h.name.data(), h.name.size());
      put(ho, "value", h.value);
      hs.push_back(std::move(ho));
    }
  o["headers"] = std::move(hs);
  out += boost::json::serialize(o);
  out += '\n';
}

// ---------------------------------------------------------------------------------------------
// Reading envelopes back

namespace {

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

/// Reads the string-or-null field `field` of `o` with its "<field>_encoding" flag.
/// @returns "" or the reason it cannot.
std::string read_bytes(const simdjson::dom::object& o, std::string_view field, std::optional<std::string>& out,
                       std::string_view where) {
  out.reset();
  simdjson::dom::element v;
  if (o.at_key(field).get(v) != simdjson::SUCCESS || v.is_null()) return "";
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS)
    return std::string(where) + "field " + in_quotes(field) + " is not a string or null";
  const std::string flag = std::string(field) + "_encoding";
  simdjson::dom::element e;
  std::string_view encoding = "utf-8";
  if (o.at_key(flag).get(e) == simdjson::SUCCESS && !e.is_null() && e.get_string().get(encoding) != simdjson::SUCCESS)
    return std::string(where) + "field " + in_quotes(flag) + " is not a string";
  if (encoding == "base64") {
    std::string bytes;
    if (!base64_decode(s, bytes)) return std::string(where) + "field " + in_quotes(field) + " is not valid base64";
    out = std::move(bytes);
  } else if (encoding == "utf-8" || encoding == "UTF-8") {
    out = std::string(s);
  } else {
    return std::string(where) + "field " + in_quotes(flag) + " is " + in_quotes(encoding) + " (expected base64 or utf-8)";
  }
  return "";
}

}  // namespace

std::string parse_envelope(const simdjson::dom::element& v, EnvelopeMessage& out, bool need_partition) {
  out = EnvelopeMessage{};
  simdjson::dom::object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) return "not a JSON object (expected an envelope)";
  simdjson::dom::element unused;
  const bool kcat = o.at_key("value").get(unused) != simdjson::SUCCESS && o.at_key("payload").get(unused) == simdjson::SUCCESS;
  if (!kcat && o.at_key("value").get(unused) != simdjson::SUCCESS)
    return "envelope has no field 'value' (give \"value\": null for a null value)";
  if (std::string why = read_bytes(o, "key", out.key, "envelope "); !why.empty()) return why;
  if (std::string why = read_bytes(o, kcat ? "payload" : "value", out.value, "envelope "); !why.empty()) return why;

  simdjson::dom::element ts;
  if (o.at_key(kcat ? "ts" : "timestamp").get(ts) == simdjson::SUCCESS && !ts.is_null()) {
    std::int64_t t = -1;
    // kcat -J writes "ts": -1 for a message without a timestamp: the same as none.
    if (ts.get_int64().get(t) != simdjson::SUCCESS || (t < 0 && !(kcat && t == -1)))
      return std::string("envelope field '") + (kcat ? "ts" : "timestamp") +
             "' is not a timestamp (expected milliseconds since the epoch, 0 or more, or null; 0 and null "
             "mean the time of sending)";
    if (t > 0) out.timestamp = t;  // 0: librdkafka's "now", the same as none
  }
  if (need_partition) {
    simdjson::dom::element part;
    if (o.at_key("partition").get(part) != simdjson::SUCCESS || part.is_null())
      return "envelope has no partition (--keep-partition needs \"partition\": 0 or more; without it "
             "the partitioner chooses)";
    std::int64_t p = -1;
    if (part.get_int64().get(p) != simdjson::SUCCESS || p < 0 || p > INT32_MAX)
      return "envelope field 'partition' is not a partition number (--keep-partition needs an integer, 0 or more)";
    out.partition = static_cast<std::int32_t>(p);
  }

  simdjson::dom::element hv;
  if (o.at_key("headers").get(hv) != simdjson::SUCCESS || hv.is_null()) return "";
  simdjson::dom::array hs;
  if (hv.get_array().get(hs) != simdjson::SUCCESS) {
    // kcat -J writes headers as an object in some versions: {"name": "value", ...}.
    simdjson::dom::object ho;
    if (hv.get_object().get(ho) != simdjson::SUCCESS)
      return "envelope field 'headers' is not an array of {\"key\": ..., \"value\": ...} objects";
    for (const auto field : ho) {
      kafka::Header h{std::string(field.key), std::nullopt};
      std::string_view s;
      if (!field.value.is_null()) {
        if (field.value.get_string().get(s) != simdjson::SUCCESS)
          return "envelope header " + in_quotes(field.key) + " has a value that is not a string or null";
        h.value = std::string(s);
      }
      out.headers.push_back(std::move(h));
    }
    return "";
  }
  std::size_t i = 0;
  std::optional<std::string> pending_name;  // kcat's flat ["name", "value", ...]
  for (const simdjson::dom::element h : hs) {
    ++i;
    const std::string where = "envelope header " + std::to_string(i) + ": ";
    if (h.is_string() || (pending_name && h.is_null())) {
      if (!pending_name) {
        pending_name = std::string(h.get_string().value_unsafe());
      } else {
        std::optional<std::string> value;
        if (!h.is_null()) value = std::string(h.get_string().value_unsafe());
        out.headers.push_back({std::move(*pending_name), std::move(value)});
        pending_name.reset();
      }
      continue;
    }
    simdjson::dom::object ho;
    if (pending_name || h.get_object().get(ho) != simdjson::SUCCESS)
      return where + "not an object {\"key\": ..., \"value\": ...}";
    kafka::Header eh;
    std::optional<std::string> name;
    if (std::string why = read_bytes(ho, "key", name, where); !why.empty()) return why;
    if (!name) return where + "field 'key' is missing or null (a header needs a name)";
    if (name->find('\0') != std::string::npos) return where + "field 'key' holds a NUL byte (librdkafka cannot send it)";
    eh.name = std::move(*name);
    if (std::string why = read_bytes(ho, "value", eh.value, where); !why.empty()) return why;
    out.headers.push_back(std::move(eh));
  }
  if (pending_name) return "envelope field 'headers' has a name without a value (kcat's flat form pairs them)";
  return "";
}

// ---------------------------------------------------------------------------------------------
// kcat -f format strings

namespace {
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

MessageFormat::MessageFormat(std::string_view format) {
  std::string text;
  auto flush = [&] {
    if (!text.empty()) parts_.push_back({Token::text, std::move(text)});
    text.clear();
  };
  auto bad = [&](const std::string& why) {
    return OptionError("format", "invalid --format '" + std::string(format) + "': " + why +
                      " (tokens: %t %p %o %T %k %K %s %v %S %h %%; escapes: \\n \\r \\t \\\\ \\xNN)");
  };
  for (std::size_t i = 0; i < format.size(); ++i) {
    const char c = format[i];
    if (c == '\\' && i + 1 < format.size()) {
      const char e = format[++i];
      switch (e) {
        case 'n': text += '\n'; break;
        case 'r': text += '\r'; break;
        case 't': text += '\t'; break;
        case '\\': text += '\\'; break;
        case 'x': {
          int v = 0, n = 0;
          while (n < 2 && i + 1 < format.size() && hex_digit(format[i + 1]) >= 0) {
            v = v * 16 + hex_digit(format[++i]);
            ++n;
          }
          if (n == 0) throw bad("'\\x' needs one or two hex digits");
          text += static_cast<char>(v);
          break;
        }
        default:  // as kcat: an unknown escape stands for the character itself
          text += e;
      }
      continue;
    }
    if (c != '%') {
      text += c;
      continue;
    }
    if (i + 1 >= format.size()) throw bad("it ends with a lone '%' (write %% for a percent sign)");
    const char t = format[++i];
    Token token;
    switch (t) {
      case '%': text += '%'; continue;
      case 't': token = Token::topic; break;
      case 'p': token = Token::partition; break;
      case 'o': token = Token::offset; break;
      case 'T': token = Token::timestamp; break;
      case 'k': token = Token::key; break;
      case 'K': token = Token::key_length; break;
      case 's':
      case 'v': token = Token::value; break;
      case 'S': token = Token::value_length; break;
      case 'h': token = Token::headers; break;
      default: throw bad(std::string("unknown token '%") + t + "'");
    }
    flush();
    parts_.push_back({token, {}});
  }
  flush();
}

void MessageFormat::append(const rd_kafka_message_t& m, std::string_view topic, std::string& out) const {
  char num[32];
  auto number = [&](long long v) { out.append(num, static_cast<std::size_t>(std::snprintf(num, sizeof num, "%lld", v))); };
  for (const Part& p : parts_) {
    switch (p.token) {
      case Token::text: out += p.text; break;
      case Token::topic: out += topic; break;
      case Token::partition: number(m.partition); break;
      case Token::offset: number(m.offset); break;
      case Token::timestamp: number(rd_kafka_message_timestamp(&m, nullptr)); break;
      case Token::key:
        if (m.key) out.append(static_cast<const char*>(m.key), m.key_len);
        break;
      case Token::key_length: number(m.key ? static_cast<long long>(m.key_len) : -1); break;
      case Token::value:
        if (m.payload) out.append(static_cast<const char*>(m.payload), m.len);
        break;
      case Token::value_length: number(m.payload ? static_cast<long long>(m.len) : -1); break;
      case Token::headers: {
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(&m), &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
        const char* name = nullptr;
        const void* value = nullptr;
        std::size_t size = 0;
        for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          if (i > 0) out += ',';
          out += name;
          out += '=';
          if (value)
            out.append(static_cast<const char*>(value), size);
          else
            out += "NULL";
        }
        break;
      }
    }
  }
}

}  // namespace sfcrime
