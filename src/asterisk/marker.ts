/**
 * The fallback marker `${FAXFILE}.pending` the dialplan writes when the ack is missing
 * (reference/agi.md §9): one line, no newline, `key=${URIENCODE(value)}` joined by `&`, keys in
 * this order. Pure: bytes in, fields out.
 */
import { TO_VARIABLE, type FaxVariables } from './read-fax.js';

export const MARKER_SUFFIX = '.pending';

/** Marker key → the channel variable the dialplan encodes into it. */
export const MARKER_FIELDS = [
  ['uniqueid', 'UNIQUEID'],
  ['faxstatus', 'FAXSTATUS'],
  ['faxpages', 'FAXPAGES'],
  ['faxerror', 'FAXERROR'],
  ['from', 'CALLERID(num)'],
  ['to', TO_VARIABLE],
  ['remote_station_id', 'REMOTESTATIONID'],
  ['faxmode', 'FAXMODE'],
  ['bitrate', 'FAXBITRATE'],
  ['resolution', 'FAXRESOLUTION'],
  ['localstationid', 'LOCALSTATIONID'],
  ['from_name', 'CALLERID(name)'],
  ['agistatus', 'AGISTATUS'],
] as const;

export type MarkerKey = (typeof MARKER_FIELDS)[number][0];
export type MarkerFields = Record<MarkerKey, string>;

const AGISTATUS_VALUES = ['SUCCESS', 'FAILURE', 'HANGUP', 'NOTFOUND'];

/**
 * `null` while the marker is not complete: FILE() is fopen("w") + fwrite, so a reader can see an
 * empty or cut file. Complete means every key, in order, and a whole AGISTATUS value at the end.
 */
export function parseMarker(bytes: Buffer): MarkerFields | null {
  const text = bytes.toString('latin1').replace(/\r?\n$/, '');
  const pairs = text.split('&');
  if (pairs.length !== MARKER_FIELDS.length) return null;
  const fields = {} as MarkerFields;
  for (const [i, pair] of pairs.entries()) {
    const eq = pair.indexOf('=');
    const key = MARKER_FIELDS[i]![0];
    if (eq === -1 || pair.slice(0, eq) !== key) return null;
    fields[key] = decodeComponent(pair.slice(eq + 1));
  }
  return AGISTATUS_VALUES.includes(fields.agistatus) ? fields : null;
}

/**
 * decodeURIComponent, except that bytes which are not UTF-8 (a SIP caller name can carry any)
 * become U+FFFD instead of throwing, the same as on the AGI path.
 */
export function decodeComponent(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    const bytes: number[] = [];
    for (let i = 0; i < encoded.length; i++) {
      const hex = encoded.slice(i + 1, i + 3);
      if (encoded[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(encoded.charCodeAt(i) & 0xff);
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
}

/** The marker's fields as the AGI route would have read them; empty means unset (the dialplan cannot tell). */
export function markerVariables(fields: MarkerFields, faxfile: string): FaxVariables {
  const vars: FaxVariables = { FAXFILE: faxfile };
  for (const [key, variable] of MARKER_FIELDS) {
    if (variable === 'UNIQUEID' || variable === 'AGISTATUS') continue;
    vars[variable] = fields[key] === '' ? undefined : fields[key];
  }
  return vars;
}
