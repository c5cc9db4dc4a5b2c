/**
 * Plays Asterisk's side of the hangup-handler AGI against a running daemon, the way the recorded
 * sessions do, and reports whether FAXBRIDGE_ACK came back. It puts the TIFF where ReceiveFAX
 * would (the spool must exist: it never creates directories).
 */
import net from 'node:net';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createLineReader, parseArgs } from '../agi/protocol.js';
import { ACK_VARIABLE, AGI_SCRIPT } from './fax-received.js';
import { TO_VARIABLE } from './read-fax.js';
import { inspectTiff } from '../documents/tiff.js';

export interface SimulateOptions {
  agi: { host: string; port: number };
  spoolDir: string;
  tiff?: string;
  status: string;
  pages?: number;
  from: string;
  callerName: string;
  to: string;
  uniqueid?: string;
  timeoutMs?: number;
  /** Channel variables to answer differently (undefined: unset), e.g. a FAXFILE elsewhere. */
  variables?: Record<string, string | undefined>;
}

export interface SimulateResult {
  uniqueid: string;
  acked: boolean;
  agistatus: 'SUCCESS' | 'FAILURE';
  commands: string[];
  faxfile: string;
}

export async function simulateFax(o: SimulateOptions): Promise<SimulateResult> {
  const uniqueid = o.uniqueid ?? `${Math.floor(Date.now() / 1000)}.${Math.floor(Math.random() * 10000)}`;
  const faxfile = path.join(o.spoolDir, `${uniqueid}.tiff`);
  let pages = o.pages ?? 0;
  if (o.tiff) {
    await copyFile(o.tiff, faxfile);
    if (o.pages === undefined) pages = inspectTiff(await readFile(faxfile)).pages.length;
  }
  const variables: Record<string, string | undefined> = {
    FAXSTATUS: o.status,
    FAXERROR: o.status === 'SUCCESS' ? undefined : 'The call dropped prematurely',
    FAXPAGES: String(pages),
    FAXBITRATE: '14400',
    FAXRESOLUTION: '8031x7700',
    FAXMODE: 'audio',
    REMOTESTATIONID: o.from,
    LOCALSTATIONID: o.to,
    FAXFILE: faxfile,
    'CALLERID(num)': o.from,
    'CALLERID(name)': o.callerName,
    [TO_VARIABLE]: o.to,
    FAXSTATUSSTRING: o.status === 'SUCCESS' ? 'OK' : 'The call dropped prematurely',
    ...o.variables,
  };
  const header = [
    'agi_network: yes',
    `agi_network_script: ${AGI_SCRIPT}`,
    `agi_request: agi://${o.agi.host}:${o.agi.port}/${AGI_SCRIPT}`,
    `agi_channel: Local/${o.to}@faxbridge-inbound-00000001;2`,
    'agi_language: en',
    'agi_type: Local',
    `agi_uniqueid: ${uniqueid}`,
    'agi_version: faxbridge-simulate',
    `agi_callerid: ${o.from}`,
    `agi_calleridname: ${o.callerName}`,
    'agi_callingpres: 0',
    'agi_callingani2: 0',
    'agi_callington: 0',
    'agi_callingtns: 0',
    'agi_dnid: unknown',
    'agi_rdnis: unknown',
    'agi_context: faxbridge-post',
    'agi_extension: s',
    'agi_priority: 2',
    'agi_enhanced: 0.0',
    'agi_accountcode: ',
    'agi_threadid: 1',
    `agi_arg_1: ${uniqueid}`,
    '',
    '',
  ].join('\n');

  return new Promise((resolve, reject) => {
    const socket = net.connect(o.agi.port, o.agi.host);
    const reader = createLineReader();
    const commands: string[] = [];
    let agistatus: SimulateResult['agistatus'] = 'SUCCESS';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${o.timeoutMs ?? 10_000} ms`)), o.timeoutMs ?? 10_000);
    socket.on('connect', () => socket.write(header));
    socket.on('data', (chunk: Buffer) => {
      for (const line of reader.push(chunk)) {
        commands.push(line);
        if (/^failure/i.test(line)) {
          agistatus = 'FAILURE';
          continue;
        }
        socket.write(`${answer(parseArgs(line), variables)}\n`);
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve({ uniqueid, acked: variables[ACK_VARIABLE] === '1', agistatus, commands, faxfile });
    });
  });
}

/** Dead-channel rules of a hangup handler: variables work, channel commands get 511. */
function answer(words: string[], variables: Record<string, string | undefined>): string {
  const [a = '', b = '', name = '', value = ''] = words;
  const cmd = `${a} ${b}`.toUpperCase();
  if (cmd === 'GET VARIABLE') {
    const v = variables[name];
    return v === undefined ? '200 result=0' : `200 result=1 (${v})`;
  }
  if (cmd === 'SET VARIABLE') {
    variables[name] = value;
    return '200 result=1';
  }
  if (a.toUpperCase() === 'VERBOSE' || a.toUpperCase() === 'NOOP') return '200 result=1';
  if (['ANSWER', 'HANGUP', 'CHANNEL'].includes(a.toUpperCase())) return '511 Command Not Permitted on a dead channel or intercept routine';
  return '510 Invalid or unknown command';
}
