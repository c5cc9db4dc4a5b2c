/** What Linux says about a process: CPU time used and resident memory, from /proc. */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Current (VmRSS) and peak (VmHWM) resident memory, in MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Waits until the process stops using CPU (work it does after the last ack counts too). */
export async function settled(pid: number, maxMs = 5000): Promise<void> {
  let last = cpuSeconds(pid);
  let quiet = 0;
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && quiet < 2) {
    await new Promise((r) => setTimeout(r, 250));
    const now = cpuSeconds(pid);
    quiet = now - last < 0.015 ? quiet + 1 : 0;
    last = now;
  }
}
