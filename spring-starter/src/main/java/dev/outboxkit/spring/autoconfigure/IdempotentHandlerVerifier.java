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
 * Fails start-up when an {@link Idempotent} handler answers asynchronously. Its response would be
 * written after the filter's transaction, so it could be neither stored nor committed with the
 * handler's writes; better to say so before the first request than to misbehave on it.
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

  IdempotentHandlerVerifier(ObjectProvider<RequestMappingHandlerMapping> mappings) {
    this.mappings = mappings;
  }

  @Override
  public void afterSingletonsInstantiated() {
    List<String> offending = new ArrayList<>();
    for (RequestMappingHandlerMapping mapping : mappings) {
      for (Map.Entry<RequestMappingInfo, HandlerMethod> entry :
          mapping.getHandlerMethods().entrySet()) {
        HandlerMethod method = entry.getValue();
        boolean idempotent =
            method.hasMethodAnnotation(Idempotent.class)
                || AnnotatedElementUtils.hasAnnotation(method.getBeanType(), Idempotent.class);
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
  }
}
