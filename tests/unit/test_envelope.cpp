#define BOOST_TEST_MODULE envelope
#include <boost/test/unit_test.hpp>

#include <simdjson.h>

#include <cstring>
#include <string>

#include "sfcrime/base/errors.hpp"
#include "sfcrime/kafka/envelope.hpp"
#include "sfcrime/kafka/source.hpp"

using namespace sfcrime;

namespace {
EnvelopeMessage parse_ok(const std::string& json, bool need_partition = false) {
  simdjson::dom::parser parser;
  const simdjson::dom::element v = parser.parse(json).value();
  EnvelopeMessage m;
  const std::string why = parse_envelope(v, m, need_partition);
  BOOST_TEST_INFO(json);
  BOOST_TEST(why == "");
  return m;
}
std::string parse_error(const std::string& json, bool need_partition = false) {
  simdjson::dom::parser parser;
  const simdjson::dom::element v = parser.parse(json).value();
  EnvelopeMessage m;
  return parse_envelope(v, m, need_partition);
}
/// A message built by hand: only the fields MessageFormat reads without librdkafka's internals
/// (not %T or %h).
rd_kafka_message_t message(const char* key, const char* value, std::int32_t partition, std::int64_t offset) {
  rd_kafka_message_t m{};
  m.partition = partition;
  m.offset = offset;
  m.key = const_cast<char*>(key);
  m.key_len = key ? std::strlen(key) : 0;
  m.payload = const_cast<char*>(value);
  m.len = value ? std::strlen(value) : 0;
  return m;
}
std::string format(const char* fmt, const rd_kafka_message_t& m) {
  std::string out;
  MessageFormat(fmt).append(m, "calls", out);
  return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(base64_rfc4648_vectors_round_trip) {
  // RFC 4648, section 10.
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    BOOST_TEST(base64_encode(plain[i]) == coded[i]);
    std::string back;
    BOOST_TEST(base64_decode(coded[i], back));
    BOOST_TEST(back == plain[i]);
  }
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  std::string back;
  BOOST_TEST(base64_decode(base64_encode(all), back));
  BOOST_TEST(back == all);
}

BOOST_AUTO_TEST_CASE(base64_decode_rejects_what_is_not_padded_base64) {
  std::string out;
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zg=a", "=Zg=", " Zg==", "Zg==\n", "Zm9v!A==", "Zm 9v"}) {
    BOOST_TEST_INFO(bad);
    BOOST_TEST(!base64_decode(bad, out));
  }
}

