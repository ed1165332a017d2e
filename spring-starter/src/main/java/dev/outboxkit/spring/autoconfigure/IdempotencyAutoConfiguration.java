package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyPurger;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.ResultCodec;
import dev.outboxkit.idempotency.web.CacheableResponses;
import dev.outboxkit.idempotency.web.IdempotencyFilter;
import dev.outboxkit.idempotency.web.IdempotencyFilterSettings;
import dev.outboxkit.idempotency.web.IdempotencyScopeResolver;
import dev.outboxkit.idempotency.web.Idempotent;
import dev.outboxkit.idempotency.web.RequestFingerprinting;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Clock;
import java.util.Set;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.env.Environment;
import org.springframework.http.server.RequestPath;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.HandlerExecutionChain;
import org.springframework.web.servlet.mvc.method.annotation.RequestMappingHandlerMapping;
import org.springframework.web.util.ServletRequestPathUtils;

/**
 * Idempotency keys and the consumer inbox on the outbox's DataSource and transactions, the
 * scheduled purge of expired keys, and (in servlet web applications) the HTTP {@code
 * Idempotency-Key} filter.
 */
@AutoConfiguration(after = OutboxAutoConfiguration.class)
@ConditionalOnClass(Idempotency.class)
@ConditionalOnBean({ConnectionProvider.class, OutboxDialect.class})
@ConditionalOnBooleanProperty(name = "outbox.idempotency.enabled", matchIfMissing = true)
@EnableConfigurationProperties(IdempotencyProperties.class)
public final class IdempotencyAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean
  @DependsOnDatabaseInitialization
  IdempotencySchemaInitializer idempotencySchemaInitializer(
      DataSource dataSource, OutboxDialect dialect, IdempotencyProperties properties) {
    return new IdempotencySchemaInitializer(
        dataSource,
        dialect,
        OutboxTable.of(properties.keyTable()),
        OutboxTable.of(properties.inboxTable()),
        properties.autoCreate(),
        properties.validateSchema());
  }

  @Bean
  @ConditionalOnMissingBean
  Idempotency idempotency(
      IdempotencySchemaInitializer schema,
      ConnectionProvider connections,
      OutboxDialect dialect,
      IdempotencyProperties properties,
      ObjectProvider<ResultCodec> resultCodec,
      ObjectProvider<MeterRegistry> meterRegistry,
      ObjectProvider<Clock> clock) {
    // Stored results are a persistence format: a private mapper by default, so changing the
    // application's JSON settings never makes stored keys unreadable.
    return Idempotency.builder()
        .connectionProvider(connections)
        .dialect(dialect)
        .table(OutboxTable.of(properties.keyTable()))
        .ttl(properties.ttl())
        .lockTimeout(properties.lockTimeout())
        .resultCodec(resultCodec.getIfUnique(ResultCodec::json))
        .meterRegistry(meterRegistry.getIfUnique(() -> Metrics.globalRegistry))
        .clock(clock.getIfUnique(Clock::systemUTC))
        .build();
  }

  @Bean
  @ConditionalOnMissingBean
  Inbox inbox(
      IdempotencySchemaInitializer schema,
      ConnectionProvider connections,
      OutboxDialect dialect,
      IdempotencyProperties properties,
      ObjectProvider<MeterRegistry> meterRegistry,
      ObjectProvider<Clock> clock) {
    return Inbox.builder()
        .connectionProvider(connections)
        .dialect(dialect)
        .table(OutboxTable.of(properties.inboxTable()))
        .ttl(properties.inboxTtl())
        .lockTimeout(properties.lockTimeout())
        .meterRegistry(meterRegistry.getIfUnique(() -> Metrics.globalRegistry))
        .clock(clock.getIfUnique(Clock::systemUTC))
        .build();
  }

  @Bean
  @ConditionalOnMissingBean
  IdempotencyPurger idempotencyPurger(
      IdempotencySchemaInitializer schema,
      DataSource dataSource,
      OutboxDialect dialect,
      IdempotencyProperties properties,
      ObjectProvider<MeterRegistry> meterRegistry,
      ObjectProvider<Clock> clock) {
    return new IdempotencyPurger(
        dataSource,
        dialect,
        OutboxTable.of(properties.keyTable()),
        OutboxTable.of(properties.inboxTable()),
        properties.purge().batchSize(),
        properties.purge().maxBatches(),
        clock.getIfUnique(Clock::systemUTC),
        meterRegistry.getIfUnique(() -> Metrics.globalRegistry));
  }

  @Bean
  @ConditionalOnMissingBean
  @ConditionalOnBooleanProperty(name = "outbox.idempotency.purge.enabled", matchIfMissing = true)
  IdempotencyPurgeScheduler idempotencyPurgeScheduler(
      IdempotencyPurger purger, IdempotencyProperties properties) {
    return new IdempotencyPurgeScheduler(purger, properties.purge().interval());
  }

  /** The HTTP Idempotency-Key filter for Spring MVC. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
  @ConditionalOnClass({IdempotencyFilter.class, RequestMappingHandlerMapping.class})
  @ConditionalOnBean(PlatformTransactionManager.class)
  @ConditionalOnBooleanProperty(name = "outbox.idempotency.http.enabled", matchIfMissing = true)
  static class WebConfiguration {

    private static final Set<String> UNSAFE_METHODS = Set.of("POST", "PUT", "PATCH", "DELETE");

    /** The idempotency filter's order: after Spring Security's filter chain (-100 by default). */
    static final int ORDER = 0;

    /** The bean name of Spring Security's servlet filter chain. */
    private static final String SECURITY_FILTER_CHAIN = "springSecurityFilterChain";

    @Bean
    @ConditionalOnMissingBean(name = "idempotencyFilterRegistration")
    FilterRegistrationBean<IdempotencyFilter> idempotencyFilterRegistration(
        Idempotency idempotency,
        PlatformTransactionManager transactionManager,
        IdempotencyProperties properties,
        ObjectProvider<RequestMappingHandlerMapping> mappings,
        ObjectProvider<CacheableResponses> cacheable,
        ObjectProvider<IdempotencyScopeResolver> scopeResolver,
        ObjectProvider<MeterRegistry> meterRegistry,
        ListableBeanFactory beans,
        Environment environment) {
      IdempotencyProperties.Http http = properties.http();
      Set<String> methods =
          http.methods().stream()
              .map(m -> m.toUpperCase(java.util.Locale.ROOT))
              .collect(Collectors.toSet());
      IdempotencyScopeResolver resolver = scopeResolver.getIfUnique();
      IdempotencyScopeChecks.warnAboutScopeSources(
          http, resolver != null, beans.containsBean(SECURITY_FILTER_CHAIN), environment, ORDER);
      if (resolver == null) {
        resolver = IdempotencyScopeResolver.principal();
        if (http.clientHeader() != null && !http.clientHeader().isBlank()) {
          resolver = resolver.orElse(IdempotencyScopeResolver.header(http.clientHeader()));
        }
      }
      IdempotencyFilterSettings settings =
          new IdempotencyFilterSettings(
              http.headerName(),
              http.paths(),
              methods,
              resolver,
              http.sharedAnonymousScope(),
              (int) http.maxBodySize().toBytes(),
              (int) http.maxStoredResponseSize().toBytes(),
              http.replayedHeaders(),
              cacheable.getIfUnique(() -> CacheableResponses.DEFAULT),
              fingerprinting(http.fingerprint()));
      IdempotencyFilter filter =
          new IdempotencyFilter(
              idempotency,
              transactionManager,
              settings,
              request -> annotation(mappings, request),
              meterRegistry.getIfUnique(() -> Metrics.globalRegistry));
      FilterRegistrationBean<IdempotencyFilter> registration = new FilterRegistrationBean<>(filter);
      registration.setName("idempotencyFilter");
      // After Spring Security's filter chain (order -100), so the principal scopes the key.
      registration.setOrder(ORDER);
      return registration;
    }

    /** {@code null} when HMAC is chosen (the default) without a key: the verifier says so. */
    private static @Nullable RequestFingerprinting fingerprinting(
        IdempotencyProperties.Fingerprint fingerprint) {
      if (fingerprint.algorithm() == IdempotencyProperties.FingerprintAlgorithm.SHA256) {
        return RequestFingerprinting.sha256();
      }
      return fingerprint.key() == null
          ? null
          : RequestFingerprinting.hmacSha256(fingerprint.key())
              .withPreviousTextKeys(fingerprint.previousKeys());
    }

    @Bean
    static IdempotentHandlerVerifier idempotentHandlerVerifier(
        ObjectProvider<RequestMappingHandlerMapping> mappings, IdempotencyProperties properties) {
      IdempotencyProperties.Http http = properties.http();
      boolean fingerprintChosen =
          http.fingerprint().algorithm() == IdempotencyProperties.FingerprintAlgorithm.SHA256
              || http.fingerprint().key() != null;
      return new IdempotentHandlerVerifier(mappings, !http.paths().isEmpty(), fingerprintChosen);
    }

    private static @Nullable Idempotent annotation(
        ObjectProvider<RequestMappingHandlerMapping> mappings, HttpServletRequest request) {
      // Safe methods are idempotent by definition; only look up handlers for the others.
      if (!UNSAFE_METHODS.contains(request.getMethod())) {
        return null;
      }
      Object previousPath = request.getAttribute(ServletRequestPathUtils.PATH_ATTRIBUTE);
      ServletRequestPathUtils.parseAndCache(request);
      try {
        for (RequestMappingHandlerMapping mapping : mappings) {
          HandlerExecutionChain chain = mapping.getHandler(request);
          if (chain != null && chain.getHandler() instanceof HandlerMethod method) {
            Idempotent annotation = method.getMethodAnnotation(Idempotent.class);
            return annotation != null
                ? annotation
                : AnnotatedElementUtils.findMergedAnnotation(
                    method.getBeanType(), Idempotent.class);
          }
        }
        return null;
      } catch (Exception e) {
        return null; // not mappable here; the DispatcherServlet will answer it
      } finally {
        if (previousPath instanceof RequestPath path) {
          ServletRequestPathUtils.setParsedRequestPath(path, request);
        } else {
          ServletRequestPathUtils.clearParsedRequestPath(request);
        }
      }
    }
  }
}
