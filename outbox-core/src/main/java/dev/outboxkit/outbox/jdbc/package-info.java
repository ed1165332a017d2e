/**
 * Plain-JDBC transactions for applications without a transaction framework; Spring applications use
 * the starter's binding instead.
 */
@NullMarked
package dev.outboxkit.outbox.jdbc;

import org.jspecify.annotations.NullMarked;
