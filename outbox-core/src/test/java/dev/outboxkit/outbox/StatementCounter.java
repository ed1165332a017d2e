package dev.outboxkit.outbox;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Wraps a real connection and counts the statements it executes: each {@code execute*} call is one
 * request to the server and one wait for its answer, i.e. one round trip.
 */
final class StatementCounter {

  private final AtomicInteger executions = new AtomicInteger();

  int executions() {
    return executions.get();
  }

  void reset() {
    executions.set(0);
  }

  Connection wrap(Connection connection) {
    return proxy(
        Connection.class,
        connection,
        (target, method, args) -> {
          Object result = invoke(target, method, args);
          if (result instanceof PreparedStatement statement) {
            return countingStatement(PreparedStatement.class, statement);
          }
          if (result instanceof Statement statement) {
            return countingStatement(Statement.class, statement);
          }
          return result;
        });
  }

  private <T extends Statement> T countingStatement(Class<T> type, T statement) {
    return proxy(
        type,
        statement,
        (target, method, args) -> {
          if (method.getName().startsWith("execute")) {
            executions.incrementAndGet();
          }
          return invoke(target, method, args);
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

  private interface Handler {
    Object handle(Object target, java.lang.reflect.Method method, Object[] args) throws Throwable;
  }

  private static <T> T proxy(Class<T> type, T target, Handler handler) {
    InvocationHandler invocation = (proxy, method, args) -> handler.handle(target, method, args);
    return type.cast(
        Proxy.newProxyInstance(
            StatementCounter.class.getClassLoader(), new Class<?>[] {type}, invocation));
  }
}
