/**
 * What `faxbridge check` needs to know of the systemd unit, before the unit has ever started:
 * the credentials it will load and the state directory it will create. Pure: text in, facts out.
 */

export interface UnitFacts {
  /** `LoadCredential=NAME:SOURCE` lines: what $CREDENTIALS_DIRECTORY/NAME will hold. */
  credentials: Map<string, string>;
  /** `StateDirectory=` names, created under /var/lib by systemd at start. */
  stateDirectories: string[];
}

export const DEFAULT_UNIT_FILE = '/etc/systemd/system/faxbridge.service';

export function parseUnit(text: string): UnitFacts {
  const facts: UnitFacts = { credentials: new Map(), stateDirectories: [] };
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    if (eq === -1) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'LoadCredential') {
      const colon = value.indexOf(':');
      if (colon > 0) facts.credentials.set(value.slice(0, colon), value.slice(colon + 1));
    } else if (key === 'StateDirectory') {
      facts.stateDirectories.push(...value.split(/\s+/).filter(Boolean).map((d) => d.split(':')[0]!));
    }
  }
  return facts;
}
