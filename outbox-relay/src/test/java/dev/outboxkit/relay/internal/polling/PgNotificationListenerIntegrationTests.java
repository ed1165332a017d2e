package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.TestDatabaseExtension;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Review11: the LISTEN connection when the network path to the server goes silent (a NAT or
 * firewall dropping an idle flow's state, a failover behind a virtual address): no reset, no error,
 * only no bytes. New connections work. The listener only reads its socket (250 ms at a time), so it
 * never sends anything that could fail.
 */
@dev.outboxkit.test.ServerTest
class PgNotificationListenerIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final String CHANNEL = "review11_listener";

  private BlackholeProxy proxy;
  private PgNotificationListener listener;
  private Thread thread;
  private final AtomicInteger wakeUps = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    Matcher url =
        Pattern.compile("jdbc:postgresql://([^:/]+):(\\d+)/([^?]+)").matcher(db.jdbcUrl());
    assertThat(url.find()).as(db.jdbcUrl()).isTrue();
    proxy = new BlackholeProxy(Integer.parseInt(url.group(2)));
    PGSimpleDataSource viaProxy = new PGSimpleDataSource();
    viaProxy.setServerNames(new String[] {"127.0.0.1"});
    viaProxy.setPortNumbers(new int[] {proxy.port()});
    viaProxy.setDatabaseName(url.group(3));
    viaProxy.setUser(db.database().username());
    viaProxy.setPassword(db.database().password());
    listener = new PgNotificationListener(viaProxy, CHANNEL, wakeUps::incrementAndGet);
    thread = new Thread(listener, "review11-listener");
    thread.setDaemon(true);
    thread.start();
    // The listener wakes the relay once right after its LISTEN succeeded.
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> wakeUps.get() >= 1);
    notifyChannel();
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> wakeUps.get() >= 2);
  }

  @AfterEach
  void stop() {
    listener.stop();
    proxy.close();
  }

  /**
   * Finding 4: after the path goes silent, every NOTIFY is lost to the relay for good: the listener
   * waits on a connection that will never deliver, and the relay falls back to its poll interval
   * (indefinitely, or until TCP keep-alive, off by default in pgjdbc, gives up after hours).
   */
  @Test
  void wakesTheRelayAgainAfterTheConnectionWentSilent() throws Exception {
    int before = wakeUps.get();
    proxy.blackholeExisting();
    Awaitility.await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () -> {
              notifyChannel();
              return wakeUps.get() > before;
            });
  }

  /**
   * Finding 5 (3f69bc4): on stop, the listener runs UNLISTEN with a 5 s query timeout before it
   * returns the connection. On a silent connection the timeout's cancel request (a new connection)
   * finds nothing running on the server, and the UNLISTEN's read has no socket timeout: the
   * listener thread never ends and its pooled connection never goes back. Before 3f69bc4 the loop
   * ended within 250 ms of stop() and closed the connection.
   */
  @Test
  void endsSoonAfterStopEvenWhenItsConnectionWentSilent() throws Exception {
    proxy.blackholeExisting();
    listener.stop();
    thread.join(Duration.ofSeconds(15).toMillis());
    assertThat(thread.isAlive())
        .as("listener thread 15 s after stop() on a silent connection: %s", stackOf(thread))
        .isFalse();
  }

  private static String stackOf(Thread t) {
    StringBuilder out = new StringBuilder();
    for (StackTraceElement e : t.getStackTrace()) {
      if (e.getClassName().startsWith("dev.outboxkit")) {
        out.append(e).append("; ");
      }
    }
    return out.toString();
  }

  private static void notifyChannel() throws Exception {
    try (Connection c =
            DriverManager.getConnection(
                db.jdbcUrl(), db.database().username(), db.database().password());
        Statement s = c.createStatement()) {
      s.execute("NOTIFY " + CHANNEL);
    }
  }

  /**
   * A loopback TCP proxy whose existing connections can be made silent: bytes are read and dropped
   * in both directions, sockets stay open. Connections opened later pass.
   */
  static final class BlackholeProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int target;
    private final List<AtomicBoolean> flows = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    BlackholeProxy(int target) throws IOException {
      this.target = target;
      server = new ServerSocket();
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      Thread accept = new Thread(this::accept, "review11-proxy");
      accept.setDaemon(true);
      accept.start();
    }

    int port() {
      return server.getLocalPort();
    }

    void blackholeExisting() {
      for (AtomicBoolean flow : flows) {
        flow.set(true);
      }
    }

    private void accept() {
      while (!closed) {
        try {
          Socket client = server.accept();
          Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
          sockets.add(client);
          sockets.add(upstream);
          AtomicBoolean silent = new AtomicBoolean();
          flows.add(silent);
          pump(client, upstream, silent);
          pump(upstream, client, silent);
        } catch (IOException e) {
          // closed, or the target refused
        }
      }
    }

    private static void pump(Socket from, Socket to, AtomicBoolean silent) {
      Thread t =
          new Thread(
              () -> {
                byte[] buffer = new byte[16 * 1024];
                try (InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream()) {
                  int n;
                  while ((n = in.read(buffer)) >= 0) {
                    if (silent.get()) {
                      continue;
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                  }
                } catch (IOException e) {
                  // one side closed
                }
              },
              "review11-proxy-pump");
      t.setDaemon(true);
      t.start();
    }

    @Override
    public void close() {
      closed = true;
      try {
        server.close();
      } catch (IOException e) {
        // closing anyway
      }
      for (Socket s : sockets) {
        try {
          s.close();
        } catch (IOException e) {
          // closing anyway
        }
      }
    }
  }
}
