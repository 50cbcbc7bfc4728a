package sfcrime.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.AppInfoParser;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowBytesStoreSupplier;

/**
 * Benchmark peer: the 30-minute aggregation of sfcrime done by a Kafka Streams application
 * (bench/peers/kstreams_aggregate.py starts it; bench/peers/install-kstreams builds it).
 *
 * <p>What is measured: how fast the Kafka Streams DSL counts a whole (finite) topic of SF police
 * calls per tumbling event-time window and original_crime_type_name, the topology a Kafka Streams
 * user writes for it:
 *
 * <pre>
 *   builder.stream(topic)                                  String values (JSON), event time from
 *                                                          call_date_time (CallTime, below)
 *     .groupBy((k, v) -> original_crime_type_name)         a repartition topic, keyed by the type
 *     .windowedBy(TimeWindows.ofSizeAndGrace(window, grace))
 *     .count(store)                                        in-memory or RocksDB window store,
 *                                                          with its changelog topic
 *   count.toStream().foreach(...)                          the latest count per (window, type)
 * </pre>
 *
 * Windows are [start, start + size) aligned to the epoch (TimeWindows' own alignment).
 * call_date_time ("2018-12-31T23:57:00.000") is a naive wall-clock time, read as UTC (no zone
 * conversion), floored to the second as tests/oracle.py does; a value that is not
 * YYYY-MM-DDTHH:MM:SS[.f{1,9}] with a valid calendar date gets timestamp -1, which Kafka Streams
 * drops (counted here as "unparsed"). JSON is read with Jackson's streaming parser (jackson-core):
 * a real parser, so escapes are handled (the data has a type named "\"Bumper Jack\""), but no tree
 * is built: it stops at the field it looks for. Each record is parsed twice, once for its time in
 * the extractor and once for its type in groupBy, since a TimestampExtractor cannot pass anything
 * on to the topology.
 *
 * <p>When the answer is complete: the topic is finite, but a Streams application never ends by
 * itself. The count table's change stream (flushed from the record cache at each commit, or under
 * cache pressure) updates a map of the latest count per (window start, type) and their sum; the run
 * ends when the sum equals --expected-records, or when nothing was read and no count changed for
 * --idle-ms (then the answer is reported as it is, "complete": false when it falls short, with the
 * records Kafka Streams dropped: a record whose window closed (window end + grace <= the task's
 * stream time, the largest event time its repartition partition has seen) is dropped as late, and
 * counted in the task metric dropped-records-total). query_s runs from KafkaStreams.start() to the
 * last update of the answer (the moment the sum reached the expected count).
 *
 * <p>Late records: the 6 source tasks each write their partition's records into every repartition
 * partition at their own pace, so a count task sees event times out of order by as much as the
 * source tasks are apart (a fetch holds days of event time of one partition). With a grace of 60
 * minutes most of the real data is dropped as late; with a grace longer than the data's span the
 * answer equals tests/oracle.py's. The window store keeps a window for size + grace (the DSL's
 * default retention).
 *
 * <p>Every run uses a fresh application.id (sfcrime-bench-kstreams-UUID) and a temporary state.dir;
 * at the end it closes the client, calls cleanUp(), deletes the state dir, the internal topics
 * (application.id-...-repartition and -changelog) and the consumer group, so a run leaves nothing
 * behind on the broker but the transactional ids of exactly_once_v2 (they expire by themselves).
 *
 * <p>Output: one JSON line on stdout (the figures and every setting); Kafka's logs on stderr.
 * Exit 0 with an answer (complete or not), 1 on an error (cannot reach the broker, no topic, a
 * stream thread died, the deadline passed), with the reason on stderr.
 *
 * <p>What is tuned, and why (the launcher passes every setting; its defaults are the best found,
 * and bench/peers/kstreams_aggregate.py gives the figures): Kafka's "Configuring a Streams
 * Application" (docs/streams/developer-guide/config-streams.html) and "Memory Management"
 * (memory-mgmt.html), and Confluent's "Optimize Confluent Cloud Clients for Throughput"
 * (batch.size, linger.ms, compression.type, fetch.min.bytes):
 * num.stream.threads (one per core), statestore.cache.max.bytes and commit.interval.ms (the record
 * cache compacts updates of a key between commits: fewer writes to the store, the changelog and
 * downstream; a commit flushes it, so the interval is also how long the last counts wait),
 * topology.optimization=all (the guide recommends enabling it; it changes nothing in this topology),
 * the consumer's max.poll.records and fetch.min.bytes, the producer's linger.ms, batch.size and
 * compression.type (they apply to the repartition and changelog topics), and the window store.
 * Anything else can be set with --config KEY=VALUE (StreamsConfig names, consumer./producer.
 * prefixes allowed).
 */
