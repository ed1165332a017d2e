package dev.outboxkit.spring.autoconfigure;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Operating the relay, under {@code outbox.relay.management.*}.
 *
 * @param operatorRole The role (without ROLE_) a caller authenticated by Spring Security needs to
 *     replay or purge parked events through the outboxparked actuator endpoint. Without Spring
 *     Security replay and purge are refused; listing stays available.
 */
@ConfigurationProperties("outbox.relay.management")
public record RelayManagementProperties(@DefaultValue("OUTBOX_OPERATOR") String operatorRole) {}
