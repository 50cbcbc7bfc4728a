// sfcrime produce: read records from a JSON array or NDJSON input and send each to a topic.
#include <boost/json.hpp>

#include <unistd.h>

#include <chrono>
#include <exception>
#include <optional>
#include <cstdio>
#include <thread>

#include "sfcrime/cli.hpp"
#include "sfcrime/commands.hpp"
#include "sfcrime/errors.hpp"
#include "sfcrime/kafka.hpp"
#include "sfcrime/progress.hpp"
#include "sfcrime/reader.hpp"
#include "sfcrime/record.hpp"

namespace sfcrime::commands {

namespace {
constexpr std::uint64_t kShownRejects = 100;  // rejected records printed one by one; the rest are counted
}

int produce(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "produce";
  spec.synopsis = "sfcrime produce --topic TOPIC [--file PATH|-] [--key FIELD] [--limit N] [--rate N] [options]";
  spec.summary =
      "Reads records from a JSON array (pretty-printed or compact) or newline-delimited JSON, as a\n"
      "stream in bounded memory, and sends each as one message (compact JSON value, key = the key\n"
      "field) with an idempotent producer. A record that is not a JSON object, lacks call_date_time\n"
      "or whose call_date_time does not parse (YYYY-MM-DDTHH:MM:SS[.fff], no zone), or that lacks\n"
      "the key field (or holds an object or array there) is rejected with its record number and\n"
      "reason and not sent. Waits for every delivery report, then prints a\n"
      "summary to stderr. Exit 0 when every record was delivered, 65 if any was rejected or the\n"
      "input is malformed, 69 if any was not delivered, 130 if interrupted.";
  spec.options.add_options()
      ("topic,t", cli::po::value<std::string>()->required()->value_name("TOPIC"), "topic to send to (must exist)")
      ("file,f", cli::po::value<std::string>()->value_name("PATH|-"), "input file, '-' for standard input (default)")
      ("key", cli::po::value<std::string>()->default_value("crime_id")->value_name("FIELD"), "field whose value is the message key")
      ("limit", cli::po::value<long long>()->value_name("N"), "stop after reading N records")
      ("rate", cli::po::value<long long>()->value_name("N"), "send at most N records per second");
  spec.examples =
      "  xz -dc police-department-calls-for-service.json.xz | sfcrime produce --topic police-calls\n"
      "  sfcrime produce --topic police-calls --file calls.ndjson --limit 1000 --rate 100\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const Config& config = parsed->config;

  const std::string topic = vm["topic"].as<std::string>();
  const std::string file = vm.count("file") ? vm["file"].as<std::string>() : "-";
  if (!vm.count("file") && ::isatty(STDIN_FILENO))
    throw UsageError("no input: give --file PATH, or pipe records into standard input (see 'sfcrime produce --help')");
  const long long limit = vm.count("limit") ? cli::positive(vm, "limit") : 0;
  const long long rate = vm.count("rate") ? cli::positive(vm, "rate") : 0;
  RecordRules rules;
  rules.key_field = vm["key"].as<std::string>();

  RecordReader reader(file);  // before connecting: a missing file is reported at once
  std::uint64_t read = 0, rejected = 0;
  auto report = [&](std::uint64_t number, std::uint64_t line, const std::string& reason) {
    ++rejected;
    if (rejected <= kShownRejects)
      std::fprintf(stderr, "sfcrime: record %llu (line %llu) rejected: %s\n", static_cast<unsigned long long>(number),
                   static_cast<unsigned long long>(line), reason.c_str());
    else if (rejected == kShownRejects + 1)
      std::fprintf(stderr, "sfcrime: more records rejected; only the count is reported from now on\n");
  };
  std::uint64_t failures_shown = 0;
  kafka::Producer producer(config, topic, [&](std::uint64_t record, rd_kafka_resp_err_t err) {
    if (++failures_shown <= kShownRejects)
      std::fprintf(stderr, "sfcrime: record %llu not delivered: %s\n", static_cast<unsigned long long>(record),
                   rd_kafka_err2str(err));
  });

  const auto t0 = std::chrono::steady_clock::now();
  ProgressLine progress(true);
  RecordParser parser;
  std::string value;
  RawRecord raw;
  std::exception_ptr input_error;  // the input broke off: deliver what came before, then report
  bool stopped = false;
  for (;;) {
    if (interrupted()) {
      stopped = true;
      break;
    }
    if (limit && read >= static_cast<std::uint64_t>(limit)) break;
    try {
      if (!reader.next(raw)) break;
    } catch (const Error&) {  // malformed input, a read error, Ctrl-C on a stalled pipe
      input_error = std::current_exception();
      break;
    }
    ++read;
    if (rate) {
      // Pace against the start: record k leaves no earlier than k / rate seconds after t0.
      const auto due = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(read - 1) / static_cast<double>(rate)));
      while (std::chrono::steady_clock::now() < due && !interrupted()) {
        producer.poll(0);
        std::this_thread::sleep_until(std::min(due, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
      }
    }
    std::string error;
    const boost::json::value* v = parser.parse(raw.text, &error);
    if (!v) {
      report(raw.number, raw.line, error);
      continue;
    }
    const Validated ok = validate_record(*v, rules);
    if (!ok.ok()) {
      report(raw.number, raw.line, ok.reason);
      continue;
    }
    value = boost::json::serialize(*v);
    if (!producer.send(rules.key_field.empty() ? std::nullopt : std::optional<std::string_view>(ok.key), value,
                       raw.number)) {
      stopped = true;  // interrupted while the local queue was full: this record was not sent
      break;
    }
    if ((read & 1023) == 0) producer.poll(0);
    if (progress.due()) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress.show("sfcrime produce: " + std::to_string(read) + " read, " +
                    std::to_string(producer.stats().delivered) + " sent, " + std::to_string(rejected) + " rejected, " +
                    std::to_string(static_cast<long long>(static_cast<double>(read) / secs)) + " records/s");
    }
  }
  progress.clear();

