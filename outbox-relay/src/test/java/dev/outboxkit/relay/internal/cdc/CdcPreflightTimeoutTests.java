package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.relay.cdc.CdcOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The start-up checks' connection gives up on a server that accepts the TCP connection and never
 * answers (a stalled proxy, a half-open failover endpoint): the start fails naming the property
 * instead of hanging. Each driver's default would wait for the greeting without limit.
 */
class CdcPreflightTimeoutTests {

  private ServerSocket silent;
  private final List<Socket> accepted = new CopyOnWriteArrayList<>();

  @BeforeEach
  void startSilentServer() throws IOException {
    silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor =
        new Thread(
            () -> {
              while (!silent.isClosed()) {
                try {
                  accepted.add(silent.accept()); // and never say a word
                } catch (IOException e) {
                  return;
                }
              }
            },
            "silent-server");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  @AfterEach
  void stopSilentServer() throws IOException {
    silent.close();
    for (Socket s : accepted) {
      s.close();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"jdbc:postgresql", "jdbc:mysql", "jdbc:mariadb"})
  void aServerThatNeverAnswersFailsTheChecksNamingTheUrl(String scheme) {
    String url = scheme + "://127.0.0.1:" + silent.getLocalPort() + "/app";
    CdcOptions options = CdcOptions.builder(url, "cdc", "secret").build();
    long started = System.nanoTime();
    // A limit of 1 s, not the default 10 s: the same driver properties, a tenth of the wait.
    assertThatThrownBy(() -> CdcPreflight.connect(options, 1).close())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("outbox.relay.cdc.url");
    Duration waited = Duration.ofNanos(System.nanoTime() - started);
    assertThat(accepted).as("the driver reached the silent server").isNotEmpty();
    assertThat(waited).isLessThan(Duration.ofSeconds(15));
  }

  @ParameterizedTest
  @ValueSource(strings = {"jdbc:postgresql", "jdbc:mysql", "jdbc:mariadb"})
  void theDefaultLimitIsTenSecondsForConnectingAndEachAnswer(String scheme) {
    CdcOptions options =
        CdcOptions.builder(scheme + "://127.0.0.1:5432/app", "cdc", "secret").build();
    var props = CdcPreflight.connectionProperties(options);
    assertThat(props.getProperty("connectTimeout"))
        .as("the default limit, in the unit each driver takes (s or ms)")
        .isIn("10", "10000");
    assertThat(props.getProperty("socketTimeout")).isIn("10", "10000");
  }

  @ParameterizedTest
  @ValueSource(strings = {"jdbc:postgresql", "jdbc:mysql", "jdbc:mariadb"})
  void aTimeoutInTheUrlIsLeftAsItIs(String scheme) {
    String url = scheme + "://127.0.0.1:5432/app?connectTimeout=3&loginTimeout=4&socketTimeout=5";
    CdcOptions options = CdcOptions.builder(url, "cdc", "secret").build();
    var props = CdcPreflight.connectionProperties(options);
    assertThat(props.getProperty("connectTimeout")).isNull();
    assertThat(props.getProperty("socketTimeout")).isNull();
    assertThat(props.getProperty("user")).isEqualTo("cdc");
  }
}
