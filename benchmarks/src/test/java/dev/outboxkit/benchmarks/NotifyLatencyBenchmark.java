package dev.outboxkit.benchmarks;

import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * The LISTEN/NOTIFY wake-up alone, without the relay, the broker or a consumer: how long PostgreSQL
 * and pgjdbc take from a commit to a listening JVM thread, and from there to a second thread that
 * the listener wakes (the standalone relay's path: {@code PgNotificationListener} wakes a
 * publishing thread). Issue 23's p99 target at 1,000 events/s is missed by the standalone relay and
 * met when the relay is woken in-process (docs/benchmarks.md, "where a delivery's time goes"); this
 * measures the one step between the two.
 *
 * <p>A writer inserts one row per transaction (autocommit) into a table with the same
 * statement-level {@code AFTER INSERT} trigger as the outbox ({@code pg_notify(TG_TABLE_NAME,
 * '')}), then waits until the woken thread has seen it before the next insert, at most {@code
 * bench.rate} inserts a second: a closed loop, so each figure is one wake-up and never a queue. The
 * listener reads as the relay does ({@code getNotifications(250)} on its own connection). Passes
 * alternate between a quiet machine and one with {@code bench.spinners} threads spinning in this
 * JVM (by default one per core), which stand in for the broker, the consumer and the other
 * publishing threads that share the standalone relay's cores in {@code RelayBenchmark}.
 *
 * <pre>
 * ./mvnw -B -ntp -pl benchmarks -am test -Dtest=NotifyLatencyBenchmark \
 *     -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * System properties: {@code bench.events} (per pass, 3,000), {@code bench.passes} (per variant, 3),
 * {@code bench.rate} (1,000), {@code bench.spinners} (available processors).
 */
@ServerTest
class NotifyLatencyBenchmark {

  private static final int EVENTS = Integer.getInteger("bench.events", 3_000);
  private static final int PASSES = Integer.getInteger("bench.passes", 3);
  private static final int RATE = Integer.getInteger("bench.rate", 1_000);
  private static final int SPINNERS =
      Integer.getInteger("bench.spinners", Runtime.getRuntime().availableProcessors());

