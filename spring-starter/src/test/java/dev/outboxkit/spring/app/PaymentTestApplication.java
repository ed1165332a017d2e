package dev.outboxkit.spring.app;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/** A small payment application: JdbcTemplate, JPA and the outbox in one transaction. */
@SpringBootApplication
public class PaymentTestApplication {}
