/** `rto edi run`, `rto overlay run`, `rto schedules sync`. */
import { EXIT } from './args';

export async function followUpCommand(cmd: string, _args: string[]): Promise<number> {
  process.stderr.write(`${cmd}: not available yet\n`);
  return EXIT.failure;
}
