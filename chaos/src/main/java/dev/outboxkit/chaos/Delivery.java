package dev.outboxkit.chaos;

/**
 * One record read back from the topic: its key, the event number from its payload, where it sits
 * and its timestamp (set by the relay's producer when it sent it).
 */
record Delivery(String key, int n, int kafkaPartition, long offset, long timestampMillis) {}
