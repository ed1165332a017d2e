/**
 * The CDC relay: Debezium's embedded engine, its lease, start-up checks, the state and schema
 * history stores and the change decoder. Not API.
 *
 * <p>{@link dev.outboxkit.relay.internal.cdc.DatabaseOffsetStore} and {@link
 * dev.outboxkit.relay.internal.cdc.DatabaseSchemaHistory} are public because Debezium loads them by
 * class name (the engine properties {@code offset.storage} and {@code schema.history.internal});
 * {@link dev.outboxkit.relay.internal.cdc.CdcRelays} is the relay factory's entry. The user-facing
 * types stay in {@code dev.outboxkit.relay.cdc}.
 */
package dev.outboxkit.relay.internal.cdc;
