package dev.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyOutcome;
import dev.outboxkit.idempotency.IdempotencyPurger;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.outbox.OutboxSchemaException;
import dev.outboxkit.spring.autoconfigure.IdempotencyAutoConfiguration;
import dev.outboxkit.spring.autoconfigure.OutboxAutoConfiguration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.web.servlet.FilterRegistrationBean;

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
}
