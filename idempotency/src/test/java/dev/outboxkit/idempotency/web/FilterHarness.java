package dev.outboxkit.idempotency.web;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyDefaults;
import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * The HTTP filter over a real key table and Spring transactions: H2 in memory for unit tests, or a
 * real database for integration tests.
 */
final class FilterHarness {

  final DataSource dataSource;
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  final JdbcTemplate jdbc;
  final Idempotency idempotency;

  FilterHarness() throws SQLException {
    this(h2());
  }

  /** Over a key table in {@code dataSource}, created if absent. */
  FilterHarness(DataSource dataSource) throws SQLException {
    this.dataSource = dataSource;
    OutboxDialect dialect;
    try (Connection connection = dataSource.getConnection()) {
      dialect = OutboxDialect.detect(connection);
      IdempotencySchema.create(
          connection,
          dialect,
          OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
          OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
    }
    jdbc = new JdbcTemplate(dataSource);
    idempotency =
        Idempotency.builder().connectionProvider(this::inTransaction).dialect(dialect).build();
  }

  private static DataSource h2() {
    JdbcDataSource h2 = new JdbcDataSource();
    h2.setURL("jdbc:h2:mem:filter-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    return h2;
  }

  IdempotencyFilter filter(IdempotencyFilterSettings settings) {
    return new IdempotencyFilter(
        idempotency,
        new DataSourceTransactionManager(dataSource),
        settings,
        request -> null,
        registry);
  }

  static MockHttpServletRequest post(
      String key, String body, @Nullable String user, @Nullable String client) {
    MockHttpServletRequest request = new MockHttpServletRequest("POST", "/payments/charge");
    request.setContentType("application/json");
    request.setContent(body.getBytes(StandardCharsets.UTF_8));
    request.addHeader("Idempotency-Key", key);
    if (user != null) {
      Principal principal = () -> user;
      request.setUserPrincipal(principal);
    }
    if (client != null) {
      request.addHeader("X-Client", client);
    }
    return request;
  }

  static MockHttpServletResponse send(
      IdempotencyFilter filter, MockHttpServletRequest request, FilterChain handler)
      throws Exception {
    MockHttpServletResponse response = new MockHttpServletResponse();
    filter.doFilter(request, response, handler);
    return response;
  }

  private <T> T inTransaction(ConnectionProvider.ConnectionCallback<T> work) throws SQLException {
    if (!TransactionSynchronizationManager.isActualTransactionActive()) {
      throw new NoActiveTransactionException("no Spring transaction");
    }
    Connection connection = DataSourceUtils.getConnection(dataSource);
    try {
      return work.apply(connection);
    } finally {
      DataSourceUtils.releaseConnection(connection, dataSource);
    }
  }

  /** Answers with a fixed status, a fresh id in the body and a Location; counts its runs. */
  static final class Handler implements FilterChain {
    final AtomicInteger runs = new AtomicInteger();
    private final int status;
    private final int padding;

    Handler(int status) {
      this(status, 0);
    }

    Handler(int status, int padding) {
      this.status = status;
      this.padding = padding;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response) throws IOException {
      int run = runs.incrementAndGet();
      request.getInputStream().readAllBytes();
      HttpServletResponse http = (HttpServletResponse) response;
      http.setStatus(status);
      http.setContentType("application/json");
      http.setHeader("Location", "/payments/" + run);
      http.getOutputStream()
          .write(
              ("{\"id\":\"payment-" + run + "\",\"pad\":\"" + "x".repeat(padding) + "\"}")
                  .getBytes(StandardCharsets.UTF_8));
    }
  }
}
