package dev.outboxkit.test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.utils.Exit;

/**
 * The program {@link JvmExitIntegrationTests} runs in a JVM of its own, to see how that JVM exits
 * with test servers running. It prints {@code base-dir <path>} for the broker's directory and ends
 * with {@code System.exit(0)}, as surefire ends a test JVM.
 */
final class JvmExitMain {

  private JvmExitMain() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "broker-outlives-exit-start" -> brokerOutlivesExitStart();
      case "ordered" -> ordered();
      default -> throw new IllegalArgumentException(args[0]);
    }
    System.out.println("exiting");
    System.out.flush();
    System.exit(0);
  }

  /**
   * A broker of {@link KafkaTestBroker#singleNode()} that still runs one second into the JVM's exit
   * (as when it waits for CPU or for other servers to stop first), writing its high watermark
   * checkpoint every 20 ms.
   */
  private static void brokerOutlivesExitStart() throws Exception {
    KafkaClusterTestKit broker =
        KafkaTestBroker.singleNode()
            .setConfigProp("replica.high.watermark.checkpoint.interval.ms", "20")
            .build();
    broker.format();
    broker.startup();
    broker.waitForReadyBrokers();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
      admin
          .createTopics(List.of(new NewTopic("outlives", 2, (short) 1)))
          .all()
          .get(60, TimeUnit.SECONDS);
    }
    System.out.println("base-dir " + broker.nodes().baseDirectory());
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    Thread.sleep(1000);
                    broker.close();
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                },
                "late-broker-stop"));
  }

  /** The shared servers, then a stop action that makes Kafka halt the JVM, as a broker fault. */
  private static void ordered() {
    KafkaTestBroker kafka = TestServers.kafka();
    kafka.createTopic("ordered", 1);
    TestServers.postgres();
    TestShutdown.register("a server whose stop makes Kafka halt", () -> Exit.halt(1, "simulated"));
  }
}
