package dev.outboxkit.samples.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.samples.payment.PaymentEvents;
import dev.outboxkit.test.ServerTest;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingReceiverTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingSenderTracingObservationHandler;
import io.micrometer.tracing.otel.bridge.OtelCurrentTraceContext;
import io.micrometer.tracing.otel.bridge.OtelPropagator;
import io.micrometer.tracing.otel.bridge.OtelTracer;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.Bean;

/**
 * Issue 21: one trace from the payment service's HTTP request through the outbox append, the
 * relay's publish (in the payment service here) and the ledger's inbox, exported through a real
 * OpenTelemetry SDK ({@code SdkTracerProvider}, W3C propagation, a {@link SpanExporter} that keeps
 * the finished spans in memory) behind Micrometer Tracing, as an application wires it. Both
 * services run in this JVM on the shared PostgreSQL and Kafka and share the one tracer.
 */
@ServerTest
class PaymentTraceEndToEndIntegrationTests {

  static final List<SpanData> exported = new CopyOnWriteArrayList<>();
  static SdkTracerProvider provider;
  static ObservationRegistry registry;
  private static DemoStack stack;

  @BeforeAll
  static void start() {
    SpanExporter inMemory =
        new SpanExporter() {
          @Override
          public CompletableResultCode export(Collection<SpanData> spans) {
            exported.addAll(spans);
            return CompletableResultCode.ofSuccess();
          }

          @Override
          public CompletableResultCode flush() {
            return CompletableResultCode.ofSuccess();
          }

          @Override
          public CompletableResultCode shutdown() {
            return CompletableResultCode.ofSuccess();
          }
        };
    provider =
        SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(inMemory)).build();
    io.opentelemetry.api.trace.Tracer otel = provider.get("payment-demo-test");
    Tracer tracer = new OtelTracer(otel, new OtelCurrentTraceContext(), event -> {});
    OtelPropagator propagator =
        new OtelPropagator(
            ContextPropagators.create(W3CTraceContextPropagator.getInstance()), otel);
    registry = ObservationRegistry.create();
    registry
        .observationConfig()
        .observationHandler(
            new ObservationHandler.FirstMatchingCompositeObservationHandler(
                new PropagatingSenderTracingObservationHandler<>(tracer, propagator),
                new PropagatingReceiverTracingObservationHandler<>(tracer, propagator),
                new DefaultTracingObservationHandler(tracer)));
    // A group of its own: the other end-to-end test's ledger reads the same topic on this broker.
    stack =
        DemoStack.start(
            DemoStack.Settings.fromEnvironment(true, true).withLedgerGroupId("ledger-trace-test"),
            Tracing.class);
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
    if (provider != null) {
      provider.close();
    }
  }

  /** Both services observe through the test's registry (Boot uses an application's own bean). */
  static class Tracing {
    @Bean
    ObservationRegistry observationRegistry() {
      return registry;
    }
  }

  @Test
  void oneTraceRunsFromTheHttpRequestThroughAppendAndPublishToTheLedger() throws Exception {
    HttpResponse<String> created =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(stack.paymentUrl() + "/payments"))
                    .timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json")
                    .header("Idempotency-Key", "trace-1")
                    .POST(
                        HttpRequest.BodyPublishers.ofString(
                            "{\"payer\":\"alice\",\"merchant\":\"bookshop\",\"amountMinor\":990,"
                                + "\"currency\":\"EUR\"}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);

    String topic = PaymentEvents.TOPIC;
    SpanData append =
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> find(s -> s.getName().startsWith("create ")), Optional::isPresent)
            .orElseThrow();
    String traceId = append.getTraceId();
    SpanData request =
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    find(
                        s ->
                            s.getKind() == SpanKind.SERVER
                                && s.getTraceId().equals(traceId)
                                && s.getSpanId().equals(append.getParentSpanId())),
                Optional::isPresent)
            .orElseThrow();
    SpanData publish =
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () -> find(s -> s.getName().equals("send " + topic) && inTrace(s, traceId)),
                Optional::isPresent)
            .orElseThrow();
    SpanData consume =
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () -> find(s -> s.getName().equals("process " + topic) && inTrace(s, traceId)),
                Optional::isPresent)
            .orElseThrow();

    assertThat(request.getParentSpanContext().isValid())
        .as("the request span starts the trace")
        .isFalse();
    assertThat(append.getKind()).isEqualTo(SpanKind.PRODUCER);
    assertThat(publish.getKind()).isEqualTo(SpanKind.PRODUCER);
    assertThat(publish.getParentSpanId())
        .as("publish continues the append")
        .isEqualTo(append.getSpanId());
    assertThat(consume.getKind()).isEqualTo(SpanKind.CONSUMER);
    assertThat(consume.getParentSpanId())
        .as("the ledger continues the append")
        .isEqualTo(append.getSpanId());
    assertThat(List.of(request, append, publish, consume))
        .extracting(SpanData::getTraceId)
        .containsOnly(traceId);
  }

  private static boolean inTrace(SpanData span, String traceId) {
    return span.getTraceId().equals(traceId);
  }

  private static Optional<SpanData> find(Predicate<SpanData> which) {
    return exported.stream().filter(which).findFirst();
  }
}
