/**
 * Prometheus metrics (prom-client), one registry per daemon. Modules report through the small
 * `Metrics` interface, so none of them depends on prom-client.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  agiSession(outcome: string, seconds: number): void;
  delivery(kind: 'outbox' | 'mail', outcome: 'delivered' | 'retry' | 'dead'): void;
  httpRequest(route: string, status: number): void;
  /** A group commit flushed `size` callers' work in one transaction. */
  commitBatch(size: number, seconds: number): void;
}

export interface OutboxGauges {
  pending: number;
  dead: number;
  oldestPendingAgeSeconds: number | null;
  mailPending: number;
  mailDead: number;
}

export function createMetrics(outbox: () => OutboxGauges): { metrics: Metrics; registry: Registry } {
  const registry = new Registry();
  const sessions = new Counter({
    name: 'faxbridge_agi_sessions_total',
    help: 'AGI fax/received sessions by outcome (acked, duplicate, store_failed, ack_failed, error)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'faxbridge_agi_session_duration_seconds',
    help: 'From the AGI header to the end of the session',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [registry],
  });
  const ackFailures = new Counter({
    name: 'faxbridge_agi_ack_failures_total',
    help: 'Sessions that ended without FAXBRIDGE_ACK=1 (Asterisk writes the fallback marker)',
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'faxbridge_deliveries_total',
    help: 'Delivery attempts by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const mails = new Counter({
    name: 'faxbridge_mail_total',
    help: 'Fax emails by outcome of each attempt (sent, retry, dead)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'faxbridge_mail_pending',
    help: 'Fax emails waiting to be sent',
    registers: [registry],
    collect() {
      this.set(outbox().mailPending);
    },
  });
  new Gauge({
    name: 'faxbridge_mail_dead',
    help: 'Fax emails the SMTP server refused for good (see faxbridge outbox list --state dead)',
    registers: [registry],
    collect() {
      this.set(outbox().mailDead);
    },
  });
  const requests = new Counter({
    name: 'faxbridge_webhook_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'faxbridge_signature_failures_total',
    help: 'Requests refused for a missing or invalid secret, signature or API key (401)',
    labelNames: ['route'],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'faxbridge_commit_batch_size',
    help: 'Callers whose work shared one durable commit (group commit)',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'faxbridge_commit_duration_seconds',
    help: 'One group commit: directory fsyncs, the transaction and its fsync',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  new Gauge({
    name: 'faxbridge_outbox_pending',
    help: 'Outbox rows waiting for delivery',
    registers: [registry],
    collect() {
      this.set(outbox().pending);
    },
  });
  new Gauge({
    name: 'faxbridge_outbox_dead',
    help: 'Outbox rows dead-lettered (see faxbridge outbox list --state dead)',
    registers: [registry],
    collect() {
      this.set(outbox().dead);
    },
  });
  new Gauge({
    name: 'faxbridge_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest undelivered outbox row (0 when none)',
    registers: [registry],
    collect() {
      this.set(outbox().oldestPendingAgeSeconds ?? 0);
    },
  });

  return {
    registry,
    metrics: {
      agiSession(outcome, seconds) {
        sessions.inc({ outcome });
        latency.observe(seconds);
        if (outcome !== 'acked' && outcome !== 'duplicate') ackFailures.inc();
      },
      delivery(kind, outcome) {
        if (kind === 'mail') mails.inc({ outcome: outcome === 'delivered' ? 'sent' : outcome });
        else deliveries.inc({ outcome });
      },
      commitBatch(size, seconds) {
        batchSize.observe(size);
        batchSeconds.observe(seconds);
      },
      httpRequest(route, status) {
        requests.inc({ route, status: String(status) });
        if (status === 401) authFailures.inc({ route });
      },
    },
  };
}