  // Wait for every delivery report. librdkafka gives up on a message after message.timeout.ms
  // (120 s by sfcrime's default) and reports it failed, so this loop ends; a second Ctrl-C exits at once.
  // After Ctrl-C the wait is bounded by --timeout as well (the user asked to stop), and the
  // records still without a report are counted as unknown.
  std::optional<std::chrono::steady_clock::time_point> give_up;
  while (producer.flush(500) > 0) {
    if (config.verbosity >= 1)
      std::fprintf(stderr, "sfcrime: waiting for %d delivery reports\n", producer.in_flight());
    if (interrupted()) {
      if (!give_up) give_up = std::chrono::steady_clock::now() + config.timeout;
      if (std::chrono::steady_clock::now() >= *give_up) break;
    }
  }
  const int unknown = producer.in_flight();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const kafka::DeliveryStats& s = producer.stats();
  std::fprintf(stderr,
               "sfcrime produce: %llu read, %llu sent, %llu rejected, %llu failed, %.1f MB, %.2f s, %.0f records/s%s%s\n",
               static_cast<unsigned long long>(read), static_cast<unsigned long long>(s.delivered),
               static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(s.failed),
               static_cast<double>(s.bytes) / 1e6, secs, secs > 0 ? static_cast<double>(s.delivered) / secs : 0.0,
               stopped ? " (interrupted)" : "",
               unknown > 0 ? (", " + std::to_string(unknown) + " without a delivery report").c_str() : "");
  if (stopped || interrupted()) throw InterruptedError("interrupted after " + std::to_string(read) + " records");
  if (s.failed > 0)
    throw UnavailableError(std::to_string(s.failed) + " records were not delivered to '" + topic +
                           "' (see the errors above; -v shows the client's log)");
  if (input_error) std::rethrow_exception(input_error);
  if (rejected > 0) throw DataError(std::to_string(rejected) + " of " + std::to_string(read) + " records were rejected");
  return 0;
}

}  // namespace sfcrime::commands
