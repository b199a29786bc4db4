/** A child process of a test printing JSON lines (pino logs, or a fixture's events), awaited event by event. */
import { spawn, type ChildProcess } from 'node:child_process';
import { testAddress } from './temporal';

export type Event = Record<string, unknown>;

export interface Child {
  child: ChildProcess;
  events: Event[];
  /** Resolves with the first event matching, once it has been printed. */
  next(pred: (e: Event) => boolean): Promise<Event>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>;
}

export function startChild(args: string[], env: Record<string, string>, cwd: string): Child {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME!, TEMPORAL_ADDRESS: testAddress(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Event[] = [];
  const waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  let buf = '';
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    stdout += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let e: Event;
      try {
        e = JSON.parse(line) as Event;
      } catch {
        continue;
      }
      events.push(e);
      for (const w of [...waiters])
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
    stdout: string;
  }>((r) => child.on('close', (code, signal) => r({ code, signal, stderr, stdout })));
  const next = (pred: (e: Event) => boolean) => {
    const seen = events.find(pred);
    if (seen) return Promise.resolve(seen);
    return Promise.race([
      new Promise<Event>((resolve) => waiters.push({ pred, resolve })),
      exited.then((x) => {
        throw new Error(`child exited (${x.code ?? x.signal}) first: ${x.stderr}\n${JSON.stringify(events)}`);
      }),
    ]);
  };
  return { child, events, next, exited };
}
