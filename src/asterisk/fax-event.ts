/**
 * A fax as Asterisk reported it, whichever way it reached us (AGI session or fallback marker),
 * and the JSON body that carries it to `/_internal/asterisk/inbound`.
 */
import type { IncomingDocument } from '../domain/fax.js';

export interface AsteriskFaxEvent {
  uniqueid: string;
  /** `SUCCESS` or `FAILED`; an unset FAXSTATUS is reported as `FAILED`. */
  faxstatus: string;
  faxerror: string | null;
  faxpages: number | null;
  bitrate: string | null;
  resolution: string | null;
  faxmode: string | null;
  remote_station_id: string | null;
  local_station_id: string | null;
  from_number: string | null;
  from_name: string | null;
  to_number: string | null;
  tiff_path: string | null;
  tiff_pages: number | null;
  tiff_sha256: string | null;
  tiff_bytes: number | null;
  /** Why the document is missing, refused or damaged; null when it is fine. */
  tiff_problem: string | null;
  received_at: string;
  via: 'agi' | 'marker';
}

/**
 * Stores the event (and its checked document) durably; resolves once it is on disk, and only
 * then may Asterisk be acked. `created` is false for a fax already recorded.
 */
export type RecordFax = (event: AsteriskFaxEvent, document: IncomingDocument | null) => Promise<{ created: boolean }>;

/** The body as JSON: `deliveryFields` serialized once; those bytes are signed. */
export function deliveryBody(e: AsteriskFaxEvent, edge?: string): string {
  return JSON.stringify(deliveryFields(e, edge));
}

/**
 * The seed's six fields first, then faxbridge's extras; `edge` (--edge-name) when set, so the
 * receiver keys the fax by edge and UNIQUEID.
 */
export function deliveryFields(e: AsteriskFaxEvent, edge?: string): Record<string, string | number | null> {
  return {
    ...deliveryCore(e),
    ...(edge ? { edge } : {}),
  };
}

function deliveryCore(e: AsteriskFaxEvent): Record<string, string | number | null> {
  return {
    tiff_path: e.tiff_path,
    to_number: e.to_number,
    from_number: e.from_number,
    faxstatus: e.faxstatus,
    faxpages: e.faxpages ?? 0,
    uniqueid: e.uniqueid,
    faxerror: e.faxerror,
    remote_station_id: e.remote_station_id,
    local_station_id: e.local_station_id,
    from_name: e.from_name,
    faxmode: e.faxmode,
    bitrate: e.bitrate,
    resolution: e.resolution,
    tiff_pages: e.tiff_pages,
    tiff_sha256: e.tiff_sha256,
    tiff_problem: e.tiff_problem,
    received_at: e.received_at,
    via: e.via,
  };
}

/** Asterisk UNIQUEIDs are `<epoch>.<seq>`, optionally prefixed by a system name. */
export function isValidUniqueid(value: string): boolean {
  return /^[A-Za-z0-9_-]{0,64}?\d+\.\d+$/.test(value) && value.length <= 150;
}

export function parsePages(value: string | null | undefined): number | null {
  if (value === null || value === undefined || !/^\d{1,6}$/.test(value.trim())) return null;
  return Number(value.trim());
}
