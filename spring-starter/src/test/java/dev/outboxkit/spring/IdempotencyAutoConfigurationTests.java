package dev.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyOutcome;
import dev.outboxkit.idempotency.IdempotencyPurger;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.web.IdempotencyScopeResolver;
import dev.outboxkit.outbox.OutboxSchemaException;
import dev.outboxkit.spring.autoconfigure.IdempotencyAutoConfiguration;
import dev.outboxkit.spring.autoconfigure.IdempotencyProperties;
import dev.outboxkit.spring.autoconfigure.OutboxAutoConfiguration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;

@ExtendWith(OutputCaptureExtension.class)
class IdempotencyAutoConfigurationTests {

  private final AutoConfigurations configurations =
      AutoConfigurations.of(
          DataSourceAutoConfiguration.class,
          DataSourceTransactionManagerAutoConfiguration.class,
          TransactionAutoConfiguration.class,
          OutboxAutoConfiguration.class,
          IdempotencyAutoConfiguration.class);

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(configurations)
          .withPropertyValues(
              "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
              "outbox.store.auto-create=true",
              "outbox.idempotency.auto-create=true");

  @Test
  void givesIdempotencyInboxAndPurgerButNoFilterOutsideWebApplications() {
    runner.run(
        context -> {
          assertThat(context).hasNotFailed();
          assertThat(context).hasSingleBean(Idempotency.class);
          assertThat(context).hasSingleBean(Inbox.class);
          assertThat(context).hasSingleBean(IdempotencyPurger.class);
          assertThat(context).doesNotHaveBean(FilterRegistrationBean.class);
        });
  }

  @Test
  void registersTheHttpFilterInServletApplications() {
    new WebApplicationContextRunner()
        .withConfiguration(configurations)
        .withPropertyValues(
            "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
            "outbox.store.auto-create=true",
            "outbox.idempotency.auto-create=true")
        .run(
            context -> assertThat(context).hasNotFailed().hasBean("idempotencyFilterRegistration"));
  }

