package dev.outboxkit.relay.app.cli;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditActor;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.spring.autoconfigure.OutboxProperties;
import dev.outboxkit.spring.autoconfigure.RelayAutoConfiguration;
import dev.outboxkit.spring.autoconfigure.RelayProperties;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The database side of one CLI run: a Spring context built from the relay's own configuration
 * ({@code application.properties} of the jar, environment variables, {@code --key=value}
 * arguments), with the relay itself, the web server and the start-up schema check off, so that the
 * CLI connects exactly where the relay would and starts nothing. Booted on first use, so {@code
 * --help} and usage errors need no database.
 */
final class CliSession implements AutoCloseable {

  /** What the CLI turns off in the relay's configuration: it only reads and manages. */
  private static final List<String> OVERRIDES =
      List.of(
          "--outbox.relay.enabled=false",
          "--outbox.store.validate-schema=false",
          "--outbox.store.auto-create=false",
          "--spring.main.log-startup-info=false",
          "--logging.level.root=WARN");

  private final List<String> properties;
  private final Clock clock;
  private final AuditActor actor;
  private @Nullable ConfigurableApplicationContext context;
  private @Nullable RelayInspection inspection;

  CliSession(List<String> properties, Clock clock, AuditActor actor) {
    this.properties = List.copyOf(properties);
    this.clock = clock;
    this.actor = actor;
  }

  Clock clock() {
    return clock;
  }

  AuditActor actor() {
    return actor;
  }

  RelayInspection inspection() {
    RelayInspection current = inspection;
    if (current != null) {
      return current;
    }
    List<String> args = new ArrayList<>(properties);
    args.addAll(OVERRIDES);
    ConfigurableApplicationContext started =
        new SpringApplicationBuilder(CliBoot.class)
            .web(WebApplicationType.NONE)
            .bannerMode(Banner.Mode.OFF)
            .registerShutdownHook(false)
            .run(args.toArray(String[]::new));
    context = started;
    OutboxProperties outbox = started.getBean(OutboxProperties.class);
    current =
        RelayInspection.of(
            started.getBean(DataSource.class),
            started.getBean(OutboxDialect.class),
            outbox.store().table(),
            outbox.store().partitions(),
            clock);
    inspection = current;
    return current;
  }

  /**
   * The CDC options the relay would use, bound from the same configuration, or {@code null} in
   * polling mode ({@code outbox.relay.mode}).
   */
  @Nullable CdcOptions cdcOptions() {
    inspection();
    ConfigurableApplicationContext started = java.util.Objects.requireNonNull(context);
    RelayProperties relay =
        Binder.get(started.getEnvironment())
            .bindOrCreate("outbox.relay", Bindable.of(RelayProperties.class));
    return relay.mode() == RelayProperties.Mode.CDC
        ? RelayAutoConfiguration.cdcOptions(relay, started.getEnvironment())
        : null;
  }

  /**
   * The relays' heartbeat interval as configured ({@code outbox.relay.leases.heartbeat-interval}),
   * by which {@code status} judges whether a member row is fresh.
   */
  Duration heartbeatInterval() {
    inspection();
    ConfigurableApplicationContext started = java.util.Objects.requireNonNull(context);
    RelayProperties relay =
        Binder.get(started.getEnvironment())
            .bindOrCreate("outbox.relay", Bindable.of(RelayProperties.class));
    Duration configured = relay.leases().heartbeatInterval();
    return configured != null ? configured : RelayDefaults.HEARTBEAT_INTERVAL;
  }

  @Override
  public void close() {
    ConfigurableApplicationContext started = context;
    if (started != null) {
      started.close();
    }
  }

  /**
   * The CLI's Spring configuration: auto-configuration only. Not a {@code @Configuration}, so the
   * relay application's component scan never picks it up.
   */
  @EnableAutoConfiguration
  static class CliBoot {}
}
