import path from 'node:path';
import { simulateFax, type SimulateResult } from '../../src/asterisk/simulate.js';
import { ASTERISK } from './fixtures.js';

/**
 * Plays one hangup-handler AGI session against a daemon, as `faxbridge simulate` does. `tiff`
 * names a recorded TIFF, copied into the spool as <uniqueid>.tiff like ReceiveFAX would leave it.
 */
export function sendFax(
  agiPort: number,
  spoolDir: string,
  uniqueid: string,
  options: { tiff?: string; status?: string; variables?: Record<string, string | undefined> } = {},
): Promise<SimulateResult> {
  return simulateFax({
    agi: { host: '127.0.0.1', port: agiPort },
    spoolDir,
    tiff: options.tiff ? path.join(ASTERISK, 'tiffs', options.tiff) : undefined,
    status: options.status ?? 'SUCCESS',
    from: '15551230000',
    callerName: 'Fax Sender',
    to: '15559870000',
    uniqueid,
    variables: options.variables,
  });
}
