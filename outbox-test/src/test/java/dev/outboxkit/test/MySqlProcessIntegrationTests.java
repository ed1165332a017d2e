package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The MySQL 8 process server itself: the cache, a start and a stop, the library check. */
@ServerTest
class MySqlProcessIntegrationTests {

  private static final Logger log = LoggerFactory.getLogger(MySqlProcessIntegrationTests.class);

  @Test
  void theBinariesRunOnThisMachine() {
    Path mysqld = new CachedMySql(CachedMySql.defaultCacheDirectory()).mysqld();
    assertThat(MySqlLauncher.librariesMissing(mysqld)).isNull();
    assertThat(MySqlLauncher.processUnavailableReason()).isNull();
  }

  @Test
  void twoPreparationsOfOneCacheAtOnceBothSucceed(@TempDir Path cache) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Path>> results = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        Callable<Path> prepare = () -> new CachedMySql(cache).binaries();
        results.add(pool.submit(prepare));
      }
      for (Future<Path> result : results) {
        assertThat(result.get()).isEqualTo(cache.resolve("base"));
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(Files.isExecutable(cache.resolve("base/bin/mysqld"))).isTrue();
    try (var entries = Files.list(cache)) {
      // Only the published directory remains: the loser's staging copy is gone.
      assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("base");
    }
  }

  @Test
  void startsAServerThatAcceptsConnectionsAndStopsItByItsPid() throws SQLException {
    CachedMySql cache = new CachedMySql(CachedMySql.defaultCacheDirectory());
    Path base = cache.binaries();
    Path template = cache.template();
    long start = System.nanoTime();
    MySqlProcess mysql = MySqlProcess.start(base, template, 7);
    long startMillis = (System.nanoTime() - start) / 1_000_000;
    log.info("mysqld {} ready in {} ms", mysql.pid(), startMillis);
    Path directory = mysql.directory();
    try {
      assertThat(ProcessHandle.of(mysql.pid())).isPresent();
      try (Connection connection = DriverManager.getConnection(mysql.adminUrl(), "root", "")) {
        assertThat(query(connection, "SELECT @@server_id")).isEqualTo("7");
        assertThat(query(connection, "SELECT @@port")).isEqualTo(String.valueOf(mysql.port()));
        assertThat(query(connection, "SELECT @@log_bin")).isEqualTo("1");
      }
    } finally {
      mysql.close();
    }
    assertThat(mysql.isAlive()).isFalse();
    assertThat(ProcessHandle.of(mysql.pid()).filter(ProcessHandle::isAlive)).isEmpty();
    assertThat(directory).doesNotExist();
  }

  private static String query(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
