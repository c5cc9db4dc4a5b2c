/**
 * The one way an event is made from channel variables, for the AGI route and the marker alike:
 * which variables, in which order, and what an unset one means.
 */
import type { IncomingDocument } from '../domain/fax.js';
import { examineFaxDocument } from './fax-document.js';
import { parsePages, type AsteriskFaxEvent } from './fax-event.js';

export const TO_VARIABLE = 'FAXBRIDGE_TO';

/**
 * Read in this order, one command each, exactly as the recorded sessions expect
 * (test/fixtures/asterisk). FAXSTATUSSTRING is read for the log only.
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

export async function buildEvent(
  spoolDir: string,
  uniqueid: string,
  v: FaxVariables,
  env: Readonly<Record<string, string>>,
  now: Date,
  via: AsteriskFaxEvent['via'],
): Promise<{ event: AsteriskFaxEvent; document: IncomingDocument | null }> {
  const { facts, document } = await examineFaxDocument(spoolDir, v.FAXFILE, uniqueid);
  const event: AsteriskFaxEvent = {
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
    ...facts,
    received_at: now.toISOString(),
    via,
  };
  return { event, document };
}

/** Without FAXBRIDGE_TO, the DNID, else the extension (a hangup handler's is `s`, so useless). */
function dialedNumber(env: Readonly<Record<string, string>>): string | null {
  for (const v of [env['agi_dnid'], env['agi_extension']]) {
    if (v && v !== 'unknown' && v !== 's' && v !== 'h') return v;
  }
  return null;
}