  @Test
  void commitToListenerToWokenThread() throws Exception {
    List<String> report = new ArrayList<>();
    report.add(
        String.format(
            Locale.ROOT,
            "events/pass=%d passes/variant=%d rate<=%d/s spinners=%d cores=%d java=%s",
            EVENTS,
            PASSES,
            RATE,
            SPINNERS,
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version")));
    try (TestDatabase db =
        TestServers.database(DatabaseKind.POSTGRESQL)
            .createDatabase("notify_" + (System.nanoTime() % 100_000))) {
      DataSource ds = db.dataSource();
      try (Connection c = ds.getConnection();
          Statement s = c.createStatement()) {
        s.execute("CREATE TABLE notify_probe (id BIGINT NOT NULL)");
        s.execute(
            "CREATE FUNCTION notify_probe_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                + " PERFORM pg_notify(TG_TABLE_NAME, ''); RETURN NULL; END $$");
        s.execute(
            "CREATE TRIGGER notify_probe_trg AFTER INSERT ON notify_probe FOR EACH STATEMENT"
                + " EXECUTE FUNCTION notify_probe_fn()");
      }
      Pass.run(ds, 300, false, false); // warm-up: JIT, plans, connections
      List<Pass> quiet = new ArrayList<>();
      List<Pass> busy = new ArrayList<>();
      List<Pass> noPeek = new ArrayList<>();
      for (int p = 0; p < PASSES; p++) {
        quiet.add(Pass.run(ds, EVENTS, false, false));
        report.add("pass " + (p + 1) + " quiet:   " + quiet.get(p));
        busy.add(Pass.run(ds, EVENTS, true, false));
        report.add("pass " + (p + 1) + " busy:    " + busy.get(p));
        noPeek.add(Pass.run(ds, EVENTS, false, true));
        report.add("pass " + (p + 1) + " no peek: " + noPeek.get(p));
      }
      report.add("median quiet:   " + Pass.median(quiet));
      report.add("median busy:    " + Pass.median(busy));
      report.add("median no peek: " + Pass.median(noPeek));
    }
    report.forEach(line -> System.out.println("notify-latency " + line));
  }

  /** One pass: per event, commit returned → listener thread, and → the thread it woke. */
  private record Pass(
      double[] commit, double[] toListener, double[] toWoken, int missed, double seconds) {

    static Pass run(DataSource ds, int events, boolean busy, boolean noPeek) throws Exception {
      double[] commit = new double[events];
      double[] toListener = new double[events];
      double[] toWoken = new double[events];
      LinkedBlockingQueue<long[]> arrivals = new LinkedBlockingQueue<>();
      Semaphore wake = new Semaphore(0);
      long[] listenerSaw = new long[1];
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> spinners = new ArrayList<>();
      if (busy) {
        for (int i = 0; i < SPINNERS; i++) {
          Thread t =
              new Thread(
                  () -> {
                    long x = 0;
                    while (!stop.get()) {
                      x += System.nanoTime() & 7;
                    }
                    if (x == 42) {
                      System.out.print("");
                    }
                  },
                  "bench-spinner-" + i);
          t.setDaemon(true);
          spinners.add(t);
          t.start();
        }
      }
      Connection listen = ds.getConnection();
      listen.setAutoCommit(true);
      try (Statement s = listen.createStatement()) {
        s.execute("LISTEN notify_probe");
      }
      PGConnection pg = listen.unwrap(PGConnection.class);
      if (noPeek) {
        skipPeek(listen, Long.MAX_VALUE);
      }
      Thread woken =
          new Thread(
              () -> {
                while (!stop.get()) {
                  try {
                    if (wake.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                      long at = System.nanoTime();
                      long seen;
                      synchronized (listenerSaw) {
                        seen = listenerSaw[0];
                      }
                      arrivals.add(new long[] {seen, at});
                    }
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              },
              "bench-woken");
      Thread listener =
          new Thread(
              () -> {
                try {
                  while (!stop.get()) {
                    PGNotification[] got = pg.getNotifications(250);
                    if (got != null && got.length > 0) {
                      synchronized (listenerSaw) {
                        listenerSaw[0] = System.nanoTime();
                      }
                      wake.release();
                    }
                  }
                } catch (SQLException e) {
                  System.out.println("notify-latency listener stopped: " + e);
                }
              },
              "bench-listener");
      woken.start();
      listener.start();
      int missed = 0;
      long began = System.nanoTime();
      long spacing = 1_000_000_000L / RATE;
      try (Connection write = ds.getConnection();
          PreparedStatement insert =
              write.prepareStatement("INSERT INTO notify_probe (id) VALUES (?)")) {
        write.setAutoCommit(true);
        long next = System.nanoTime();
        for (int i = 0; i < events; i++) {
          while (System.nanoTime() < next) {
            Thread.onSpinWait();
          }
          next = System.nanoTime() + spacing;
          insert.setLong(1, i);
          long t0 = System.nanoTime();
          insert.executeUpdate();
          long t1 = System.nanoTime();
          long[] got = arrivals.poll(2, TimeUnit.SECONDS);
          commit[i] = (t1 - t0) / 1e6;
          if (got == null) {
            missed++;
            toListener[i] = toWoken[i] = 2_000;
          } else {
            toListener[i] = (got[0] - t1) / 1e6;
            toWoken[i] = (got[1] - t1) / 1e6;
          }
          // A late duplicate wake-up would be matched with the next insert: start clean.
          arrivals.clear();
        }
      } finally {
        stop.set(true);
        listener.join(2_000);
        woken.join(2_000);
        for (Thread t : spinners) {
          t.join(2_000);
        }
        try (Statement s = listen.createStatement()) {
          s.execute("UNLISTEN *");
        }
        pg.getNotifications();
        if (noPeek) {
          skipPeek(listen, 0);
        }
        listen.close();
      }
      return new Pass(commit, toListener, toWoken, missed, (System.nanoTime() - began) / 1e9);
    }

    /**
     * pgjdbc's {@code getNotifications(timeout)}, having read a notification, asks {@code
     * PGStream.hasMessagePending()} whether more follow, which waits up to 1 ms on the socket (and
     * does not remember the miss). Setting the stream's next check time far ahead makes that answer
     * "no" at once unless bytes are already buffered: the variant measures the cost.
     */
    private static void skipPeek(Connection c, long nextCheck) throws Exception {
      Object executor = c.unwrap(org.postgresql.core.BaseConnection.class).getQueryExecutor();
      java.lang.reflect.Field streamField =
          org.postgresql.core.QueryExecutorBase.class.getDeclaredField("pgStream");
      streamField.setAccessible(true);
      Object stream = streamField.get(executor);
      java.lang.reflect.Field next =
          stream.getClass().getDeclaredField("nextStreamAvailableCheckTime");
      next.setAccessible(true);
      next.setLong(stream, nextCheck);
    }

    static double percentile(double[] values, double p) {
      double[] sorted = values.clone();
      Arrays.sort(sorted);
      return sorted[(int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
    }

    static String median(List<Pass> passes) {
      return String.format(
          Locale.ROOT,
          "commit p50 %.2f | commit->listener p50/p95/p99 %.2f / %.2f / %.2f |"
              + " commit->woken thread p50/p95/p99 %.2f / %.2f / %.2f ms",
          mid(passes, p -> percentile(p.commit, 0.5)),
          mid(passes, p -> percentile(p.toListener, 0.5)),
          mid(passes, p -> percentile(p.toListener, 0.95)),
          mid(passes, p -> percentile(p.toListener, 0.99)),
          mid(passes, p -> percentile(p.toWoken, 0.5)),
          mid(passes, p -> percentile(p.toWoken, 0.95)),
          mid(passes, p -> percentile(p.toWoken, 0.99)));
    }

    private static double mid(List<Pass> passes, java.util.function.ToDoubleFunction<Pass> f) {
      double[] values = passes.stream().mapToDouble(f).sorted().toArray();
      return values[values.length / 2];
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "commit p50/p99 %.2f / %.2f | commit->listener p50/p95/p99 %.2f / %.2f / %.2f |"
              + " commit->woken thread p50/p95/p99 %.2f / %.2f / %.2f ms | missed %d | %.1f s",
          percentile(commit, 0.5),
          percentile(commit, 0.99),
          percentile(toListener, 0.5),
          percentile(toListener, 0.95),
          percentile(toListener, 0.99),
          percentile(toWoken, 0.5),
          percentile(toWoken, 0.95),
          percentile(toWoken, 0.99),
          missed,
          seconds);
    }
  }
}