  @Test
  void refusesToStartWithAnAsynchronousIdempotentHandler() {
    new WebApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(
                DataSourceAutoConfiguration.class,
                DataSourceTransactionManagerAutoConfiguration.class,
                TransactionAutoConfiguration.class,
                org.springframework.boot.webmvc.autoconfigure.DispatcherServletAutoConfiguration
                    .class,
                org.springframework.boot.webmvc.autoconfigure.WebMvcAutoConfiguration.class,
                OutboxAutoConfiguration.class,
                IdempotencyAutoConfiguration.class))
        .withPropertyValues(
            "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
            "outbox.store.auto-create=true",
            "outbox.idempotency.auto-create=true")
        .withUserConfiguration(AsyncController.class)
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasStackTraceContaining("@Idempotent handlers must answer synchronously")
                    .hasStackTraceContaining("authorizeLater"));
  }

  @org.springframework.web.bind.annotation.RestController
  static class AsyncController {
    @dev.outboxkit.idempotency.web.Idempotent
    @org.springframework.web.bind.annotation.PostMapping("/later")
    public java.util.concurrent.Callable<String> authorizeLater() {
      return () -> "too late";
    }
  }

  @Test
  void backsOffForTheApplicationsOwnBeansAndCanSkipThePurge() {
    Idempotency own =
        new Idempotency() {
          @Override
          public <T> IdempotencyOutcome<T> execute(
              dev.outboxkit.idempotency.IdempotencyKey key,
              String fingerprint,
              java.util.Collection<String> earlierFingerprints,
              Class<T> resultType,
              java.util.function.Supplier<T> work) {
            return new IdempotencyOutcome.InFlight<>(key);
          }
        };
    runner
        .withBean(Idempotency.class, () -> own)
        .withPropertyValues("outbox.idempotency.purge.enabled=false")
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context.getBean(Idempotency.class)).isSameAs(own);
              assertThat(context).doesNotHaveBean("idempotencyPurgeScheduler");
              assertThat(context).hasSingleBean(IdempotencyPurger.class);
            });
  }

  @Test
  void needsTheIdempotencyModuleOnTheClasspath() {
    runner
        .withClassLoader(new FilteredClassLoader(Idempotency.class))
        .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean("idempotency"));
  }

  @Test
  void theFilterRunsAfterSpringSecurityAndHonoursItsSwitch() {
    WebApplicationContextRunner web =
        new WebApplicationContextRunner()
            .withConfiguration(configurations)
            .withPropertyValues(
                "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
                "outbox.store.auto-create=true",
                "outbox.idempotency.auto-create=true");
    web.run(
        context ->
            assertThat(
                    context
                        .getBean("idempotencyFilterRegistration", FilterRegistrationBean.class)
                        .getOrder())
                .isGreaterThan(-100)); // Spring Security's filter chain order
    web.withPropertyValues("outbox.idempotency.http.enabled=false")
        .run(context -> assertThat(context).doesNotHaveBean("idempotencyFilterRegistration"));
  }

  @Test
  void isOffWhenDisabledOrWithoutTheOutbox() {
    runner
        .withPropertyValues("outbox.idempotency.enabled=false")
        .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(Idempotency.class));
    runner
        .withPropertyValues("outbox.enabled=false")
        .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(Idempotency.class));
  }

  @Test
  void failsAtStartupNamingABadPropertyOrAMissingTable() {
    runner
        .withPropertyValues("outbox.idempotency.ttl=0s")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasStackTraceContaining("outbox.idempotency.ttl must be positive"));
    runner
        .withPropertyValues("outbox.idempotency.http.max-body-size=0B")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasStackTraceContaining("outbox.idempotency.http.max-body-size"));
    runner
        .withPropertyValues("outbox.idempotency.auto-create=false")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .isInstanceOf(OutboxSchemaException.class)
                    .hasMessageContaining(
                        "Idempotency key table 'idempotency_key' does not exist"));
  }

  @Test
  void refusesCredentialHeadersInReplayedHeadersNamingTheProperty() {
    for (String header : new String[] {"Set-Cookie", "Authorization", "proxy-authorization"}) {
      runner
          .withPropertyValues("outbox.idempotency.http.replayed-headers=Content-Type," + header)
          .run(
              context ->
                  assertThat(context)
                      .getFailure()
                      .hasStackTraceContaining(
                          "outbox.idempotency.http.replayed-headers must not contain " + header));
    }
  }

  @Test
  void idempotentEndpointsNeedAFingerprintKeyOrAnExplicitSha256() {
    WebApplicationContextRunner web =
        new WebApplicationContextRunner()
            .withConfiguration(configurations)
            .withPropertyValues(
                "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
                "outbox.store.auto-create=true",
                "outbox.idempotency.auto-create=true",
                "outbox.idempotency.http.paths=/payments/**");
    web.run(
        context ->
            assertThat(context)
                .getFailure()
                .hasStackTraceContaining("outbox.idempotency.http.fingerprint.key is not set")
                .hasStackTraceContaining("outbox.idempotency.http.fingerprint.algorithm=sha256"));
    web.withPropertyValues("outbox.idempotency.http.fingerprint.algorithm=sha256")
        .run(context -> assertThat(context).hasNotFailed());
    String key = "a-secret-fingerprint-key-0123456789abcdef";
    web.withPropertyValues("outbox.idempotency.http.fingerprint.key=" + key)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              assertThat(context.getBean(IdempotencyProperties.class).toString())
                  .doesNotContain(key);
            });
    web.withPropertyValues("outbox.idempotency.http.fingerprint.key=too-short")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasStackTraceContaining(
                        "outbox.idempotency.http.fingerprint.key must have at least 32 bytes but"
                            + " has 9"));
  }

  /** Issue 20: the fingerprint key ring, bound from properties, its secrets never shown. */
  @Test
  void previousFingerprintKeysAreBoundCheckedAndNeverShown() {
    WebApplicationContextRunner web =
        new WebApplicationContextRunner()
            .withConfiguration(configurations)
            .withPropertyValues(
                "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
                "outbox.store.auto-create=true",
                "outbox.idempotency.auto-create=true",
                "outbox.idempotency.http.paths=/payments/**");
    String current = "the-current-fingerprint-key-0123456789ab";
    String previous = "the-previous-fingerprint-key-0123456789a";
    web.withPropertyValues(
            "outbox.idempotency.http.fingerprint.key=" + current,
            "outbox.idempotency.http.fingerprint.previous-keys[0]=" + previous)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              IdempotencyProperties.Fingerprint fingerprint =
                  context.getBean(IdempotencyProperties.class).http().fingerprint();
              assertThat(fingerprint.previousKeys()).containsExactly(previous);
              assertThat(context.getBean(IdempotencyProperties.class).toString())
                  .contains("previousKeys=1")
                  .doesNotContain(current)
                  .doesNotContain(previous);
            });
    web.withPropertyValues(
            "outbox.idempotency.http.fingerprint.key=" + current,
            "outbox.idempotency.http.fingerprint.previous-keys=" + previous + ",old-and-short")
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasStackTraceContaining(
                        "outbox.idempotency.http.fingerprint.previous-keys[1] must have at least 32"
                            + " bytes but has 13")
                    .satisfies(
                        failure ->
                            assertThat(stackTrace(failure))
                                .doesNotContain("old-and-short")
                                .doesNotContain(current)));
    web.withPropertyValues("outbox.idempotency.http.fingerprint.previous-keys=" + previous)
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .hasStackTraceContaining(
                        "outbox.idempotency.http.fingerprint.previous-keys is set but"
                            + " outbox.idempotency.http.fingerprint.key is not"));
  }

  private static String stackTrace(Throwable failure) {
    java.io.StringWriter text = new java.io.StringWriter();
    failure.printStackTrace(new java.io.PrintWriter(text));
    return text.toString();
  }

  @Test
  void anApplicationWithoutIdempotentEndpointsNeedsNoFingerprintSetting() {
    new WebApplicationContextRunner()
        .withConfiguration(configurations)
        .withPropertyValues(
            "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
            "outbox.store.auto-create=true",
            "outbox.idempotency.auto-create=true")
        .run(context -> assertThat(context).hasNotFailed());
  }

  @Test
  void warnsAtStartUpWhenTheFilterHasNoSourceOfCallers(CapturedOutput output) {
    WebApplicationContextRunner web =
        new WebApplicationContextRunner()
            .withConfiguration(configurations)
            .withPropertyValues(
                "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
                "outbox.store.auto-create=true",
                "outbox.idempotency.auto-create=true");
    web.run(context -> assertThat(context).hasNotFailed());
    assertThat(output).contains("The Idempotency-Key filter has no source of callers");
    web.withPropertyValues("outbox.idempotency.http.shared-anonymous-scope=true")
        .run(context -> assertThat(context).hasNotFailed());
    assertThat(output)
        .contains("outbox.idempotency.http.shared-anonymous-scope=true: keyed requests without");
  }

  @Test
  void aScopeResolverBeanScopesTheKeys() throws Exception {
    new WebApplicationContextRunner()
        .withConfiguration(configurations)
        .withPropertyValues(
            "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
            "outbox.store.auto-create=true",
            "outbox.idempotency.auto-create=true",
            "outbox.idempotency.http.paths=/payments/**",
            "outbox.idempotency.http.fingerprint.algorithm=sha256")
        .withBean(
            IdempotencyScopeResolver.class,
            () -> IdempotencyScopeResolver.of("tenant:", r -> r.getHeader("X-Tenant")))
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              jakarta.servlet.Filter filter =
                  context
                      .getBean("idempotencyFilterRegistration", FilterRegistrationBean.class)
                      .getFilter();
              MockHttpServletRequest request = new MockHttpServletRequest("POST", "/payments/1");
              request.addHeader("Idempotency-Key", "k-1");
              request.addHeader("X-Tenant", "acme");
              request.setContentType("application/json");
              request.setContent("{}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
              MockHttpServletResponse response = new MockHttpServletResponse();
              filter.doFilter(
                  request,
                  response,
                  (req, res) -> ((jakarta.servlet.http.HttpServletResponse) res).setStatus(201));
              assertThat(response.getStatus()).isEqualTo(201);
              assertThat(
                      new org.springframework.jdbc.core.JdbcTemplate(
                              context.getBean(javax.sql.DataSource.class))
                          .queryForObject(
                              "SELECT scope FROM idempotency_key WHERE idem_key = 'k-1'",
                              String.class))
                  .isEqualTo("tenant:acme");
            });
  }
}
