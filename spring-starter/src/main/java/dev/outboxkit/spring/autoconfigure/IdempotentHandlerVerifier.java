package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.idempotency.web.Idempotent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.web.context.request.async.DeferredResult;
import org.springframework.web.context.request.async.WebAsyncTask;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

/**
 * Fails start-up when an {@link Idempotent} handler answers asynchronously, or when the application
 * has idempotent endpoints (annotated handlers or {@code outbox.idempotency.http.paths}) but chose
 * no fingerprint: HMAC-SHA256 (the default) needs {@code outbox.idempotency.http.fingerprint.key},
 * and plain SHA-256 must be chosen explicitly. An asynchronous response would be written after the
 * filter's transaction, so it could be neither stored nor committed with the handler's writes;
 * better to say so before the first request than to misbehave on it. Applications without
 * idempotent endpoints need no fingerprint setting.
 */
final class IdempotentHandlerVerifier implements SmartInitializingSingleton {

  private static final List<Class<?>> ASYNC_TYPES =
      List.of(
          Callable.class,
          CompletionStage.class,
          DeferredResult.class,
          WebAsyncTask.class,
          ResponseBodyEmitter.class,
          StreamingResponseBody.class);

  private final ObjectProvider<RequestMappingHandlerMapping> mappings;
  private final boolean pathsConfigured;
  private final boolean fingerprintChosen;

  IdempotentHandlerVerifier(
      ObjectProvider<RequestMappingHandlerMapping> mappings,
      boolean pathsConfigured,
      boolean fingerprintChosen) {
    this.mappings = mappings;
    this.pathsConfigured = pathsConfigured;
    this.fingerprintChosen = fingerprintChosen;
  }

  @Override
  public void afterSingletonsInstantiated() {
    List<String> offending = new ArrayList<>();
    List<String> idempotentHandlers = new ArrayList<>();
    for (RequestMappingHandlerMapping mapping : mappings) {
      for (Map.Entry<RequestMappingInfo, HandlerMethod> entry :
          mapping.getHandlerMethods().entrySet()) {
        HandlerMethod method = entry.getValue();
        boolean idempotent =
            method.hasMethodAnnotation(Idempotent.class)
                || AnnotatedElementUtils.hasAnnotation(method.getBeanType(), Idempotent.class);
        if (idempotent) {
          idempotentHandlers.add(method.getShortLogMessage());
        }
        Class<?> returnType = method.getReturnType().getParameterType();
        if (idempotent
            && ASYNC_TYPES.stream().anyMatch(type -> type.isAssignableFrom(returnType))) {
          offending.add(method.getShortLogMessage() + " returns " + returnType.getSimpleName());
        }
      }
    }
    if (!offending.isEmpty()) {
      throw new IllegalStateException(
          "@Idempotent handlers must answer synchronously, so their response can be stored in the"
              + " same transaction as their writes: "
              + offending);
    }
    if (!fingerprintChosen && (pathsConfigured || !idempotentHandlers.isEmpty())) {
      throw new IllegalStateException(
          "outbox.idempotency.http.fingerprint.key is not set, but the application has idempotent"
              + " endpoints ("
              + (pathsConfigured ? "outbox.idempotency.http.paths" : idempotentHandlers.get(0))
              + "). Set it to a secret of at least 32 bytes (e.g. openssl rand -base64 32, from a"
              + " secret store): request fingerprints are then HMAC-SHA256, so a card number in"
              + " a body cannot be recovered from the key table. Or choose plain SHA-256"
              + " explicitly with outbox.idempotency.http.fingerprint.algorithm=sha256.");
    }
  }
}
