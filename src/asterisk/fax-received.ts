/**
 * The `fax/received` AGI route, run from the hangup handler after ReceiveFAX: read the result,
 * check the TIFF, commit the event, and only then `SET VARIABLE FAXBRIDGE_ACK 1`.
 */
import type { AgiRoute } from '../agi/server.js';
import type { AgiSession } from '../agi/session.js';
import { maskNumber } from '../log/logger.js';
import { isValidUniqueid, type RecordFax } from './fax-event.js';
import { buildEvent, FAX_VARIABLES, type FaxVariables } from './read-fax.js';

export const AGI_SCRIPT = 'fax/received';
export const ACK_VARIABLE = 'FAXBRIDGE_ACK';

/** `error`: the session failed before an event could be built (bad UNIQUEID, Asterisk went away). */
type Outcome = 'acked' | 'duplicate' | 'store_failed' | 'ack_failed' | 'error';

export function faxReceivedRoute(deps: {
  spoolDir: string;
  recordFax: RecordFax;
  now: () => Date;
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

    const { event, document } = await buildEvent(deps.spoolDir, uniqueid, vars, session.env, deps.now(), 'agi');
    if (event.tiff_pages !== null && event.faxpages !== null && event.tiff_pages !== event.faxpages) {
      session.log.warn({ faxpages: event.faxpages, tiff_pages: event.tiff_pages }, 'fax.pages_mismatch');
    }
    if (event.tiff_problem && event.tiff_problem !== 'no file') {
      session.log.warn({ problem: event.tiff_problem }, 'fax.document_problem');
    }

    result.outcome = 'store_failed';
    try {
      const { created } = await deps.recordFax(event, document);
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
