/**
 * The `fax/received` AGI route, run from the hangup handler after ReceiveFAX: read the result,
 * check the TIFF, commit the event, and only then `SET VARIABLE FAXBRIDGE_ACK 1`.
 */
import type { AgiRoute } from '../agi/server.js';
import type { AgiSession } from '../agi/session.js';
import { maskNumber } from '../log/logger.js';
import { examineFaxDocument } from './fax-document.js';
import { isValidUniqueid, parsePages, type AsteriskFaxEvent } from './fax-event.js';

export const AGI_SCRIPT = 'fax/received';
export const ACK_VARIABLE = 'FAXBRIDGE_ACK';
export const TO_VARIABLE = 'FAXBRIDGE_TO';

/**
 * Read in this order, one command each, exactly as the recorded sessions expect
 * (shared/fixtures/asterisk). FAXSTATUSSTRING is read for the log only.
 */
export const FAX_VARIABLES = [
  'FAXSTATUS',
  'FAXERROR',
  'FAXPAGES',
  'FAXBITRATE',
  'FAXRESOLUTION',
  'FAXMODE',
  'REMOTESTATIONID',
  'LOCALSTATIONID',
  'FAXFILE',
  'CALLERID(num)',
  'CALLERID(name)',
  TO_VARIABLE,
  'FAXSTATUSSTRING',
] as const;

export type FaxVariables = Partial<Record<(typeof FAX_VARIABLES)[number], string | undefined>>;

/** `error`: the session failed before an event could be built (bad UNIQUEID, Asterisk went away). */
type Outcome = 'acked' | 'duplicate' | 'store_failed' | 'ack_failed' | 'error';

/** Stores the event durably; resolves once it is on disk. `created` is false for a known UNIQUEID. */
export type RecordFax = (event: AsteriskFaxEvent) => Promise<{ created: boolean }> | { created: boolean };

export function faxReceivedRoute(deps: {
  spoolDir: string;
  recordFax: RecordFax;
  now?: () => Date;
  /** Told every session's outcome and duration (metrics). */
  onOutcome?: (outcome: string, seconds: number) => void;
}): AgiRoute {
  return async (session) => {
    const started = performance.now();
    const result: { outcome: Outcome } = { outcome: 'error' };
    try {
      await receive(session, started, result);
    } finally {
      deps.onOutcome?.(result.outcome, (performance.now() - started) / 1000);
    }
  };

  async function receive(session: AgiSession, started: number, result: { outcome: Outcome }): Promise<void> {
    const uniqueid = sessionUniqueid(session);
    const vars: FaxVariables = {};
    for (const name of FAX_VARIABLES) vars[name] = await session.getVariable(name);

    const event = await buildEvent(deps.spoolDir, uniqueid, vars, session.env, (deps.now ?? (() => new Date()))(), 'agi');
    if (event.tiff_pages !== null && event.faxpages !== null && event.tiff_pages !== event.faxpages) {
      session.log.warn({ faxpages: event.faxpages, tiff_pages: event.tiff_pages }, 'fax.pages_mismatch');
    }
    if (event.tiff_problem && event.tiff_problem !== 'no file') {
      session.log.warn({ problem: event.tiff_problem }, 'fax.document_problem');
    }

    result.outcome = 'store_failed';
    try {
      const { created } = await deps.recordFax(event);
      result.outcome = 'ack_failed';
      await session.setVariable(ACK_VARIABLE, '1');
      result.outcome = created ? 'acked' : 'duplicate';
    } finally {
      const { outcome } = result;
      const fields = {
        outcome,
        faxstatus: event.faxstatus,
        faxerror: event.faxerror,
        faxpages: event.faxpages,
        tiff_pages: event.tiff_pages,
        from: maskNumber(event.from_number),
        to: maskNumber(event.to_number),
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
      };
      if (outcome === 'acked' || outcome === 'duplicate') session.log.info(fields, 'fax.received');
      else session.log.error(fields, 'fax.received');
    }
  }
}

/** The one AGI argument is `${UNIQUEID}`; the header carries it too and must agree. */
function sessionUniqueid(session: AgiSession): string {
  const fromArg = session.args[0];
  const fromHeader = session.env['agi_uniqueid'];
  const id = fromArg || fromHeader;
  if (!id || !isValidUniqueid(id)) throw new Error(`not an Asterisk UNIQUEID: ${JSON.stringify(id ?? '')}`);
  if (fromHeader && fromArg && fromHeader !== fromArg) {
    session.log.warn({ arg: fromArg, header: fromHeader }, 'fax.uniqueid_mismatch');
  }
  return id;
}

/** The one way an event is made from channel variables, for the AGI route and the marker alike. */
export async function buildEvent(
  spoolDir: string,
  uniqueid: string,
  v: FaxVariables,
  env: Readonly<Record<string, string>>,
  now: Date,
  via: AsteriskFaxEvent['via'],
): Promise<AsteriskFaxEvent> {
  const document = await examineFaxDocument(spoolDir, v.FAXFILE, uniqueid);
  return {
    uniqueid,
    faxstatus: v.FAXSTATUS || 'FAILED',
    faxerror: v.FAXERROR || null,
    faxpages: parsePages(v.FAXPAGES),
    bitrate: v.FAXBITRATE || null,
    resolution: v.FAXRESOLUTION || null,
    faxmode: v.FAXMODE || null,
    remote_station_id: v.REMOTESTATIONID || null,
    local_station_id: v.LOCALSTATIONID || null,
    from_number: v['CALLERID(num)'] || null,
    from_name: v['CALLERID(name)'] || null,
    to_number: v[TO_VARIABLE] || dialedNumber(env),
    ...document,
    received_at: now.toISOString(),
    via,
  };
}

/** Without FAXBRIDGE_TO, the DNID, else the extension (a hangup handler's is `s`, so useless). */
function dialedNumber(env: Readonly<Record<string, string>>): string | null {
  for (const v of [env['agi_dnid'], env['agi_extension']]) {
    if (v && v !== 'unknown' && v !== 's' && v !== 'h') return v;
  }
  return null;
}
