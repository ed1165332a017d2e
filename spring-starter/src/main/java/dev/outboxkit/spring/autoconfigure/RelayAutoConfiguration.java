package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.ParkedRetention;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.observation.OutboxPublishObservationConvention;
import dev.outboxkit.spring.OutboxAuditEndpoint;
import dev.outboxkit.spring.OutboxBuilderCustomizer;
import dev.outboxkit.spring.OutboxParkedEventsEndpoint;
import dev.outboxkit.spring.OutboxRelayBuilderCustomizer;
import dev.outboxkit.spring.OutboxRelayHealthIndicator;
import dev.outboxkit.spring.OutboxRelayLifecycle;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.observation.ObservationRegistry;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Clock;
import java.util.List;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.util.ClassUtils;

/**
 * The relay inside the application, when {@code outbox.relay.enabled=true}: built from {@code
 * outbox.relay.*} and the outbox's own table, dialect and partitions, started with the context and
 * stopped first on shutdown, woken by every commit that appended events, and reported by a health
 * indicator when Spring Boot's health support is present.
 */
@AutoConfiguration(
    after = OutboxAutoConfiguration.class,
    afterName = {
      "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
      "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration"
    })
@ConditionalOnClass(OutboxRelay.class)
@ConditionalOnBean({DataSource.class, OutboxDialect.class})
@ConditionalOnBooleanProperty(name = "outbox.relay.enabled")
@EnableConfigurationProperties(RelayProperties.class)
public final class RelayAutoConfiguration {

  @Bean(destroyMethod = "")
  @ConditionalOnMissingBean
  OutboxRelay outboxRelay(
      DataSource dataSource,
      OutboxDialect dialect,
      OutboxProperties outbox,
      RelayProperties relay,
      Environment environment,
      ObjectProvider<MeterRegistry> meterRegistry,
      ObjectProvider<Clock> clock,
      ObjectProvider<OutboxRelayBuilderCustomizer> customizers,
      ObjectProvider<ObservationRegistry> observationRegistry,
      ObjectProvider<OutboxPublishObservationConvention> publishConvention,
      ObjectProvider<LoggingSystem> loggingSystem) {
    List<String> servers = relay.kafka().bootstrapServers();
    String bootstrap =
        servers != null && !servers.isEmpty()
            ? String.join(",", servers)
            : environment.getProperty("spring.kafka.bootstrap-servers");
    if (bootstrap == null || bootstrap.isBlank()) {
      throw new IllegalStateException(
          "outbox.relay.enabled=true needs the Kafka cluster: set outbox.relay.kafka.bootstrap-servers"
              + " (or spring.kafka.bootstrap-servers)");
    }
    // The options bind to the relay's configuration type, which holds their defaults and checks.
    @Nullable CdcOptions cdc =
        relay.mode() == RelayProperties.Mode.CDC ? cdcOptions(relay, environment) : null;
    OutboxRelay.Builder builder =
        OutboxRelay.builder()
            .dataSource(dataSource)
            .dialect(dialect)
            .table(outbox.store().table())
            .partitions(outbox.store().partitions())
            .topicRouter(relay.topics().router())
            .config(relay.toConfig(bootstrap, cdc))
            .meterRegistry(meterRegistry.getIfUnique(() -> Metrics.globalRegistry));
    DataSource session = sessionDataSource(relay.sessionConnection(), environment);
    if (session != null) {
      builder.sessionDataSource(session);
    }
    if (cdc != null) {
      // Before the engine starts: at DEBUG two Debezium loggers print the database password.
      loggingSystem.ifAvailable(DebeziumSecretLoggers::pin);
    }
    clock.ifUnique(builder::clock);
    // Each event sent is an outbox.publish observation continuing its append's trace.
    observationRegistry.ifUnique(builder::observationRegistry);
    publishConvention.ifUnique(builder::publishObservationConvention);
    customizers.orderedStream().forEach(customizer -> customizer.customize(builder));
    return builder.build();
  }

