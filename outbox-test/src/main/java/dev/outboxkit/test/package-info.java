/**
 * Real servers for tests, without Docker: embedded PostgreSQL, a MariaDB server process, a MySQL 8
 * server process, an in-JVM Kafka broker (KRaft) and H2; MySQL 8 through Testcontainers where the
 * process cannot run and a Docker engine exists.
 *
 * <p>Every server starts at most once per JVM, on first use, and stops when the JVM exits. Tests
 * get isolation through a fresh database per test class ({@link
 * dev.outboxkit.test.TestDatabaseExtension}). Environment variables or system properties point the
 * same tests at external servers instead; see {@link dev.outboxkit.test.TestServers}.
 */
@NullMarked
package dev.outboxkit.test;

import org.jspecify.annotations.NullMarked;
