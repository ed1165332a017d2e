package dev.outboxkit.benchmarks;

import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * OutboxKit's polling relay with its default settings (nothing set but where to read and write), or
 * with {@code -Dbench.batch} and {@code -Dbench.threads} when given.
 */
final class OutboxKitPollingContender implements DrainContender {

  /** A fixed number of publishing threads, or null for the defaults (and {@code bench.threads}). */
  private final Integer fixedThreads;

  /**
   * Whether the read floor may be on (PostgreSQL, schema V0_12): {@code outboxkit-polling-nofloor}
   * disables the trigger the floor needs before its passes, so the relay reads from the head as
   * before V0_12, and the other contenders enable it again: both in one JVM, interleaved.
   */
  private final boolean floor;

  OutboxKitPollingContender() {
    this(null);
  }

  private OutboxKitPollingContender(boolean floor) {
    this.fixedThreads = null;
    this.floor = floor;
  }

  /** The defaults with the read floor off (see {@link #floor}). */
  static OutboxKitPollingContender withoutReadFloor() {
    return new OutboxKitPollingContender(false);
  }

  /**
   * The same relay with {@code threads} fixed publishing threads, to run next to the defaults in
   * one JVM ({@code outboxkit-polling-<threads>t}).
   */
  OutboxKitPollingContender(Integer threads) {
    this.fixedThreads = threads;
    this.floor = true;
  }

  @Override
  public String name() {
    if (!floor) {
      return "outboxkit-polling-nofloor";
    }
    return fixedThreads == null ? "outboxkit-polling" : "outboxkit-polling-" + fixedThreads + "t";
  }

  @Override
  public void prepare(Pass pass) throws Exception {
    OutboxBacklog.load(pass);
    if (pass.database().kind() == dev.outboxkit.test.DatabaseKind.POSTGRESQL) {
      // After the load (which creates the table): the relay checks the trigger when it starts.
      try (java.sql.Connection c = pass.db().dataSource().getConnection();
          java.sql.Statement s = c.createStatement()) {
        s.execute(
            floor
                ? "ALTER TABLE outbox_event ENABLE ALWAYS TRIGGER outbox_event_assign_xid"
                : "ALTER TABLE outbox_event DISABLE TRIGGER outbox_event_assign_xid");
      }
    }
  }

  @Override
  public AutoCloseable start(Pass pass) {
    RelayConfig.Builder config = RelayConfig.custom().bootstrapServers(pass.bootstrapServers());
    Integer batch = Integer.getInteger("bench.batch");
    if (batch != null) {
      config.batchSize(batch);
    }
    Integer threads = fixedThreads != null ? fixedThreads : Integer.getInteger("bench.threads");
    if (threads != null) {
      config.polling(RelayConfig.Polling.ofDefaults().withPublishThreads(threads));
    }
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    OutboxRelay relay =
        OutboxRelay.builder()
            .dataSource(pass.db().dataSource())
            .config(config.build())
            .meterRegistry(registry)
            .build();
    relay.start();
    HeartbeatWatch watch = new HeartbeatWatch(registry);
    return () -> {
      watch.close();
      relay.close();
    };
  }

  /**
   * Samples the relay's {@code outbox.relay.lease.heartbeat.age} every 50 ms and prints, when the
   * pass ends, its largest value and the heartbeats' count and longest duration: whether the leases
   * were renewed on time while the relay drained (the heartbeat interval is 500 ms). It also prints
   * what the gauges' measurements cost ({@code outbox.relay.measurements}: the backlog and lag
   * every metrics interval, the parked events once a minute): count, mean and longest. The longest
   * durations are sampled too, since a timer's own maximum forgets after a few minutes.
   */
  private static final class HeartbeatWatch implements AutoCloseable {
    private final SimpleMeterRegistry registry;
    private final ScheduledExecutorService sampler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "bench-heartbeat-watch");
              t.setDaemon(true);
              return t;
            });
    private volatile double maxAge;
    private final Map<String, Double> longest = new ConcurrentHashMap<>();

    HeartbeatWatch(SimpleMeterRegistry registry) {
      this.registry = registry;
      sampler.scheduleAtFixedRate(this::sample, 50, 50, TimeUnit.MILLISECONDS);
    }

    private void sample() {
      Gauge age = registry.find("outbox.relay.lease.heartbeat.age").gauge();
      if (age != null && !Double.isNaN(age.value())) {
        maxAge = Math.max(maxAge, age.value());
      }
      for (Timer t : timers()) {
        longest.merge(label(t), t.max(TimeUnit.MILLISECONDS), Math::max);
      }
    }

    private List<Timer> timers() {
      List<Timer> timers = new ArrayList<>();
      timers.addAll(registry.find("outbox.relay.lease.heartbeats").timers());
      timers.addAll(registry.find("outbox.relay.measurements").timers());
      return timers;
    }

    private static String label(Timer t) {
      String measured = t.getId().getTag("measured");
      return measured != null ? "measured=" + measured : "heartbeat " + t.getId().getTag("outcome");
    }

    @Override
    public void close() {
      sampler.shutdownNow();
      sample();
      long succeeded = count("succeeded");
      long failed = count("failed");
      Timer ok = registry.find("outbox.relay.lease.heartbeats").tag("outcome", "succeeded").timer();
      System.out.printf(
          Locale.ROOT,
          "  lease heartbeats: %,d succeeded (mean %.1f ms, longest in the last minutes %.1f ms),"
              + " %,d failed; heartbeat age at most %.3f s%n",
          succeeded,
          ok == null ? 0 : ok.mean(TimeUnit.MILLISECONDS),
          ok == null ? 0 : ok.max(TimeUnit.MILLISECONDS),
          failed,
          maxAge);
      System.out.printf(
          Locale.ROOT,
          "  longest heartbeat over the pass: %.1f ms%n",
          longest.getOrDefault("heartbeat succeeded", 0.0));
      for (Timer t : registry.find("outbox.relay.measurements").timers()) {
        System.out.printf(
            Locale.ROOT,
            "  gauge measurements %s: %,d (mean %.1f ms, longest %.1f ms, total %.1f s)%n",
            label(t),
            t.count(),
            t.mean(TimeUnit.MILLISECONDS),
            longest.getOrDefault(label(t), 0.0),
            t.totalTime(TimeUnit.SECONDS));
      }
    }

    private long count(String outcome) {
      Timer t = registry.find("outbox.relay.lease.heartbeats").tag("outcome", outcome).timer();
      return t == null ? 0 : t.count();
    }
  }
}
