package dev.outboxkit.outbox.internal;

import dev.outboxkit.outbox.spi.PayloadSerializer;
import tools.jackson.databind.json.JsonMapper;

/** JSON payloads through a Jackson 3 mapper. */
public final class JacksonPayloadSerializer implements PayloadSerializer {

  private final JsonMapper mapper;

  public JacksonPayloadSerializer(JsonMapper mapper) {
    this.mapper = mapper;
  }

  @Override
  public byte[] serialize(Object payload) {
    return mapper.writeValueAsBytes(payload);
  }

  @Override
  public String toString() {
    return "JSON (Jackson)";
  }
}
