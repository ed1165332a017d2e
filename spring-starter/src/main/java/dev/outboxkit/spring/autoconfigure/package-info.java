/** Spring Boot auto-configuration of OutboxKit. */
@NullMarked
package dev.outboxkit.spring.autoconfigure;

import org.jspecify.annotations.NullMarked;
