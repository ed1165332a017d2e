package dev.outboxkit.spring.web;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.stereotype.Component;

/** Counts handler executions and lets tests make the handler fail after its writes. */
@Component
public class WorkProbe {
  final AtomicInteger executions = new AtomicInteger();
  final AtomicBoolean failAfterWrites = new AtomicBoolean();
}
