package dev.outboxkit.chaos;

/**
 * One record read back from the topic: its key, the event number from its payload, where it sits
 * and when the broker appended it (the kit's topic has {@code
 * message.timestamp.type=LogAppendTime}).
 */
record Delivery(String key, int n, int kafkaPartition, long offset, long timestampMillis) {}
