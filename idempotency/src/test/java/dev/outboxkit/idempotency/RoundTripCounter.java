package dev.outboxkit.idempotency;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;

/**
 * A data source whose connections count what they ask of the server: each execution of a statement
 * (one string, however many statements it holds) and each savepoint set, released or rolled back
 * to. With drivers that send one request per such call (client-side prepared statements, no
 * fetching in batches), the count is the number of round trips.
 */
final class RoundTripCounter {

  private static final Set<String> EXECUTIONS =
      Set.of(
          "execute",
          "executeQuery",
          "executeUpdate",
          "executeLargeUpdate",
          "executeBatch",
          "executeLargeBatch");

  private static final Set<String> SAVEPOINTS =
      Set.of("setSavepoint", "releaseSavepoint", "rollback", "commit");

  private final AtomicInteger sent = new AtomicInteger();
  private final DataSource dataSource;

  RoundTripCounter(DataSource target) {
    this.dataSource =
        proxy(
            DataSource.class,
            target,
            (method, result) ->
                method.getName().equals("getConnection")
                    ? proxy(Connection.class, (Connection) result, this::connectionCall)
                    : result);
  }

  /** The counting data source. */
  DataSource dataSource() {
    return dataSource;
  }

  /** Round trips so far, over every connection of {@link #dataSource()}. */
  int sent() {
    return sent.get();
  }

  private Object connectionCall(Method method, Object result) {
    if (SAVEPOINTS.contains(method.getName())) {
      sent.incrementAndGet();
    }
    if (result instanceof Statement statement
        && Statement.class.isAssignableFrom(method.getReturnType())) {
      return proxy(method.getReturnType(), statement, this::statementCall);
    }
    return result;
  }

  private Object statementCall(Method method, Object result) {
    if (EXECUTIONS.contains(method.getName())) {
      sent.incrementAndGet();
    }
    return result;
  }

  @FunctionalInterface
  private interface After {
    Object apply(Method method, Object result);
  }

  private static <T> T proxy(Class<T> type, Object target, After after) {
    InvocationHandler handler =
        (proxy, method, args) -> {
          Object result = PurgeFixture.invoke(target, method, args);
          return after.apply(method, result);
        };
    return type.cast(
        Proxy.newProxyInstance(
            RoundTripCounter.class.getClassLoader(), new Class<?>[] {type}, handler));
  }
}
