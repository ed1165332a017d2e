package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * A zombie: the active relay's whole process is frozen (SIGSTOP, as a long GC pause or a stalled VM
 * would) for longer than its lease while writers go on; a second relay takes over; then the first
 * wakes up (SIGCONT) with its batch and its producer where it left them. It must not publish after
 * its lease is gone: no record it sends between waking and a new claim (records carry their sender
 * and send time, {@link SenderTags}), every key's first copies stay in order and nothing is lost.
 */
@ServerTest
@Isolated
class RelayZombieIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  static final KafkaTestBroker kafka = TestServers.kafka();

  private final RelayProcesses processes = new RelayProcesses();

  @AfterEach
  void killProcesses() {
    processes.close();
  }

  private static void signal(Process process, String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).as("kill -%s", signal).isZero();
  }

  /**
   * Waits until every thread of the process is stopped. {@code kill -STOP} returns once the signal
   * is queued; the kernel then stops the threads one after another (the thread that takes the
   * signal stops the others), and on a busy machine a publishing thread went on sending for 2 ms
   * after {@code kill} returned (a clean-clone CI run: a whole batch stamped "2 ms after the
   * freeze"). Only after this is a send stamp later than the freeze one made after waking.
   */
  private static void awaitStopped(Process process) {
    Path tasks = Path.of("/proc", String.valueOf(process.pid()), "task");
    if (!Files.isDirectory(tasks)) {
      throw new IllegalStateException("this test needs Linux's /proc to see a stopped process");
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(1))
        .until(() -> allThreadsStopped(tasks));
  }

  private static boolean allThreadsStopped(Path tasks) throws IOException {
    try (Stream<Path> threads = Files.list(tasks)) {
      return threads.allMatch(
          thread -> {
            try {
              String stat = Files.readString(thread.resolve("stat"));
              // "tid (comm) S ...": the name may hold spaces and parentheses, the state follows
              // the last ')'.
              char state = stat.charAt(stat.lastIndexOf(')') + 2);
              return state == 'T' || state == 't';
            } catch (NoSuchFileException exited) {
              return true;
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          });
    }
  }

  /** What is left in the outbox and who holds which lease, for a failure message. */
  private String tableState() throws SQLException {
    return query(
            "SELECT partition_no, status, COUNT(*), MIN(seq), MAX(seq), MAX(attempts)"
                + " FROM outbox_event GROUP BY partition_no, status ORDER BY partition_no")
        + query("SELECT * FROM outbox_relay_lease ORDER BY 1");
  }

  private String query(String sql) throws SQLException {
    StringBuilder out = new StringBuilder(sql).append('\n');
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      int columns = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        for (int i = 1; i <= columns; i++) {
          out.append(i == 1 ? "  " : " | ").append(rs.getString(i));
        }
        out.append('\n');
      }
    }
    return out.toString();
  }

  /** The relay process's threads, through the JDK's own jcmd, for a failure message. */
  private static String threadDump(Process process) {
    if (!process.isAlive()) {
      return "(exited)";
    }
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    try {
      Process dump =
          new ProcessBuilder(jcmd.toString(), String.valueOf(process.pid()), "Thread.print")
              .redirectErrorStream(true)
              .start();
      String text = new String(dump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      dump.waitFor(30, TimeUnit.SECONDS);
      return text;
    } catch (IOException | InterruptedException e) {
      return "(no thread dump: " + e + ")";
    }
  }

  private int owned(String prefix) throws SQLException {
    return RelayTestSupport.leasesOwnedBy(db.dataSource(), prefix);
  }

  /**
   * The outbox partition of a record's event: {@code crc32(utf8(aggregateId)) mod 16}, as
   * docs/schema.md states it (the relay's default 16 partitions; the key is the aggregate id).
   */
  private static int outboxPartition(ConsumerRecord<byte[], byte[]> record) {
    CRC32 crc = new CRC32();
    crc.update(record.key());
    return (int) (crc.getValue() % 16);
  }

  @Test
  void aRelayFrozenPastItsLeasePublishesNothingOutOfOrderWhenItWakes() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    RelayTestSupport.clearRelayTables(db.dataSource());
    String topic = "zombie" + System.nanoTime() % 100_000;
    kafka.createTopic(topic, 4);
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    CountedWriter writer = new CountedWriter(tx, outbox, topic, 50);
    processes.tagSenders();
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      Process zombie =
          processes.start(db.database(), kafka.bootstrapServers(), "zombie-a", null, "3s,250ms");
      reader.readUntil(r -> r.size() >= 2_000, Duration.ofSeconds(60));
      signal(zombie, "STOP");
      awaitStopped(zombie);
      // Every send() the zombie began before the freeze is stamped earlier than this. By the
      // monotonic clock, as the records are (SenderTags): the wall clock can be stepped between
      // the zombie's stamp and this reading, and a step back made records of the batch it was
      // handing over when it froze look as if it had sent them after waking.
      long frozenAt = System.nanoTime();
      Process successor =
          processes.start(db.database(), kafka.bootstrapServers(), "zombie-b", null, "3s,250ms");
      await().atMost(Duration.ofSeconds(30)).until(() -> owned("zombie-b") == 16);
      // From here to the end, the lease table is looked at every few milliseconds: a partition the
      // woken zombie claims anew may be published by it from then on, and only then.
      List<ConsumerRecord<byte[], byte[]>> records;
      Map<String, List<String>> unleased = new TreeMap<>();
      int undecided = 0;
      int total;
      try (LeaseLooks looks = new LeaseLooks(db.dataSource(), "zombie-a")) {
        int seenBeforeWaking = reader.readFor(Duration.ofSeconds(1)).size();
        long wokenAt = System.nanoTime();
        signal(zombie, "CONT");
        // Awake again: it must find its leases gone and take part only through a new claim.
        reader.readFor(Duration.ofSeconds(3));
        total = writer.stop();
        records =
            reader.readUntil(r -> Ordering.of(r).distinct() >= total, Duration.ofSeconds(120));
        looks.close();
        for (ConsumerRecord<byte[], byte[]> r : records) {
          long sent = SenderTags.sentNanos(r);
          if (!SenderTags.sender(r).equals("zombie-a") || sent - frozenAt <= 0) {
            continue;
          }
          int partition = outboxPartition(r);
          switch (looks.judge(partition, sent)) {
            case HELD -> {}
            case UNDECIDED -> undecided++;
            case NOT_HELD ->
                unleased
                    .computeIfAbsent(SenderTags.sendingThread(r), t -> new ArrayList<>())
                    .add(
                        String.format(
                            "%s (outbox partition %d, Kafka %d@%d) sent by %s %d ms after the"
                                + " freeze, %d ms after SIGCONT",
                            new String(r.value(), StandardCharsets.UTF_8),
                            partition,
                            r.partition(),
                            r.offset(),
                            SenderTags.sendingThread(r),
                            (sent - frozenAt) / 1_000_000,
                            (sent - wokenAt) / 1_000_000));
          }
        }
        long lateFromBuffer =
            records.subList(seenBeforeWaking, records.size()).stream()
                .filter(r -> SenderTags.sender(r).equals("zombie-a"))
                .filter(r -> SenderTags.sentNanos(r) - frozenAt <= 0)
                .count();
        System.out.printf(
            "[zombie] %d events: %d distinct, %d duplicates, %d order violations; successor owns"
                + " %d partitions, the woken zombie %d (%d lease looks); records the zombie sent"
                + " after waking without a lease: %d (%d too close to its claim to tell); records"
                + " it had sent before the freeze that landed after: %d%n",
            total,
            Ordering.of(records).distinct(),
            Ordering.of(records).duplicates(),
            Ordering.of(records).violations().size(),
            owned("zombie-b"),
            owned("zombie-a"),
            looks.looks().size(),
            unleased.values().stream().mapToInt(List::size).sum(),
            undecided,
            lateFromBuffer);
      }
      Ordering ordering = Ordering.of(records);
      if (ordering.distinct() < total) {
        fail(
            "%d of %d events reached Kafka within 120 s.%n%s%nzombie-a (alive %s):%n%s%n%s%n"
                + "zombie-b (alive %s):%n%s%n%s",
            ordering.distinct(),
            total,
            tableState(),
            zombie.isAlive(),
            RelayProcesses.tail(zombie, 60),
            threadDump(zombie),
            successor.isAlive(),
            RelayProcesses.tail(successor, 60),
            threadDump(successor));
      }
      assertThat(records).allMatch(r -> !SenderTags.sender(r).isEmpty(), "tagged by its sender");
      // The send window is asked before each event is handed over, then send() stamps the record
      // (SenderTags' interceptor runs inside it). A freeze that lands between the two lets that one
      // hand-over finish after waking: at most one record per publishing thread (the relay adapts
      // 1 to 4 threads to the backlog; a clean-clone CI run saw two threads with one each). Two
      // from one thread is a hand-over that asked the window after waking and went on, the defect
      // this test is for.
      assertThat(unleased.values())
          .as(
              "records the woken zombie sent for partitions it did not hold, beyond the hand-over"
                  + " in progress of each publishing thread (%s); its log:%n%s",
              unleased, RelayProcesses.tail(zombie, 40))
          .allSatisfy(fromOneThread -> assertThat(fromOneThread).hasSizeLessThanOrEqualTo(1));
      assertThat(unleased.keySet()).doesNotContain("");
      assertThat(ordering.violations()).isEmpty();
      assertThat(ordering.distinct()).isEqualTo(total);
      assertThat(successor.isAlive()).isTrue();
    } finally {
      writer.close();
    }
  }
}
