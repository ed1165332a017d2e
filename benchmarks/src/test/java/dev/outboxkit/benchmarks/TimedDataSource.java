package dev.outboxkit.benchmarks;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import javax.sql.DataSource;

/**
 * The relay's data source in a latency pass with {@code -Dbench.stages=true}: the same pool, with
 * the relay's reads of the outbox (the statements that select pending rows under the byte budget)
 * and its {@code DELETE}s of published rows timed into {@link LatencyStages#current}, and each row
 * read stamped with the time its read returned. Everything else passes straight through (also
 * {@code unwrap}, so the LISTEN connection still reaches pgjdbc). Costs a reflective call per JDBC
 * call, so the headline figures come from passes without it.
 */
final class TimedDataSource {

  private TimedDataSource() {}

  static DataSource wrap(DataSource real) {
    return proxy(DataSource.class, real, TimedDataSource::dataSource);
  }

  private interface Handler {
    Object handle(Object real, Method method, Object[] args) throws Throwable;
  }

  @SuppressWarnings("unchecked")
  private static <T> T proxy(Class<T> type, T real, Handler handler) {
    InvocationHandler h =
        (proxy, method, args) -> {
          if (method.getName().equals("equals") && args != null && args.length == 1) {
            return proxy == args[0];
          }
          if (method.getName().equals("hashCode") && (args == null || args.length == 0)) {
            return System.identityHashCode(proxy);
          }
          try {
            return handler.handle(real, method, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        };
    return (T)
        Proxy.newProxyInstance(TimedDataSource.class.getClassLoader(), new Class<?>[] {type}, h);
  }

  private static Object dataSource(Object real, Method method, Object[] args) throws Throwable {
    Object result = method.invoke(real, args);
    if (method.getName().equals("getConnection") && result instanceof Connection c) {
      return proxy(Connection.class, c, TimedDataSource::connection);
    }
    return result;
  }

  private static Object connection(Object real, Method method, Object[] args) throws Throwable {
    Object result = method.invoke(real, args);
    if (method.getName().equals("prepareStatement")
        && result instanceof PreparedStatement statement
        && args != null
        && args[0] instanceof String sql) {
      if (sql.contains("upto - row_bytes < ?")) {
        return proxy(PreparedStatement.class, statement, TimedDataSource::read);
      }
      if (sql.startsWith("DELETE FROM") && sql.contains("status = 'PENDING' AND seq")) {
        return proxy(PreparedStatement.class, statement, TimedDataSource::delete);
      }
      if (sql.contains("SET offsets = ?")) {
        // CDC: the offsets stored after a batch, with the batch's DELETE on PostgreSQL.
        return proxy(PreparedStatement.class, statement, TimedDataSource::offsets);
      }
    }
    return result;
  }

  private static Object read(Object real, Method method, Object[] args) throws Throwable {
    if (!method.getName().equals("executeQuery")) {
      return method.invoke(real, args);
    }
    long start = System.nanoTime();
    ResultSet rs = (ResultSet) method.invoke(real, args);
    long end = System.nanoTime();
    int[] rows = new int[1];
    return proxy(
        ResultSet.class,
        rs,
        (r, m, a) -> {
          Object value = m.invoke(r, a);
          LatencyStages stages = LatencyStages.current;
          if (stages != null) {
            if (m.getName().equals("getBytes") && value instanceof byte[] bytes) {
              stages.readRow(bytes, end);
            } else if (m.getName().equals("next") && Boolean.TRUE.equals(value)) {
              rows[0]++;
            } else if (m.getName().equals("close")) {
              stages.readQuery(start, end, rows[0]);
            }
          }
          return value;
        });
  }

  private static Object offsets(Object real, Method method, Object[] args) throws Throwable {
    if (!method.getName().startsWith("execute")) {
      return method.invoke(real, args);
    }
    long start = System.nanoTime();
    Object result = method.invoke(real, args);
    LatencyStages stages = LatencyStages.current;
    if (stages != null) {
      stages.offsetsStored(start, System.nanoTime());
    }
    return result;
  }

  private static Object delete(Object real, Method method, Object[] args) throws Throwable {
    String name = method.getName();
    if (!name.startsWith("execute")) {
      return method.invoke(real, args);
    }
    long start = System.nanoTime();
    Object result = method.invoke(real, args);
    LatencyStages stages = LatencyStages.current;
    if (stages != null) {
      stages.deleted(start, System.nanoTime());
    }
    return result;
  }
}
