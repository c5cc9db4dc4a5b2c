/**
 * Baseline: ding-dong 0.1.7 (bench/package.json only; never a dependency of faxbridge) sending
 * the same 14 commands, with no durable work.
 *
 *   node ding-dong.js <commands.json>
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Context {
  onEvent(name: 'variables'): Promise<Record<string, string>>;
  sendCommand(command: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: string, listener: () => void): void;
}
type DingDong = (handler: (context: Context) => void) => { start(port: number, host: string): import('node:net').Server };

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench');
const AGIServer = createRequire(path.join(benchDir, 'package.json'))('ding-dong') as DingDong;
const commands = (JSON.parse(process.argv[2]!) as string[]).map((c) => c.replace(/\n$/, ''));

const server = AGIServer((context) => {
  context.on('error', () => {});
  void (async () => {
    await context.onEvent('variables');
    for (const command of commands) await context.sendCommand(command);
    await context.end();
  })().catch(() => {});
}).start(0, '127.0.0.1');
server.on('listening', () => console.log(JSON.stringify({ port: (server.address() as import('node:net').AddressInfo).port })));
