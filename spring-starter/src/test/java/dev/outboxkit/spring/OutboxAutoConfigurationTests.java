package dev.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxSchemaException;
import dev.outboxkit.outbox.observation.DefaultOutboxAppendObservationConvention;
import dev.outboxkit.outbox.observation.OutboxAppendObservationConvention;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.HeaderContributor;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.spring.autoconfigure.OutboxAutoConfiguration;
import dev.outboxkit.spring.autoconfigure.OutboxProperties;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.transport.SenderContext;
import io.micrometer.tracing.TraceContext;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.propagation.Propagator;
import io.micrometer.tracing.test.simple.SimpleTracer;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionManagerCustomizationAutoConfiguration;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

class OutboxAutoConfigurationTests {

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  DataSourceAutoConfiguration.class,
                  DataSourceTransactionManagerAutoConfiguration.class,
                  TransactionAutoConfiguration.class,
                  JdbcTemplateAutoConfiguration.class,
                  OutboxAutoConfiguration.class))
          .withPropertyValues(
              "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
              "outbox.store.auto-create=true");

  @Test
  void givesAnOutboxBoundToSpringTransactions() {
    runner.run(
        context -> {
          assertThat(context).hasNotFailed().hasSingleBean(Outbox.class);
          assertThat(context.getBean(ConnectionProvider.class))
              .isInstanceOf(SpringConnectionProvider.class);
          assertThat(context.getBean(OutboxDialect.class).name()).isEqualTo("h2");
          Outbox outbox = context.getBean(Outbox.class);
          inTransaction(context, () -> outbox.append("Order", "o-1", "OrderPlaced", "{}"));
          assertThat(
                  context
                      .getBean(JdbcTemplate.class)
                      .queryForObject("SELECT count(*) FROM outbox_event", Integer.class))
              .isOne();
        });
  }

  @Test
  void refusesATransactionOfAnotherDataSourceEvenWithAutoCommitOff() {
    runner
        .withPropertyValues("spring.datasource.hikari.auto-commit=false")
        .run(
            context -> {
              Outbox outbox = context.getBean(Outbox.class);
              var other =
                  new org.springframework.jdbc.datasource.DriverManagerDataSource(
                      "jdbc:h2:mem:other-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
              var otherTransactions =
                  new TransactionTemplate(
                      new org.springframework.jdbc.support.JdbcTransactionManager(other));
              assertThat(
                      org.assertj.core.api.Assertions.catchThrowable(
                          () ->
                              otherTransactions.executeWithoutResult(
                                  status -> outbox.append("Order", "o-1", "T", "{}"))))
                  .isInstanceOf(dev.outboxkit.outbox.NoActiveTransactionException.class)
                  .hasMessageContaining("not on the outbox's DataSource");
              assertThat(
                      context
                          .getBean(JdbcTemplate.class)
                          .queryForObject("SELECT count(*) FROM outbox_event", Integer.class))
                  .isZero();
            });
  }

  @Test
  void backsOffWhenTheApplicationDefinesItsOwnBeans() {
    runner
        .withUserConfiguration(OwnBeans.class)
        .withPropertyValues("outbox.store.auto-create=false", "outbox.store.validate-schema=false")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context.getBean(Outbox.class)).isSameAs(OwnBeans.OUTBOX);
              assertThat(context.getBean(OutboxDialect.class)).isSameAs(OutboxDialect.postgresql());
            });
  }

  @Test
  void holdsAppendsUntilTheCommitOnlyInTransactionsOfManagersWithItsListener() {
    // Boot's transaction-manager customization adds TransactionExecutionListener beans.
    runner
        .withConfiguration(
            AutoConfigurations.of(TransactionManagerCustomizationAutoConfiguration.class))
        .run(
            context -> {
              assertThat(context).hasSingleBean(OutboxTransactionListener.class);
              Outbox outbox = context.getBean(Outbox.class);
              JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
              TransactionTemplate configured =
                  new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
              assertThat(visibleInTheTransaction(configured, outbox, jdbc)).isZero();
              // A transaction manager the application built without the listener: inserted at once.
              TransactionTemplate own =
                  new TransactionTemplate(
                      new org.springframework.jdbc.support.JdbcTransactionManager(
                          context.getBean(javax.sql.DataSource.class)));
              assertThat(visibleInTheTransaction(own, outbox, jdbc)).isOne();
              assertThat(jdbc.queryForObject("SELECT count(*) FROM outbox_event", Integer.class))
                  .isEqualTo(2);
            });
  }

  @Test
  void insertsEachAppendAtOnceWhenDeferringIsTurnedOff() {
    runner
        .withPropertyValues("outbox.store.defer-appends=false")
        .run(
            context -> {
              assertThat(context).doesNotHaveBean(OutboxTransactionListener.class);
              TransactionTemplate transactions =
                  new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
              assertThat(
                      visibleInTheTransaction(
                          transactions,
                          context.getBean(Outbox.class),
                          context.getBean(JdbcTemplate.class)))
                  .isOne();
            });
  }

  /** Appends one event and counts the outbox rows the transaction itself sees. */
  private static Integer visibleInTheTransaction(
      TransactionTemplate transactions, Outbox outbox, JdbcTemplate jdbc) {
    return transactions.execute(
        status -> {
          int before = jdbc.queryForObject("SELECT count(*) FROM outbox_event", Integer.class);
          outbox.append("Order", "o-" + UUID.randomUUID(), "OrderPlaced", "{}");
          return jdbc.queryForObject("SELECT count(*) FROM outbox_event", Integer.class) - before;
        });
  }

  @Test
  void isOffWhenDisabled() {
    runner
        .withPropertyValues("outbox.enabled=false")
        .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(Outbox.class));
  }

  @Test
  void needsADataSource() {
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(OutboxAutoConfiguration.class))
        .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(Outbox.class));
  }

  @Test
  void needsSpringJdbcOnTheClasspath() {
    runner
        .withClassLoader(new FilteredClassLoader(DataSourceUtils.class))
        .run(context -> assertThat(context).doesNotHaveBean(Outbox.class));
  }

  @Test
  void failsAtStartupNamingAnInvalidProperty() {
    runner
        .withPropertyValues("outbox.store.partitions=0")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining(
                        "outbox.store.partitions must be between 1 and 4096 but was 0"));
    runner
        .withPropertyValues("outbox.store.table-name=outbox;drop table x")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.store.table-name: Outbox table name"));
    runner
        .withPropertyValues("outbox.events.max-payload-size=0B")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.events.max-payload-size must be between 1"));
    runner
        .withPropertyValues("outbox.store.dialect=oracle")
        .run(
            context ->
                assertThat(context).getFailure().hasStackTraceContaining("outbox.store.dialect"));
  }

  @Test
  void failsAtStartupNamingAMissingTable() {
    runner
        .withPropertyValues(
            "outbox.store.auto-create=false", "outbox.store.table-name=orders_outbox")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .isInstanceOf(OutboxSchemaException.class)
                    .hasMessageContaining("Outbox table 'orders_outbox' does not exist")
                    .hasMessageContaining("outbox.store.auto-create=true"));
  }

  @Test
  void failsAtStartupNamingAMissingColumn() {
    runner
        .withPropertyValues(
            "outbox.store.auto-create=false",
            "spring.sql.init.mode=always",
            "spring.sql.init.schema-locations=classpath:schema-missing-column.sql")
        .withConfiguration(
            AutoConfigurations.of(
                org.springframework.boot.jdbc.autoconfigure
                    .DataSourceInitializationAutoConfiguration.class))
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .isInstanceOf(OutboxSchemaException.class)
                    .hasMessageContaining("lacks column(s) [last_error]"));
  }

  @Test
  void canSkipTheSchemaCheck() {
    runner
        .withPropertyValues("outbox.store.auto-create=false", "outbox.store.validate-schema=false")
        .run(context -> assertThat(context).hasNotFailed().hasSingleBean(Outbox.class));
  }

  @Test
  void usesTheConfiguredDialectWithoutDetecting() {
    runner
        .withPropertyValues("outbox.store.dialect=h2", "outbox.store.partitions=64")
        .run(
            context -> {
              assertThat(context.getBean(OutboxDialect.class)).isSameAs(OutboxDialect.h2());
              assertThat(context.getBean(OutboxProperties.class).store().partitions())
                  .isEqualTo(64);
            });
  }

  @Test
  void appliesHeaderContributorsAndCustomizers() {
    runner
        .withBean(HeaderContributor.class, () -> message -> Map.of("x-app", "payments"))
        .withBean(OutboxBuilderCustomizer.class, () -> builder -> builder.maxPayloadBytes(10))
        .run(
            context -> {
              Outbox outbox = context.getBean(Outbox.class);
              OutboxEvent event =
                  inTransaction(context, () -> outbox.append("Order", "o-1", "OrderPlaced", "{}"));
              assertThat(event.headers()).containsEntry("x-app", "payments");
              assertThat(
                      org.assertj.core.api.Assertions.catchThrowable(
                          () ->
                              inTransaction(
                                  context,
                                  () -> outbox.append("Order", "o-1", "T", "x".repeat(11)))))
                  .hasMessageContaining("payload must be at most 10 bytes");
            });
  }

  @Test
  void capturesTheActiveTraceIntoHeaders() {
    SimpleTracer tracer = new SimpleTracer();
    Propagator w3c = new FakeW3cPropagator();
    runner
        .withBean(Tracer.class, () -> tracer)
        .withBean(Propagator.class, () -> w3c)
        .run(
            context -> {
              Outbox outbox = context.getBean(Outbox.class);
              var span = tracer.nextSpan().name("authorize").start();
              OutboxEvent event;
              try (Tracer.SpanInScope ignored = tracer.withSpan(span)) {
                event =
                    inTransaction(
                        context, () -> outbox.append("Order", "o-1", "OrderPlaced", "{}"));
              } finally {
                span.end();
              }
              assertThat(event.headers())
                  .containsEntry(
                      "traceparent",
                      "00-" + span.context().traceId() + "-" + span.context().spanId() + "-01");
            });
  }

  @Test
  void observesEachAppendWhenAnObservationRegistryExistsAndStoresWhatItsHandlerPropagated() {
    List<Observation.Context> stopped = new java.util.concurrent.CopyOnWriteArrayList<>();
    ObservationRegistry registry = ObservationRegistry.create();
    registry
        .observationConfig()
        .observationHandler(
            new ObservationHandler<SenderContext<Map<String, String>>>() {
              @Override
              public void onStart(SenderContext<Map<String, String>> context) {
                // What a tracing handler does: write the observation's context into the carrier.
                context
                    .getSetter()
                    .set(
                        context.getCarrier(),
                        "traceparent",
                        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
              }

              @Override
              public void onStop(SenderContext<Map<String, String>> context) {
                stopped.add(context);
              }

              @Override
              public boolean supportsContext(Observation.Context context) {
                return context instanceof SenderContext<?>;
              }
            });
    runner
        .withBean(ObservationRegistry.class, () -> registry)
        .withBean(
            OutboxAppendObservationConvention.class,
            () ->
                new DefaultOutboxAppendObservationConvention() {
                  @Override
                  public String getName() {
                    return "payments.outbox.append";
                  }
                })
        .run(
            context -> {
              Outbox outbox = context.getBean(Outbox.class);
              OutboxEvent event =
                  inTransaction(context, () -> outbox.append("Order", "o-1", "OrderPlaced", "{}"));
              assertThat(event.headers())
                  .containsEntry(
                      "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
              assertThat(stopped).hasSize(1);
              Observation.Context observed = stopped.get(0);
              assertThat(observed.getName()).isEqualTo("payments.outbox.append");
              assertThat(observed.getContextualName()).isEqualTo("create Order");
              assertThat(observed.getLowCardinalityKeyValue("outbox.aggregate.type").getValue())
                  .isEqualTo("Order");
              assertThat(observed.getHighCardinalityKeyValue("messaging.message.id").getValue())
                  .isEqualTo(event.id().toString());
            });
  }

  @Test
  void observesNothingWithoutAnObservationRegistry() {
    runner.run(
        context ->
            assertThat(context.getBean(Outbox.class).getClass().getSimpleName())
                .isEqualTo("DefaultOutbox"));
  }

  private static <T> T inTransaction(ApplicationContext context, Supplier<T> work) {
    return new TransactionTemplate(context.getBean(PlatformTransactionManager.class))
        .execute(status -> work.get());
  }

  /** Writes the W3C header the way the OpenTelemetry and Brave propagators do. */
  static final class FakeW3cPropagator implements Propagator {
    @Override
    public List<String> fields() {
      return List.of("traceparent");
    }

    @Override
    public <C> void inject(TraceContext context, C carrier, Setter<C> setter) {
      setter.set(
          carrier, "traceparent", "00-" + context.traceId() + "-" + context.spanId() + "-01");
    }

    @Override
    public <C> io.micrometer.tracing.Span.Builder extract(C carrier, Getter<C> getter) {
      throw new UnsupportedOperationException();
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class OwnBeans {
    static final Outbox OUTBOX =
        Outbox.builder()
            .connectionProvider(
                new ConnectionProvider() {
                  @Override
                  public <T> T withTransactionConnection(ConnectionCallback<T> work) {
                    throw new UnsupportedOperationException();
                  }
                })
            .dialect(OutboxDialect.postgresql())
            .build();

    @Bean
    Outbox myOutbox() {
      return OUTBOX;
    }

    @Bean
    OutboxDialect myDialect(DataSource dataSource) {
      return OutboxDialect.postgresql();
    }
  }
}
