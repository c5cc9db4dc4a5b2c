/**
 * One stack of close functions: each part registers how to close itself as soon as it is open,
 * and the stack unwinds in reverse, on a failed start and on stop alike, so the order is the
 * start order backwards by construction.
 */
import type { Logger } from 'pino';

export interface Teardown {
  /** Registers `close` to run before everything registered earlier. */
  push(name: string, close: () => unknown): void;
  /** Runs every close function, newest first; one failing does not stop the others. */
  unwind(): Promise<void>;
}

export function createTeardown(log: Logger): Teardown {
  const stack: Array<{ name: string; close: () => unknown }> = [];
  return {
    push(name, close) {
      stack.push({ name, close });
    },
    async unwind() {
      while (stack.length > 0) {
        const { name, close } = stack.pop()!;
        try {
          await close();
        } catch (err) {
          log.error({ part: name, err: String(err) }, 'shutdown.close_failed');
        }
      }
    },
  };
}