BOOST_AUTO_TEST_CASE(utf8_check) {
  BOOST_TEST(valid_utf8("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  BOOST_TEST(!valid_utf8("\xff"));
  BOOST_TEST(!valid_utf8("\xc3\x28"));
  BOOST_TEST(!valid_utf8("\xed\xa0\x80"));      // a surrogate
  BOOST_TEST(!valid_utf8("\xc0\xaf"));          // overlong
  BOOST_TEST(valid_utf8(std::string_view("a\0b", 3)));  // NUL is valid UTF-8
}

BOOST_AUTO_TEST_CASE(envelope_fields_and_encodings) {
  EnvelopeMessage m = parse_ok(
      R"({"topic":"t","partition":2,"offset":7,"timestamp":1600000000000,"timestamp_type":"create",)"
      R"("key":"k","value":"/wA=","value_encoding":"base64","headers":[{"key":"a","value":"1"},{"key":"n","value":null},)"
      R"({"key":"b","value":"/w==","value_encoding":"base64"}]})",
      /*need_partition=*/true);
  BOOST_TEST(*m.key == "k");
  BOOST_TEST(*m.value == std::string("\xff\0", 2));
  BOOST_TEST(*m.timestamp == 1600000000000);
  BOOST_TEST(*m.partition == 2);
  BOOST_REQUIRE(m.headers.size() == 3u);
  BOOST_TEST(m.headers[0].name == "a");
  BOOST_TEST(*m.headers[0].value == "1");
  BOOST_TEST(!m.headers[1].value);
  BOOST_TEST(*m.headers[2].value == "\xff");

  m = parse_ok(R"({"value":null})");
  BOOST_TEST(!m.key);
  BOOST_TEST(!m.value);
  BOOST_TEST(!m.timestamp);
  BOOST_TEST(!m.partition);
  BOOST_TEST(m.headers.empty());
}

BOOST_AUTO_TEST_CASE(kcat_json_envelope) {
  const EnvelopeMessage m = parse_ok(
      R"({"topic":"t","partition":0,"offset":1,"tstype":"create","ts":1700000000000,"broker":1,)"
      R"("headers":["h1","v1","h2","v2"],"key":"k1","payload":"hello"})");
  BOOST_TEST(*m.key == "k1");
  BOOST_TEST(*m.value == "hello");
  BOOST_TEST(*m.timestamp == 1700000000000);
  BOOST_REQUIRE(m.headers.size() == 2u);
  BOOST_TEST(m.headers[1].name == "h2");
  BOOST_TEST(*m.headers[1].value == "v2");
  // kcat writes "ts": -1 for a message without a timestamp; in our own envelope -1 is refused.
  BOOST_TEST(!parse_ok(R"({"ts":-1,"key":null,"payload":"x"})").timestamp.has_value());
  BOOST_TEST(parse_error(R"({"timestamp":-1,"key":null,"value":"x"})").find("'timestamp'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_envelopes_say_why) {
  BOOST_TEST(parse_error("[1]").find("not a JSON object") != std::string::npos);
  BOOST_TEST(parse_error(R"({"key":"k"})").find("'value'") != std::string::npos);
  BOOST_TEST(parse_error(R"({"value":1})").find("not a string or null") != std::string::npos);
  BOOST_TEST(parse_error(R"({"value":"!","value_encoding":"base64"})").find("not valid base64") != std::string::npos);
  BOOST_TEST(parse_error(R"({"value":"00","value_encoding":"hex"})").find("'hex'") != std::string::npos);
  BOOST_TEST(parse_error(R"({"value":"v","timestamp":-5})").find("timestamp") != std::string::npos);
  BOOST_TEST(parse_error(R"({"payload":"v","ts":-2})").find("'ts'") != std::string::npos);  // -1 is kcat's "none"
  BOOST_TEST(parse_error(R"({"value":"v","partition":"1"})", true).find("partition") != std::string::npos);
  BOOST_TEST(parse_error(R"({"value":"v","headers":[{"value":"x"}]})").find("header 1") != std::string::npos);
  BOOST_TEST(parse_error(R"({"value":"v","headers":"x"})").find("headers") != std::string::npos);
  BOOST_TEST(parse_error(R"({"payload":"v","headers":["lonely"]})").find("headers") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(timestamp_zero_or_null_is_the_time_of_sending) {
  // librdkafka reads a CreateTime of 0 as "now": 0 is taken as no timestamp, not sent as 0.
  for (const char* json : {R"({"value":"v","timestamp":0})", R"({"value":"v","timestamp":null})", R"({"value":"v"})",
                           R"({"payload":"v","ts":0})"}) {
    BOOST_TEST_INFO(json);
    BOOST_TEST(!parse_ok(json).timestamp);
  }
  BOOST_TEST(*parse_ok(R"({"value":"v","timestamp":1})").timestamp == 1);
  for (const char* json : {R"({"value":"v","timestamp":-1})", R"({"value":"v","timestamp":1.5})",
                           R"({"value":"v","timestamp":"0"})"}) {
    BOOST_TEST_INFO(json);
    BOOST_TEST(parse_error(json).find("is not a timestamp") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(partition_is_read_only_when_needed) {
  // Without --keep-partition the partition is ignored, whatever it holds (a failed file's
  // envelope of a message never placed has null; older ones -1).
  for (const char* json : {R"({"value":"v","partition":-1})", R"({"value":"v","partition":null})",
                           R"({"value":"v","partition":"x"})", R"({"value":"v"})", R"({"value":"v","partition":3})"}) {
    BOOST_TEST_INFO(json);
    BOOST_TEST(!parse_ok(json).partition);
  }
  BOOST_TEST(*parse_ok(R"({"value":"v","partition":3})", true).partition == 3);
  BOOST_TEST(*parse_ok(R"({"value":"v","partition":0})", true).partition == 0);
  BOOST_TEST(parse_error(R"({"value":"v"})", true).find("envelope has no partition") != std::string::npos);
  BOOST_TEST(parse_error(R"({"value":"v","partition":null})", true).find("no partition") != std::string::npos);
  BOOST_TEST(parse_error(R"({"value":"v","partition":-1})", true).find("not a partition number") != std::string::npos);
  BOOST_TEST(parse_error(R"({"value":"v","partition":2147483648})", true).find("not a partition number") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(envelope_message_round_trips) {
  EnvelopeMessage m;
  m.key = std::nullopt;
  m.value = std::string("\xff\0", 2);
  m.headers = {{"a", "1"}, {"n", std::nullopt}};
  m.timestamp = 1600000000000;
  std::string out;
  append_envelope(m, "calls", out, {{"source", "cad"}});
  BOOST_TEST(out.back() == '\n');
  out.pop_back();
  const EnvelopeMessage back = parse_ok(out);
  BOOST_TEST(!back.key);
  BOOST_TEST(*back.value == *m.value);
  BOOST_TEST(*back.timestamp == 1600000000000);
  BOOST_REQUIRE(back.headers.size() == 3u);
  BOOST_TEST(!back.headers[1].value);
  BOOST_TEST(back.headers[2].name == "source");
  BOOST_TEST(*back.headers[2].value == "cad");
  m = EnvelopeMessage{};
  m.key = "";
  out.clear();
  append_envelope(m, "calls", out);
  out.pop_back();
  const EnvelopeMessage empty = parse_ok(out);
  BOOST_TEST((empty.key && empty.key->empty()));
  BOOST_TEST(!empty.value);
  BOOST_TEST(!empty.timestamp);
}

BOOST_AUTO_TEST_CASE(format_tokens_as_kcat) {
  const rd_kafka_message_t m = message("k1", "v%1", 3, 42);
  BOOST_TEST(format("%t [%p] at %o: %k=%s (%K/%S) %v 100%%\\n", m) == "calls [3] at 42: k1=v%1 (2/3) v%1 100%\n");
  BOOST_TEST(format("\\t\\x41\\x7e\\\\\\q", m) == "\tA~\\q");
  const rd_kafka_message_t null = message(nullptr, nullptr, 0, 0);
  BOOST_TEST(format("[%k][%s] %K %S", null) == "[][] -1 -1");  // as kcat without -Z
}

BOOST_AUTO_TEST_CASE(format_errors_are_usage_errors) {
  for (const char* bad : {"%q", "50%", "\\xZZ", "%"}) {
    BOOST_TEST_INFO(bad);
    BOOST_CHECK_THROW(MessageFormat{bad}, UsageError);
  }
}

BOOST_AUTO_TEST_CASE(start_offsets) {
  using K = StartOffset::Kind;
  const std::int64_t now = 1700000000000;
  BOOST_TEST((parse_start_offset("beginning", now).kind == K::beginning));
  BOOST_TEST((parse_start_offset("end", now).kind == K::end));
  StartOffset s = parse_start_offset("17", now);
  BOOST_TEST((s.kind == K::absolute && s.value == 17));
  s = parse_start_offset("-5", now);
  BOOST_TEST((s.kind == K::from_end && s.value == 5));
  s = parse_start_offset("@1600000000000", now);
  BOOST_TEST((s.kind == K::timestamp && s.value == 1600000000000));
  s = parse_start_offset("@2020-09-13T12:26:40Z", now);  // 1600000000 s after the epoch, UTC
  BOOST_TEST((s.kind == K::timestamp && s.value == 1600000000000));
  s = parse_start_offset("@2020-09-13T12:26:40.5", now);
  BOOST_TEST(s.value == 1600000000500);
  s = parse_start_offset("@1970-01-02", now);
  BOOST_TEST(s.value == 86400000);
  s = parse_start_offset("@-1h", now);
  BOOST_TEST((s.kind == K::timestamp && s.value == now - 3600000));
  for (const char* bad : {"", "begin ning", "-0", "@", "@yesterday", "@2020-13-01", "@-1x", "1.5", "+3", "x"}) {
    BOOST_TEST_INFO(bad);
    BOOST_CHECK_THROW(parse_start_offset(bad, now), UsageError);
  }
}