public final class KStreamsAggregate {
    private static final JsonFactory JSON = new JsonFactory();
    private static final String STORE = "counts";
    private static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);

    private static final LongAdder RECORDS = new LongAdder();  // values seen by groupBy
    private static final LongAdder UNPARSED = new LongAdder(); // no valid call_date_time: dropped
    private static final LongAdder NO_TYPE = new LongAdder();  // no original_crime_type_name: dropped

    private KStreamsAggregate() {}

    /** A (window start, crime type) key of the answer. */
    private record Row(long start, String type) {}

    /** The event time: call_date_time as epoch milliseconds, -1 (dropped) when it does not parse. */
    public static final class CallTime implements TimestampExtractor {
        @Override
        public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
            long t = parseTime(stringField((String) record.value(), "call_date_time"));
            if (t < 0) {
                UNPARSED.increment();
            }
            return t;
        }
    }

    /** The string value of a top-level field of a JSON object, or null (absent, not a string, not JSON). */
    static String stringField(String json, String name) {
        if (json == null) {
            return null;
        }
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                boolean match = name.equals(p.currentName());
                JsonToken value = p.nextToken();
                if (match) {
                    return value == JsonToken.VALUE_STRING ? p.getText() : null;
                }
                p.skipChildren();
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    /** Epoch ms (whole seconds, as UTC) of "YYYY-MM-DDTHH:MM:SS[.fraction of 1-9 digits]", else -1. */
    static long parseTime(String s) {
        if (s == null || s.length() < 19 || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T'
                || s.charAt(13) != ':' || s.charAt(16) != ':') {
            return -1;
        }
        int frac = s.length() - 20;
        if (s.length() > 19 && (s.charAt(19) != '.' || frac < 1 || frac > 9 || digits(s, 20, s.length()) < 0)) {
            return -1;
        }
        int y = digits(s, 0, 4), mo = digits(s, 5, 7), d = digits(s, 8, 10);
        int h = digits(s, 11, 13), mi = digits(s, 14, 16), sec = digits(s, 17, 19);
        if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) {
            return -1;
        }
        try {
            long day = LocalDate.of(y, mo, d).toEpochDay(); // rejects 2018-02-30
            long t = (day * 86400 + h * 3600L + mi * 60L + sec) * 1000;
            return t < 0 ? -1 : t; // before 1970 cannot be told from "invalid" by Kafka Streams
        } catch (java.time.DateTimeException e) {
            return -1;
        }
    }

    private static int digits(String s, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    /** The command line: --name value pairs, --config KEY=VALUE repeatable. */
    private static final class Options {
        final Map<String, String> values = new HashMap<>();
        final Map<String, String> config = new TreeMap<>();

        Options(String[] args) {
            for (int i = 0; i < args.length; i++) {
                if (!args[i].startsWith("--") || i + 1 >= args.length) {
                    throw new IllegalArgumentException("expected --name value, got '" + args[i] + "'");
                }
                String name = args[i].substring(2), value = args[++i];
                if (name.equals("config")) {
                    int eq = value.indexOf('=');
                    if (eq <= 0) {
                        throw new IllegalArgumentException("--config wants KEY=VALUE, got '" + value + "'");
                    }
                    config.put(value.substring(0, eq), value.substring(eq + 1));
                } else {
                    values.put(name, value);
                }
            }
        }

        String get(String name) {
            String v = values.get(name);
            if (v == null) {
                throw new IllegalArgumentException("missing --" + name);
            }
            return v;
        }

        String opt(String name) {
            return values.get(name);
        }

        long num(String name) {
            return Long.parseLong(get(name));
        }
    }

    public static void main(String[] argv) {
        int status;
        try {
            status = run(new Options(argv));
        } catch (Exception e) {
            System.err.println("kstreams_aggregate: error: " + e.getMessage());
            status = 1;
        }
        System.exit(status); // Kafka's client threads may linger otherwise
    }

    private static int run(Options o) throws Exception {
        String bootstrap = o.get("bootstrap-servers"), topic = o.get("topic"), guarantee = o.get("guarantee");
        String store = o.get("store");
        if (!Set.of("memory", "rocksdb").contains(store)) {
            throw new IllegalArgumentException("--store is memory or rocksdb");
        }
        Duration size = Duration.ofMinutes(o.num("window-minutes")), grace = Duration.ofMinutes(o.num("grace-minutes"));
        Long expected = o.opt("expected-records") == null ? null : o.num("expected-records");
        long deadline = System.nanoTime() + (long) (Double.parseDouble(o.get("timeout-s")) * 1e9);
        long commitMs = o.num("commit-interval-ms");
        long idleMs = o.num("idle-ms");
        String appId = "sfcrime-bench-kstreams-" + UUID.randomUUID();
        Path stateDir = Files.createTempDirectory("sfcrime-kstreams-");

        // The settings: every value is echoed in the JSON ("settings").
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, o.get("threads"));
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, String.valueOf(commitMs));
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, o.get("cache-bytes"));
        p.put(StreamsConfig.TOPOLOGY_OPTIMIZATION_CONFIG, StreamsConfig.OPTIMIZE);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), o.get("max-poll-records"));
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MIN_BYTES_CONFIG), o.get("fetch-min-bytes"));
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), o.get("linger-ms"));
        p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), o.get("batch-size"));
        p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), o.get("compression"));
        p.putAll(o.config);
        Map<String, Object> settings = new TreeMap<>();
        p.forEach((k, v) -> settings.put((String) k, v));
        settings.remove(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG);
        settings.remove(StreamsConfig.STATE_DIR_CONFIG);
        settings.put("window.store", store);
        settings.put("idle.ms", idleMs);

        Map<String, Object> out = new LinkedHashMap<>();
        Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30000));
        AtomicReference<KafkaStreams> app = new AtomicReference<>(); // set once it exists
        Runtime.getRuntime().addShutdownHook(new Thread(() -> cleanUp(app.get(), admin, appId, stateDir)));
        KafkaStreams streams = null;
        try {
            // Fail early and clearly when the broker or the topic is missing: Kafka Streams itself
            // would only retry (and log) until the deadline.
            TopicDescription td;
            long waitMs = Math.max(1000, Math.min(15_000, (deadline - System.nanoTime()) / 1_000_000));
            try {
                td = admin.describeTopics(List.of(topic)).allTopicNames().get(waitMs, TimeUnit.MILLISECONDS).get(topic);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("no answer from " + bootstrap + " within " + waitMs / 1000
                        + " s: is Kafka running? (see --bootstrap-servers)", e);
            } catch (Exception e) {
                throw new IllegalStateException("cannot describe topic '" + topic + "' at " + bootstrap + ": "
                        + (e.getCause() != null ? e.getCause() : e), e);
            }

            // --- the topology -------------------------------------------------------------------
            Map<Row, Long> answer = new ConcurrentHashMap<>();
            AtomicLong sum = new AtomicLong();
            AtomicLong lastChange = new AtomicLong(System.nanoTime()); // the last update of the answer
            StreamsBuilder builder = new StreamsBuilder();
            TimeWindows windows = TimeWindows.ofSizeAndGrace(size, grace);
            Duration retention = size.plus(grace); // the DSL's default: a window is kept until it closes
            WindowBytesStoreSupplier supplier = store.equals("memory")
                    ? Stores.inMemoryWindowStore(STORE, retention, size, false)
                    : Stores.persistentTimestampedWindowStore(STORE, retention, size, false);
            builder.stream(topic, Consumed.with(Serdes.String(), Serdes.String()).withTimestampExtractor(new CallTime()))
                    .groupBy((k, v) -> {
                        RECORDS.increment();
                        String type = stringField(v, "original_crime_type_name");
                        if (type == null) {
                            NO_TYPE.increment(); // a null key: Kafka Streams drops the record
                        }
                        return type;
                    }, Grouped.with(STORE, Serdes.String(), Serdes.String()))
                    .windowedBy(windows)
                    .count(Materialized.<String, Long>as(supplier))
                    .toStream()
                    .foreach((w, n) -> {
                        if (w == null || n == null) {
                            return;
                        }
                        Long old = answer.put(new Row(w.window().start(), w.key()), n);
                        sum.addAndGet(n - (old == null ? 0 : old));
                        lastChange.set(System.nanoTime());
                    });

            AtomicReference<Throwable> failure = new AtomicReference<>();
            streams = new KafkaStreams(builder.build(p), p);
            app.set(streams);
            streams.setUncaughtExceptionHandler(e -> {
                failure.compareAndSet(null, e);
                return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });

            long launched = o.opt("launched-at-ms") == null ? System.currentTimeMillis() : o.num("launched-at-ms");
            double jvmStartS = (System.currentTimeMillis() - launched) / 1000.0;
            long q0 = System.nanoTime();
            streams.start();

            // --- wait for the answer ------------------------------------------------------------
            long lastRead = -1, lastReadAt = q0, firstRecordAt = -1;
            boolean complete;
            while (true) {
                Thread.sleep(5);
                long now = System.nanoTime();
                if (failure.get() != null) {
                    throw new IllegalStateException("a stream thread failed: " + failure.get(), failure.get());
                }
                if (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.NOT_RUNNING) {
                    throw new IllegalStateException("Kafka Streams stopped (state " + streams.state() + ")");
                }
                if (expected != null && sum.get() == expected) {
                    complete = true;
                    break;
                }
                long read = RECORDS.sum();
                if (read != lastRead) {
                    lastRead = read;
                    lastReadAt = now;
                    if (firstRecordAt < 0 && read > 0) {
                        firstRecordAt = now;
                    }
                }
                if (read > 0 && now - Math.max(lastReadAt, lastChange.get()) > idleMs * 1_000_000L) {
                    complete = expected == null && sum.get() == read && UNPARSED.sum() == 0; // nothing dropped
                    break;
                }
                if (now > deadline) {
                    throw new IllegalStateException(String.format("no complete answer before the deadline "
                            + "(%d records read, counts sum to %d%s)", read, sum.get(),
                            expected == null ? "" : ", expected " + expected));
                }
            }
            double queryS = (lastChange.get() - q0) / 1e9;

            // The records Kafka Streams dropped (late, no timestamp, no key): the task metrics.
            long dropped = 0;
            for (Map.Entry<MetricName, ? extends Metric> m : streams.metrics().entrySet()) {
                if (m.getKey().name().equals("dropped-records-total") && m.getKey().group().equals("stream-task-metrics")) {
                    dropped += ((Number) m.getValue().metricValue()).longValue();
                }
            }

            long records = RECORDS.sum() + UNPARSED.sum(); // unparsed ones never reach groupBy
            long total = sum.get();
            out.put("peer", "kstreams");
            out.put("guarantee", guarantee);
            out.put("records", records);
            out.put("rows", answer.size());
            out.put("windows", answer.keySet().stream().map(Row::start).distinct().count());
            out.put("total_count", total);
            out.put("complete", complete);
            if (expected != null) {
                out.put("expected_records", expected);
                out.put("missing", expected - total);
            }
            out.put("dropped_records", dropped);
            out.put("dropped_late", Math.max(0, dropped - UNPARSED.sum() - NO_TYPE.sum()));
            out.put("unparsed", UNPARSED.sum());
            out.put("no_type", NO_TYPE.sum());
            out.put("jvm_start_s", round(jvmStartS));
            out.put("first_record_s", firstRecordAt < 0 ? null : round((firstRecordAt - q0) / 1e9));
            out.put("query_s", round(queryS));
            out.put("records_per_s", queryS > 0 ? Math.round(records / queryS * 10) / 10.0 : null);
            out.put("threads", Integer.parseInt(o.get("threads")));
            out.put("partitions", td.partitions().size());
            out.put("window_minutes", size.toMinutes());
            out.put("grace_minutes", grace.toMinutes());
            out.put("store", store);
            out.put("settings", settings);
            out.put("kafka_streams_version", AppInfoParser.getVersion());
            out.put("java", System.getProperty("java.version"));
            out.put("max_heap_mb", Runtime.getRuntime().maxMemory() / (1 << 20));

            if (o.opt("dump-rows") != null) {
                writeRows(Path.of(o.get("dump-rows")), answer);
            }
        } finally {
            cleanUp(streams, admin, appId, stateDir);
        }
        StringWriter line = new StringWriter();
        try (JsonGenerator g = JSON.createGenerator(line)) {
            writeValue(g, out);
        }
        System.out.println(line);
        System.out.flush();
        return 0;
    }

    private static double round(double s) {
        return Math.round(s * 1000) / 1000.0;
    }

    /** One JSON line per row, {"window_start": "YYYY-MM-DDTHH:MM:SS", "type", "count"}, sorted as python_aggregate.py does. */
    private static void writeRows(Path file, Map<Row, Long> answer) throws IOException {
        List<Map.Entry<Row, Long>> rows = new ArrayList<>(answer.entrySet());
        rows.sort(Comparator.comparing((Map.Entry<Row, Long> e) -> e.getKey().start()).thenComparing(e -> e.getKey().type()));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
             JsonGenerator g = JSON.createGenerator(w)) {
            g.setRootValueSeparator(new com.fasterxml.jackson.core.io.SerializedString("\n"));
            for (Map.Entry<Row, Long> e : rows) {
                g.writeStartObject();
                g.writeStringField("window_start", ISO.format(java.time.Instant.ofEpochMilli(e.getKey().start())));
                g.writeStringField("type", e.getKey().type());
                g.writeNumberField("count", e.getValue());
                g.writeEndObject();
            }
            g.writeRaw('\n');
        }
    }

    @SuppressWarnings("unchecked")
    private static void writeValue(JsonGenerator g, Object v) throws IOException {
        if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                g.writeFieldName((String) e.getKey());
                writeValue(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof Number n) {
            if (n instanceof Double || n instanceof Float) {
                g.writeNumber(n.doubleValue());
            } else {
                g.writeNumber(n.longValue());
            }
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v == null) {
            g.writeNull();
        } else {
            g.writeString(v.toString());
        }
    }

    private static boolean cleaned;

    /**
     * Closes the client and removes its local state, and, when it was started, its topics and its
     * consumer group from the broker; once (from the end of run(), or from the shutdown hook on
     * SIGTERM: synchronized, so the hook waits for a clean-up under way).
     */
    private static synchronized void cleanUp(KafkaStreams streams, Admin admin, String appId, Path stateDir) {
        if (cleaned) {
            return;
        }
        cleaned = true;
        try {
            if (streams != null) {
                streams.close(Duration.ofSeconds(30));
                streams.cleanUp();
            }
        } catch (RuntimeException e) {
            System.err.println("kstreams_aggregate: closing Kafka Streams: " + e);
        }
        try (var paths = Files.walk(stateDir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            System.err.println("kstreams_aggregate: removing " + stateDir + ": " + e);
        }
        if (streams == null) { // never started: nothing on the broker
            admin.close(Duration.ZERO);
            return;
        }
        try {
            Set<String> mine = admin.listTopics().names().get(30, TimeUnit.SECONDS).stream()
                    .filter(t -> t.startsWith(appId + "-")).collect(Collectors.toSet());
            if (!mine.isEmpty()) {
                admin.deleteTopics(mine).all().get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            System.err.println("kstreams_aggregate: deleting the topics " + appId + "-*: "
                    + (e.getCause() != null ? e.getCause() : e));
        }
        // Streams' consumers do not leave the group when they close (CloseOptions.leaveGroup acts
        // on static members only), and a group with members cannot be deleted: remove them first.
        try {
            admin.removeMembersFromConsumerGroup(appId, new RemoveMembersFromConsumerGroupOptions())
                    .all().get(30, TimeUnit.SECONDS);
            admin.deleteConsumerGroups(List.of(appId)).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            boolean notFound = false; // it never joined: nothing to delete
            for (Throwable c = e; c != null; c = c.getCause()) {
                notFound |= c instanceof GroupIdNotFoundException;
            }
            if (!notFound) {
                System.err.println("kstreams_aggregate: deleting the consumer group " + appId + ": "
                        + (e.getCause() != null ? e.getCause() : e));
            }
        }
        admin.close(Duration.ofSeconds(10));
    }
}
