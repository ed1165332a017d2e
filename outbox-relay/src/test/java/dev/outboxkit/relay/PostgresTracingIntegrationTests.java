package dev.outboxkit.relay;

import static dev.outboxkit.relay.RelayTestSupport.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.kafka.KafkaInbox;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.observation.OutboxObservations;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.tracing.Span;
import io.micrometer.tracing.Tracer;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.trace.data.SpanData;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One trace from the request that appends an event to the consumer that processes it, with a real
 * OpenTelemetry SDK tracer, PostgreSQL and Kafka: the append span is a child of the request's span,
 * the relay's publish span and the inbox's processing span are children of the append span (the
 * context the record carries in {@code traceparent}), in polling and in CDC mode. No span carries
 * the payload or the key.
 */
@ServerTest
class PostgresTracingIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private static final String SECRET = "4111111111111111";

  private final TestTracing tracing = new TestTracing();
  private OutboxRelay relay;
  private OutboxDialect dialect;

  @BeforeEach
  void setUp() throws SQLException {
    dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      CdcSchema.create(c, dialect, OutboxTable.of("outbox_cdc_state"));
      IdempotencySchema.create(
          c, dialect, OutboxTable.of("idempotency_key"), OutboxTable.of("inbox_message"));
      s.execute("DELETE FROM outbox_event");
    }
  }

  @AfterEach
  void tearDown() throws SQLException {
    if (relay != null) {
      relay.close();
    }
    tracing.close();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
              + " WHERE slot_name = 'tracing_cdc' AND NOT active");
    }
  }

  @Test
  void oneTraceFromTheRequestThroughThePollingRelayToTheInbox() {
    oneTrace("TracePoll" + System.nanoTime() % 100_000, builder -> builder);
  }

  @Test
  void oneTraceFromTheRequestThroughTheCdcRelayToTheInbox() {
    oneTrace(
        "TraceCdc" + System.nanoTime() % 100_000,
        builder ->
            builder.cdc(
                CdcOptions.builder(
                        db.database().jdbcUrl(), db.database().username(), db.database().password())
                    .name("tracing_cdc")
                    .autoCreate(true)
                    .heartbeatInterval(Duration.ofMillis(500))
                    .build()));
  }

  private void oneTrace(String topic, UnaryOperator<TestRelayBuilder> mode) {
    kafka.createTopic(topic, 2);
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox =
        OutboxObservations.observe(
            Outbox.builder().connectionProvider(tx).dialect(dialect).build(), tracing.registry);
    relay =
        mode.apply(
                TestRelayBuilder.relay()
                    .dataSource(db.dataSource())
                    .bootstrapServers(kafka.bootstrapServers())
                    .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
                    .pollInterval(Duration.ofMillis(5), Duration.ofMillis(100))
                    .meterRegistry(new SimpleMeterRegistry())
                    .observationRegistry(tracing.registry))
            .build();
    relay.start();

    // The "HTTP request": a server span in scope while the application appends.
    Tracer tracer = tracing.tracer;
    Span request = tracer.nextSpan().name("POST /payments").start();
    OutboxEvent event;
    try (Tracer.SpanInScope scope = tracer.withSpan(request)) {
      event =
          tx.inTransaction(
              c ->
                  outbox.append(
                      OutboxMessage.of(
                          topic, "payment-7", "PaymentAuthorized", Map.of("pan", SECRET))));
    } finally {
      request.end();
    }

    ConsumerRecord<byte[], byte[]> record;
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      record = reader.readAtLeast(1, Duration.ofSeconds(60)).get(0);
    }
    Inbox inbox = Inbox.builder().connectionProvider(tx).dialect(dialect).build();
    KafkaInbox ledger = KafkaInbox.of(inbox, "ledger").observed(tracing.registry);
    boolean handled = tx.inTransaction(c -> ledger.process(record, r -> {}));
    assertThat(handled).isTrue();

    String eventId = event.id().toString();
    await().atMost(Duration.ofSeconds(30)).until(() -> spanNamed("send " + topic, eventId) != null);
    SpanData append = spanNamed("create " + topic, eventId);
    SpanData publish = spanNamed("send " + topic, eventId);
    SpanData process = spanNamed("process " + topic, eventId);
    assertThat(append).as("append span").isNotNull();
    assertThat(process).as("inbox span").isNotNull();

    String traceId = request.context().traceId();
    assertThat(List.of(append.getTraceId(), publish.getTraceId(), process.getTraceId()))
        .containsOnly(traceId);
    assertThat(append.getParentSpanId()).isEqualTo(request.context().spanId());
    assertThat(publish.getParentSpanId()).isEqualTo(append.getSpanId());
    assertThat(process.getParentSpanId()).isEqualTo(append.getSpanId());
    assertThat(append.getKind()).isEqualTo(SpanKind.PRODUCER);
    assertThat(publish.getKind()).isEqualTo(SpanKind.PRODUCER);
    assertThat(process.getKind()).isEqualTo(SpanKind.CONSUMER);

    // The record carries the append's context, the event id and the topic in the span tags.
    // (the flags are the SDK's: sampled, and since W3C Trace Context level 2 "random trace id")
    assertThat(headers(record).get("traceparent"))
        .startsWith("00-" + traceId + "-" + append.getSpanId() + "-");
    assertThat(headers(record).get(OutboxHeaders.EVENT_ID)).isEqualTo(eventId);
    assertThat(publish.getAttributes().get(AttributeKey.stringKey("messaging.destination.name")))
        .isEqualTo(topic);
    assertThat(publish.getAttributes().get(AttributeKey.stringKey("outbox.outcome")))
        .isEqualTo("acked");
    assertThat(process.getAttributes().get(AttributeKey.stringKey("outbox.inbox.outcome")))
        .isEqualTo("handled");
    for (SpanData span : List.of(append, publish, process)) {
      assertThat(span.getAttributes().asMap().values())
          .as("attributes of %s", span.getName())
          .allSatisfy(
              value ->
                  assertThat(String.valueOf(value))
                      .doesNotContain(SECRET)
                      .doesNotContain("payment-7"));
    }
  }

  /** The finished span of that name about that event (by its message id attribute). */
  private SpanData spanNamed(String name, String eventId) {
    return tracing.spans().stream()
        .filter(s -> s.getName().equals(name))
        .filter(
            s ->
                eventId.equals(
                    s.getAttributes().get(AttributeKey.stringKey("messaging.message.id"))))
        .findFirst()
        .orElse(null);
  }
}
