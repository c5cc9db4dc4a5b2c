/**
 * Baselines: the least a FastAGI server can do for this dialplan. It sends the same 14 commands
 * as faxbridge and acks, with no checks, no TIFF read and no store. With `fsync`, it also appends
 * one line per fax to a file and fsyncs it before the ack: the cost of one durable write each.
 *
 *   node bare.js none|fsync <commands.json> <journal file>
 */
import { openSync, writeSync, fsyncSync } from 'node:fs';
import net from 'node:net';

const [mode, commandsJson, journalPath] = process.argv.slice(2) as [string, string, string];
const commands = JSON.parse(commandsJson) as string[];
const ack = commands.length - 1;
const journal = mode === 'fsync' ? openSync(journalPath, 'a') : undefined;

const server = net.createServer((socket) => {
  let buffered = '';
  let header = true;
  let i = 0;
  socket.on('data', (chunk) => {
    buffered += chunk.toString('utf8');
    if (header) {
      const end = buffered.indexOf('\n\n');
      if (end === -1) return;
      buffered = buffered.slice(end + 2);
      header = false;
      socket.write(commands[i++]!);
      return;
    }
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      buffered = buffered.slice(nl + 1);
      if (i === ack && journal !== undefined) {
        writeSync(journal, `${Date.now()} fax\n`);
        fsyncSync(journal);
      }
      if (i < commands.length) socket.write(commands[i++]!);
      else socket.end();
    }
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as net.AddressInfo).port })));
