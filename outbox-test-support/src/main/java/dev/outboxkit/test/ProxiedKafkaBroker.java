package dev.outboxkit.test;

import java.io.IOException;
import org.apache.kafka.common.test.KafkaClusterTestKit;

/**
 * An in-JVM KRaft broker of its own (not the shared {@link TestServers#kafka()}) that advertises a
 * {@link StallingProxy}: every client, after its bootstrap request, talks to the broker through the
 * proxy, so a test can stall the connections of one client (by {@code client.id}) while the others
 * go on. Takes a few seconds to start; close it when done.
 */
public final class ProxiedKafkaBroker implements AutoCloseable {

  private final KafkaClusterTestKit broker;
  private final StallingProxy proxy;

  private ProxiedKafkaBroker(KafkaClusterTestKit broker, StallingProxy proxy) {
    this.broker = broker;
    this.proxy = proxy;
  }

  public static ProxiedKafkaBroker start() {
    FastLane.refuseServer("a Kafka broker behind a proxy");
    StallingProxy proxy;
    try {
      proxy = StallingProxy.kafka();
    } catch (IOException e) {
      throw new IllegalStateException("Could not open the Kafka proxy", e);
    }
    KafkaClusterTestKit broker = null;
    try {
      broker =
          KafkaTestBroker.singleNode()
              .setConfigProp("advertised.listeners", "EXTERNAL://127.0.0.1:" + proxy.port())
              .setConfigProp("transaction.state.log.num.partitions", "4")
              .setConfigProp("offsets.topic.num.partitions", "4")
              .build();
      broker.format();
      broker.startup();
      String servers = broker.bootstrapServers();
      proxy.forwardTo(Integer.parseInt(servers.substring(servers.lastIndexOf(':') + 1)));
      broker.waitForReadyBrokers();
      return new ProxiedKafkaBroker(broker, proxy);
    } catch (Exception e) {
      proxy.close();
      if (broker != null) {
        try {
          broker.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("Could not start the proxied Kafka broker", e);
    }
  }

  /** The {@code bootstrap.servers} value for clients: the proxy. */
  public String bootstrapServers() {
    return "127.0.0.1:" + proxy.port();
  }

  public StallingProxy proxy() {
    return proxy;
  }

  @Override
  public void close() throws Exception {
    proxy.close();
    broker.close();
  }
}