  /**
   * Unpooled connections to {@code outbox.relay.session-connection.url}: each of the relay's two
   * session connections is its own server session, open for as long as the relay runs.
   */
  private static @Nullable DataSource sessionDataSource(
      RelayProperties.SessionConnection session, Environment environment) {
    String url = session.url();
    if (url == null) {
      return null;
    }
    try {
      DriverManager.getDriver(url);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "outbox.relay.session-connection.url: no JDBC driver on the class path accepts '"
              + dev.outboxkit.relay.SecretMasking.maskedUrl(url)
              + "' (it should be a jdbc: URL of the outbox's database that bypasses the pooler): "
              + dev.outboxkit.relay.SecretMasking.maskedUrl(e.getMessage()));
    }
    return new DriverManagerDataSource(
        url,
        session.username() != null
            ? session.username()
            : environment.getProperty("spring.datasource.username"),
        session.password() != null
            ? session.password()
            : environment.getProperty("spring.datasource.password"));
  }

  /**
   * The CDC options the relay uses for these properties, with {@code spring.datasource.*} as the
   * fallback for the URL and the credentials; the operator CLI's {@code check} uses it to check
   * what the relay would. Does no I/O.
   *
   * @param relay the bound {@code outbox.relay.*} properties
   * @param environment the environment ({@code spring.datasource.*})
   * @throws IllegalStateException when no URL is set, or only half of the credentials
   * @throws IllegalArgumentException for an invalid option, naming its property
   * @since 0.9
   */
  public static CdcOptions cdcOptions(RelayProperties relay, Environment environment) {
    RelayProperties.Cdc cdc = relay.cdc();
    String url = cdc.url() != null ? cdc.url() : environment.getProperty("spring.datasource.url");
    if (url == null || url.isBlank()) {
      throw new IllegalStateException(
          "outbox.relay.mode=cdc needs the database's JDBC URL for Debezium: set"
              + " outbox.relay.cdc.url (or spring.datasource.url)");
    }
    // Two users (docs/roles.md): Debezium logs in as the replication user of outbox.relay.cdc.*,
    // the relay's own statements run on the DataSource. Half of the replication credentials would
    // silently pair one user's name with the other's password: refuse it, naming what is missing.
    if ((cdc.username() == null) != (cdc.password() == null)) {
      String missing = cdc.username() == null ? "username" : "password";
      String set = cdc.username() == null ? "password" : "username";
      throw new IllegalStateException(
          "outbox.relay.cdc."
              + missing
              + " is not set but outbox.relay.cdc."
              + set
              + " is: set both to the replication user Debezium logs in as (role outboxkit_cdc,"
              + " docs/roles.md), or neither to use spring.datasource.username and"
              + " spring.datasource.password for both");
    }
    String username =
        cdc.username() != null
            ? cdc.username()
            : environment.getProperty("spring.datasource.username", "");
    String password =
        cdc.password() != null
            ? cdc.password()
            : environment.getProperty("spring.datasource.password", "");
    CdcOptions.Builder options;
    try {
      options = CdcOptions.builder(url, username, password);
      if (cdc.name() != null) {
        options.name(cdc.name());
      }
      if (cdc.publication() != null) {
        options.publication(cdc.publication());
      }
      options.autoCreate(Boolean.TRUE.equals(cdc.autoCreate()) || relay.autoCreate());
      if (cdc.serverId() != null) {
        options.serverId(cdc.serverId());
      }
      if (cdc.heartbeatInterval() != null) {
        options.heartbeatInterval(cdc.heartbeatInterval());
      }
      options.offsetsInKafka(cdc.offsetsTopic());
      if (cdc.deletePublished() != null) {
        options.deletePublished(cdc.deletePublished());
      }
      if (cdc.debezium() != null) {
        cdc.debezium().forEach(options::debeziumProperty);
      }
      return options.build();
    } catch (IllegalArgumentException e) {
      // The same message with the property's full name; the cause would only repeat it.
      throw new IllegalArgumentException("outbox.relay." + e.getMessage());
    }
  }

  @Bean
  @ConditionalOnMissingBean
  OutboxRelayLifecycle outboxRelayLifecycle(
      OutboxRelay relay,
      RelayProperties properties,
      OutboxProperties outbox,
      DataSource dataSource,
      OutboxDialect dialect) {
    return new OutboxRelayLifecycle(
        relay,
        properties.autoCreate()
            ? new OutboxRelayLifecycle.SchemaSetup(
                dataSource,
                dialect,
                outbox.store().table(),
                OutboxTable.of(RelayDefaults.LEASE_TABLE),
                OutboxTable.of(RelayDefaults.MEMBER_TABLE))
            : null);
  }

  /** Wakes the relay after every commit that appended events, instead of waiting for a poll. */
  @Bean
  OutboxBuilderCustomizer outboxRelayWakeUp(OutboxRelay relay) {
    return builder -> builder.commitListener(relay::wakeUp);
  }

  /** Circuit state and configured partitions, for the shipped alerts and dashboards. */
  @Bean
  @ConditionalOnMissingBean(name = "outboxRelayStatusMeterBinder")
  MeterBinder outboxRelayStatusMeterBinder(OutboxRelay relay, OutboxProperties outbox) {
    return new RelayStatusMeterBinder(
        relay, outbox.store().table().name(), outbox.store().partitions());
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(
      name = {
        "org.springframework.boot.actuate.endpoint.annotation.Endpoint",
        "org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint"
      })
  @EnableConfigurationProperties(RelayManagementProperties.class)
  static class EndpointConfiguration {

    /** Present when Spring Security can tell who calls; without it replay and purge are off. */
    static final String SPRING_SECURITY =
        "org.springframework.security.core.context.SecurityContextHolder";

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnAvailableEndpoint
    OutboxParkedEventsEndpoint outboxParkedEventsEndpoint(
        OutboxRelay relay, RelayManagementProperties management) {
      return new OutboxParkedEventsEndpoint(
          relay::parkedEvents,
          ClassUtils.isPresent(SPRING_SECURITY, OutboxParkedEventsEndpoint.class.getClassLoader()),
          management.operatorRole());
    }

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnAvailableEndpoint
    OutboxAuditEndpoint outboxAuditEndpoint(OutboxRelay relay) {
      return new OutboxAuditEndpoint(relay::parkedEvents);
    }
  }

  /** Purges parked events past {@code outbox.relay.parked.retention}, when that is set. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnProperty(prefix = "outbox.relay.parked", name = "retention")
  @EnableConfigurationProperties(ParkedRetentionProperties.class)
  static class RetentionConfiguration {

    @Bean(initMethod = "start", destroyMethod = "close")
    @ConditionalOnMissingBean
    ParkedRetention outboxParkedRetention(
        OutboxRelay relay,
        ParkedRetentionProperties properties,
        OutboxProperties outbox,
        ObjectProvider<MeterRegistry> meterRegistry,
        ObjectProvider<Clock> clock) {
      return ParkedRetention.of(
          relay::parkedEvents,
          java.util.Objects.requireNonNull(properties.retention(), "outbox.relay.parked.retention"),
          properties.checkInterval(),
          properties.batchSize(),
          clock.getIfUnique(Clock::systemUTC),
          meterRegistry.getIfAvailable(
              io.micrometer.core.instrument.simple.SimpleMeterRegistry::new),
          outbox.store().table().name());
    }
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(HealthIndicator.class)
  static class HealthConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "outboxRelayHealthIndicator")
    OutboxRelayHealthIndicator outboxRelayHealthIndicator(
        OutboxRelay relay, RelayProperties properties) {
      return new OutboxRelayHealthIndicator(
          relay, properties.health().maxLag(), properties.health().maxConsecutiveFailures());
    }
  }
}
