package dev.outboxkit.test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;

/**
 * A TCP proxy on the loopback interface that can stall chosen connections: while stalled, bytes are
 * neither read nor forwarded in either direction, and a chunk already read waits; on release it all
 * flows on, so a request a client gave up on still reaches the server, late. That is what a network
 * partition that heals looks like to a broker or database.
 *
 * <p>Connections are told apart by a label: for Kafka, the {@code client.id} of the connection's
 * first request (read from the request header, see {@link #kafkaClientId}); otherwise a constant.
 * {@link #stall(Predicate)} stalls the connections whose label matches, present and future.
 */
public final class StallingProxy implements AutoCloseable {

  private final ServerSocket server;
  private final Object lock = new Object();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicInteger held = new AtomicInteger();
  private final AtomicInteger heldRequests = new AtomicInteger();
  private volatile boolean requestsOnly;
  private final boolean kafka;
  private volatile int targetPort;
  private volatile Predicate<String> stalled = label -> false;
  private volatile boolean closed;

  private StallingProxy(int port, boolean kafka) throws IOException {
    this.kafka = kafka;
    server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    Thread accept = new Thread(this::accept, "outboxkit-test-proxy-" + server.getLocalPort());
    accept.setDaemon(true);
    accept.start();
  }

  /**
   * A proxy for any TCP protocol; every connection has the label {@code "tcp"}.
   *
   * @param targetPort the loopback port to forward to
   */
  public static StallingProxy tcp(int targetPort) throws IOException {
    StallingProxy proxy = new StallingProxy(0, false);
    proxy.targetPort = targetPort;
    return proxy;
  }

  /**
   * A proxy for Kafka on a port of its own choosing, labelling each connection with its client id;
   * the target is set later ({@link #forwardTo}), for a broker that must advertise the proxy.
   */
  static StallingProxy kafka() throws IOException {
    return new StallingProxy(0, true);
  }

  void forwardTo(int port) {
    this.targetPort = port;
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Stalls the connections whose label matches, and those opened later with such a label. */
  public void stall(Predicate<String> labels) {
    requestsOnly = false;
    stalled = labels;
  }

  /**
   * As {@link #stall}, in the client-to-server direction only: requests are held, responses to what
   * the server already has still arrive. A request that is held is then known not to have reached
   * the server.
   */
  public void stallRequests(Predicate<String> labels) {
    requestsOnly = true;
    stalled = labels;
  }

  /** Lets every stalled byte flow on. */
  public void release() {
    synchronized (lock) {
      stalled = label -> false;
      lock.notifyAll();
    }
  }

  /** How many chunks of bytes, read from one side, are waiting to be forwarded right now. */
  public int held() {
    return held.get();
  }

  /**
   * How many of the {@link #held} chunks come from the client side: requests that have not reached
   * the server yet. A held response means the server already has the request.
   */
  public int heldRequests() {
    return heldRequests.get();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = server.accept();
        Socket target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        client.setTcpNoDelay(true);
        target.setTcpNoDelay(true);
        sockets.add(client);
        sockets.add(target);
        Connection connection = new Connection();
        start(() -> pump(client, target, connection, true), "up");
        start(() -> pump(target, client, connection, false), "down");
      } catch (IOException e) {
        if (!closed) {
          sleepQuietly();
        }
      }
    }
  }

  private static void start(Runnable pump, String direction) {
    Thread thread = new Thread(pump, "outboxkit-test-proxy-" + direction);
    thread.setDaemon(true);
    thread.start();
  }

  /** What the two pumps of one connection share: its label, once known. */
  private final class Connection {
    private volatile @Nullable String label;

    boolean stalled() {
      String l = label;
      return l != null && stalled.test(l);
    }
  }

  private void pump(Socket from, Socket to, Connection connection, boolean upstream) {
    byte[] buffer = new byte[64 * 1024];
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      if (upstream) {
        connection.label = kafka ? firstKafkaRequest(in, out) : "tcp";
      }
      while (true) {
        waitWhileStalled(connection, upstream);
        int n = in.read(buffer);
        if (n < 0) {
          break;
        }
        held.incrementAndGet();
        if (upstream) {
          heldRequests.incrementAndGet();
        }
        try {
          waitWhileStalled(connection, upstream);
          out.write(buffer, 0, n);
          out.flush();
        } finally {
          held.decrementAndGet();
          if (upstream) {
            heldRequests.decrementAndGet();
          }
        }
      }
    } catch (IOException e) {
      // one side closed
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  /**
   * Reads the first request of a Kafka connection, labels the connection with its client id and
   * forwards the request (after any stall its label calls for).
   */
  private String firstKafkaRequest(InputStream in, OutputStream out)
      throws IOException, InterruptedException {
    byte[] size = in.readNBytes(4);
    if (size.length < 4) {
      throw new IOException("closed before a request");
    }
    byte[] request = in.readNBytes(ByteBuffer.wrap(size).getInt());
    String label = kafkaClientId(request);
    Connection probe = new Connection();
    probe.label = label;
    held.incrementAndGet();
    heldRequests.incrementAndGet();
    try {
      waitWhileStalled(probe, true);
      out.write(size);
      out.write(request);
      out.flush();
    } finally {
      held.decrementAndGet();
      heldRequests.decrementAndGet();
    }
    return label;
  }

  /**
   * The client id of a Kafka request (without its size prefix): request header versions 1 and 2
   * both start with api key, api version and correlation id, then the client id as a nullable
   * string with a two-byte length.
   */
  static String kafkaClientId(byte[] request) {
    ByteBuffer b = ByteBuffer.wrap(request);
    if (b.remaining() < 10) {
      return "";
    }
    b.getShort();
    b.getShort();
    b.getInt();
    short length = b.getShort();
    if (length < 0 || length > b.remaining()) {
      return "";
    }
    byte[] id = new byte[length];
    b.get(id);
    return new String(id, StandardCharsets.UTF_8);
  }

  private void waitWhileStalled(Connection connection, boolean upstream)
      throws InterruptedException {
    synchronized (lock) {
      while (connection.stalled() && (upstream || !requestsOnly) && !closed) {
        lock.wait(100);
      }
    }
  }

  private static void sleepQuietly() {
    try {
      Thread.sleep(10);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  /** Stops accepting and closes every connection. */
  @Override
  public void close() {
    closed = true;
    release();
    closeQuietly(server);
    for (Socket s : sockets) {
      closeQuietly(s);
    }
  }

  private static void closeQuietly(ServerSocket socket) {
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
