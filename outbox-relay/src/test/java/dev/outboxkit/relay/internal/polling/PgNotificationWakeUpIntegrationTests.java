package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.SocketFactory;
import javax.sql.DataSource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * How soon the LISTEN connection wakes the relay. pgjdbc's {@code getNotifications(timeout)},
 * having read a notification, asks whether more messages follow, and that check waits up to 1 ms on
 * the socket (a socket time-out of 1 ms) every time it finds none. The listener turns the check off
 * on its own connection ({@link PgjdbcMoreMessagesCheck}) and gives the driver's value back before
 * the connection returns to its pool. The listener's socket comes from a factory that counts those
 * 1 ms time-outs, so both are seen without timing anything.
 */
@ServerTest
class PgNotificationWakeUpIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final String CHANNEL = "wake_up_listener";

  /** The 1 ms socket time-outs pgjdbc set on sockets of {@link CountingSockets}. */
  static final AtomicInteger oneMillisecondWaits = new AtomicInteger();

  private final AtomicInteger wakeUps = new AtomicInteger();
  private final AtomicReference<Connection> listening = new AtomicReference<>();
  private final AtomicBoolean returned = new AtomicBoolean();
  private PgNotificationListener listener;

  @BeforeEach
  void start() {
    Matcher url =
        Pattern.compile("jdbc:postgresql://([^:/]+):(\\d+)/([^?]+)").matcher(db.jdbcUrl());
    assertThat(url.find()).as(db.jdbcUrl()).isTrue();
    PGSimpleDataSource counting = new PGSimpleDataSource();
    counting.setServerNames(new String[] {url.group(1)});
    counting.setPortNumbers(new int[] {Integer.parseInt(url.group(2))});
    counting.setDatabaseName(url.group(3));
    counting.setUser(db.database().username());
    counting.setPassword(db.database().password());
    counting.setSocketFactory(CountingSockets.class.getName());
    listener = new PgNotificationListener(keeping(counting), CHANNEL, wakeUps::incrementAndGet);
    Thread thread = new Thread(listener, "wake-up-listener");
    thread.setDaemon(true);
    thread.start();
    // The listener wakes the relay once right after its LISTEN succeeded.
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> wakeUps.get() >= 1);
  }

  @AfterEach
  void stop() throws Exception {
    listener.stop();
    Connection c = listening.get();
    if (c != null) {
      Awaitility.await().atMost(Duration.ofSeconds(10)).untilTrue(returned);
      c.close();
    }
  }

  /**
   * Before the listener turned the check off, each of the 20 wake-ups cost one 1 ms wait (20 were
   * counted), and while notifications kept coming less than 1 ms apart the wake-up waited for the
   * first quiet millisecond.
   */
  @Test
  void aWakeUpDoesNotWaitForMoreMessages() throws Exception {
    oneMillisecondWaits.set(0);
    for (int i = 1; i <= 20; i++) {
      int before = wakeUps.get();
      notifyChannel();
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> wakeUps.get() > before);
    }
    assertThat(oneMillisecondWaits.get())
        .as("1 ms waits for more messages after 20 notifications")
        .isZero();
  }

  /** The pooled connection must behave as pgjdbc made it for whoever borrows it next. */
  @Test
  void theConnectionGoesBackToItsPoolWithTheDriversCheck() throws Exception {
    notifyChannel();
    Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> wakeUps.get() >= 2);
    listener.stop();
    Awaitility.await().atMost(Duration.ofSeconds(10)).untilTrue(returned);
    oneMillisecondWaits.set(0);
    listening.get().unwrap(PGConnection.class).getNotifications();
    assertThat(oneMillisecondWaits.get())
        .as("the driver's own check for messages on the returned connection")
        .isEqualTo(1);
  }

  private static void notifyChannel() throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("NOTIFY " + CHANNEL);
    }
  }

  /**
   * Hands out one connection and keeps it open when the listener closes it ("returns it to the
   * pool"), so that the test can look at it afterwards.
   */
  private DataSource keeping(PGSimpleDataSource target) {
    return (DataSource)
        Proxy.newProxyInstance(
            DataSource.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (ds, dsMethod, dsArgs) -> {
              Object result = invoke(target, dsMethod, dsArgs);
              if (!(result instanceof Connection connection)) {
                return result;
              }
              listening.set(connection);
              return Proxy.newProxyInstance(
                  Connection.class.getClassLoader(),
                  new Class<?>[] {Connection.class},
                  (proxy, method, args) -> {
                    if (method.getName().equals("close")) {
                      returned.set(true);
                      return null;
                    }
                    return invoke(connection, method, args);
                  });
            });
  }

  private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args)
      throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }

  /** pgjdbc's {@code socketFactory}: plain sockets that count the 1 ms time-outs set on them. */
  public static final class CountingSockets extends SocketFactory {

    public CountingSockets() {}

    @Override
    public Socket createSocket() {
      return new Socket() {
        @Override
        public synchronized void setSoTimeout(int timeout) throws SocketException {
          if (timeout == 1) {
            oneMillisecondWaits.incrementAndGet();
          }
          super.setSoTimeout(timeout);
        }
      };
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
      throw new UnsupportedOperationException("pgjdbc connects the unconnected socket itself");
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort)
        throws IOException {
      throw new UnsupportedOperationException("pgjdbc connects the unconnected socket itself");
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
      throw new UnsupportedOperationException("pgjdbc connects the unconnected socket itself");
    }

    @Override
    public Socket createSocket(
        InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
      throw new UnsupportedOperationException("pgjdbc connects the unconnected socket itself");
    }
  }
}
