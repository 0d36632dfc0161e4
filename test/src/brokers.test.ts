import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import { buoyReadingSchema, mqttTopics, natsSubjects, readingId } from '@reefguard/core';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import { afterAll, describe, expect, inject, it } from 'vitest';

const { mqttUrl, natsUrl, redisUrl } = inject('stack');

const observedAt = '2024-02-20T03:00:00.000Z';
const reading = buoyReadingSchema.parse({
  schema_version: 1,
  id: readingId('davies-reef-wx', 'water_temperature', observedAt),
  site_id: '18-054',
  station_id: 'davies-reef-wx',
  parameter: 'water_temperature',
  value: 29.7,
  unit: 'degC',
  observed_at: observedAt,
  source: 'generated',
});

describe('brokers - private stack on loopback', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('MQTT - a QoS 1 reading published is received intact', async () => {
    const topic = mqttTopics.reading(reading.site_id, reading.station_id);
    const subscriber = await mqtt.connectAsync(mqttUrl, { clientId: 'test-sub', clean: true });
    const publisher = await mqtt.connectAsync(mqttUrl, { clientId: 'test-pub', clean: true });
    closers.push(
      () => subscriber.endAsync(),
      () => publisher.endAsync(),
    );
    const received = new Promise<Buffer>((resolve) =>
      subscriber.on('message', (_topic, payload) => resolve(payload)),
    );
    await subscriber.subscribeAsync(topic, { qos: 1 });
    // publishAsync resolves only once the broker's PUBACK for this packet arrived.
    const sent = await publisher.publishAsync(topic, JSON.stringify(reading), { qos: 1 });
    expect(sent?.cmd).toBe('publish');
    expect(sent && 'qos' in sent ? sent.qos : undefined).toBe(1);
    expect(buoyReadingSchema.parse(JSON.parse((await received).toString()))).toEqual(reading);
  });

  it('NATS JetStream - publish with a message id is stored once and consumed', async () => {
    const nc = await connectNats({ servers: natsUrl });
    closers.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const stream = `BROKERTEST${Date.now()}`;
    // A subject outside the product's streams: other tests may own READINGS on this server.
    const subject = `test.brokers.${natsSubjects.reading(reading.site_id)}.${Date.now()}`;
    await jsm.streams.add({ name: stream, subjects: [subject] });
    const js = jetstream(nc);
    const first = await js.publish(subject, JSON.stringify(reading), { msgID: reading.id });
    const again = await js.publish(subject, JSON.stringify(reading), { msgID: reading.id });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);

    await jsm.consumers.add(stream, { durable_name: 'test', ack_policy: 'explicit' });
    const consumer = await js.consumers.get(stream, 'test');
    const message = await consumer.next({ expires: 5_000 });
    expect(message).not.toBeNull();
    expect(buoyReadingSchema.parse(message?.json())).toEqual(reading);
    message?.ack();
    await jsm.streams.delete(stream);
  });

  it('Redis - a site hash is written with a TTL and read back', async () => {
    const redis = new Redis(redisUrl, { lazyConnect: true });
    await redis.connect();
    closers.push(() => redis.quit());
    const key = `reefguard:test:${Date.now()}`;
    await redis.multi().hset(key, { sst: '29.7', dhw: '4.2' }).expire(key, 60).exec();
    expect(await redis.hgetall(key)).toEqual({ sst: '29.7', dhw: '4.2' });
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    await redis.del(key);
  });
});
