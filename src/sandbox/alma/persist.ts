/** Keeps the sandbox's data in a JSON file: loaded at start, written (debounced, atomically) after changes. */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';

export class StateFile {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly snapshot: () => unknown,
    private readonly logger: Logger,
    private readonly delayMs = 50,
  ) {}

  /** The saved data, or undefined when there is no file yet (or it cannot be read: start fresh, say so). */
  load(): unknown {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn(
          { file: this.file, err: (e as Error).message },
          'alma sandbox: cannot read the state file',
        );
      }
      return undefined;
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      this.logger.warn(
        { file: this.file, err: (e as Error).message },
        'alma sandbox: state file is not JSON; ignored',
      );
      return undefined;
    }
  }

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes now if a write is pending, and waits for every write to finish. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.write();
    }
    await this.writing;
  }

  private write(): Promise<void> {
    // One write at a time, each of the newest snapshot; a temp file and rename keep the file whole.
    this.writing = this.writing.then(async () => {
      const tmp = `${this.file}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify(this.snapshot()));
        await rename(tmp, this.file);
      } catch (e) {
        this.logger.warn(
          { file: this.file, err: (e as Error).message },
          'alma sandbox: cannot write the state file',
        );
      }
    });
    return this.writing;
  }
}
