package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.observation.OutboxAppendObservationConvention;
import dev.outboxkit.outbox.observation.OutboxObservations;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.HeaderContributor;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.outbox.spi.PayloadCodec;
import dev.outboxkit.outbox.spi.PayloadSerializer;
import dev.outboxkit.spring.OutboxApplicationEventListener;
import dev.outboxkit.spring.OutboxBuilderCustomizer;
import dev.outboxkit.spring.OutboxTransactionListener;
import dev.outboxkit.spring.SpringConnectionProvider;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.propagation.Propagator;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import javax.sql.DataSource;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.datasource.DataSourceUtils;
import tools.jackson.databind.json.JsonMapper;

/**
 * An {@link Outbox} bound to the application's {@link DataSource} and its Spring-managed
 * transactions, its table checked at start-up, and {@link
 * dev.outboxkit.spring.OutboxApplicationEvent}s appended when published. With an {@link
 * ObservationRegistry} bean, each append is observed ({@code outbox.append}, renamed or retagged by
 * an {@link OutboxAppendObservationConvention} bean) and its trace context stored in the events'
 * headers. Every bean backs off when the application defines its own.
 */
@AutoConfiguration(
    afterName = {
      "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration",
      "org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration",
      "org.springframework.boot.hibernate.autoconfigure.HibernateJpaAutoConfiguration",
      "org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration",
      "org.springframework.boot.liquibase.autoconfigure.LiquibaseAutoConfiguration",
      "org.springframework.boot.jackson.autoconfigure.JacksonAutoConfiguration"
    })
@ConditionalOnClass({Outbox.class, DataSourceUtils.class})
@ConditionalOnSingleCandidate(DataSource.class)
@ConditionalOnBooleanProperty(name = "outbox.enabled", matchIfMissing = true)
@EnableConfigurationProperties(OutboxProperties.class)
public final class OutboxAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  ConnectionProvider outboxConnectionProvider(DataSource dataSource) {
    return new SpringConnectionProvider(dataSource);
  }

  @Bean
  @ConditionalOnMissingBean
  OutboxDialect outboxDialect(DataSource dataSource, OutboxProperties properties) {
    OutboxProperties.DialectName name = properties.store().dialect();
    if (name != OutboxProperties.DialectName.AUTO) {
      return OutboxDialect.named(name.name());
    }
    try (Connection connection = dataSource.getConnection()) {
      return OutboxDialect.detect(connection);
    } catch (SQLException e) {
      throw new OutboxStoreException(
          "Could not detect the outbox dialect (set outbox.store.dialect to skip detection)", e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          e.getMessage() + ". Set outbox.store.dialect if the database speaks one of them.", e);
    }
  }

  @Bean
  @ConditionalOnMissingBean
  PayloadSerializer outboxPayloadSerializer(ObjectProvider<JsonMapper> jsonMapper) {
    JsonMapper mapper = jsonMapper.getIfUnique();
    return mapper == null ? PayloadSerializer.json() : PayloadSerializer.json(mapper);
  }

  @Bean
  @ConditionalOnMissingBean
  @DependsOnDatabaseInitialization
  OutboxSchemaInitializer outboxSchemaInitializer(
      DataSource dataSource, OutboxDialect dialect, OutboxProperties properties) {
    OutboxProperties.Store store = properties.store();
    return new OutboxSchemaInitializer(
        dataSource, dialect, store.table(), store.autoCreate(), store.validateSchema());
  }

  /**
   * The commit point of deferred appends; Spring Boot adds it to the transaction managers it
   * configures. Without it (or with {@code outbox.store.defer-appends=false}) appends are inserted
   * at once.
   */
  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnBooleanProperty(name = "outbox.store.defer-appends", matchIfMissing = true)
  OutboxTransactionListener outboxTransactionListener(DataSource dataSource) {
    return new OutboxTransactionListener(dataSource);
  }

  @Bean
  @ConditionalOnMissingBean
  Outbox outbox(
      OutboxSchemaInitializer schema,
      ConnectionProvider connectionProvider,
      OutboxDialect dialect,
      PayloadSerializer serializer,
      OutboxProperties properties,
      ObjectProvider<HeaderContributor> headerContributors,
      ObjectProvider<OutboxBuilderCustomizer> customizers,
      ObjectProvider<Clock> clock,
      ObjectProvider<PayloadCodec> payloadCodec,
      ObjectProvider<ObservationRegistry> observationRegistry,
      ObjectProvider<OutboxAppendObservationConvention> appendConvention) {
    OutboxProperties.Store store = properties.store();
    Outbox.Builder builder =
        Outbox.builder()
            .connectionProvider(connectionProvider)
            .dialect(dialect)
            .table(store.table())
            .serializer(serializer)
            .partitions(store.partitions())
            .insertBatchSize(store.insertBatchSize())
            .insertBatchBytes((int) store.insertBatchBytes().toBytes())
            .deferAppends(store.deferAppends())
            .maxPayloadBytes((int) properties.events().maxPayloadSize().toBytes())
            .maxHeadersBytes((int) properties.events().maxHeadersSize().toBytes());
    clock.ifUnique(builder::clock);
    payloadCodec.ifUnique(builder::payloadCodec);
    headerContributors.orderedStream().forEach(builder::headerContributor);
    customizers.orderedStream().forEach(customizer -> customizer.customize(builder));
    // Observed when the application has an ObservationRegistry (Boot's observation support):
    // each append is an outbox.append observation whose trace context goes into the headers.
    return OutboxObservations.observe(
        builder.build(), observationRegistry.getIfUnique(), appendConvention.getIfUnique());
  }

  @Bean
  @ConditionalOnMissingBean
  OutboxApplicationEventListener outboxApplicationEventListener(Outbox outbox) {
    return new OutboxApplicationEventListener(outbox);
  }

  /** Trace context into event headers, when Micrometer Tracing is set up. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(Tracer.class)
  static class TracingConfiguration {

    // A customizer rather than a conditional bean: it looks the tracer up when the outbox is built,
    // so it does not depend on the order of the tracing auto-configurations.
    @Bean
    OutboxBuilderCustomizer outboxTracingCustomizer(
        ObjectProvider<Tracer> tracer, ObjectProvider<Propagator> propagator) {
      return builder -> {
        Tracer activeTracer = tracer.getIfUnique();
        Propagator activePropagator = propagator.getIfUnique();
        if (activeTracer != null && activePropagator != null) {
          builder.headerContributor(new TracingHeaderContributor(activeTracer, activePropagator));
        }
      };
    }
  }
}
