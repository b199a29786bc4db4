/** Whether each vendor file source of an account can be listed (the same file stores the follow-up uses). */
import type { Account, FileSource } from '../config/schema';
import { openFileStore } from '../files';
import type { Logger } from '../logging';
import type { Finding } from './report';

function describe(source: FileSource): string {
  return source.type === 'local'
    ? `the folder ${source.path}`
    : `${source.type}://${source.host}:${source.port}${source.dir}`;
}

function fixFor(source: FileSource): string {
  switch (source.type) {
    case 'local':
      return 'create the folder (the vendor, or its file transfer, puts files there) or correct the path';
    case 'ftp':
      return 'check host, port, user, dir and the password secret with the vendor; secure: true for FTPS';
    case 'sftp':
      return 'check host, port, user, dir, the password or privateKey secret, and hostKeySha256 (ssh-keyscan | ssh-keygen -lf -)';
  }
}

export async function checkFileSources(
  accountCode: string,
  account: Account,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Finding[]> {
  const out: Finding[] = [];
  for (const kind of ['edi', 'marc'] as const) {
    const source = account[kind].source;
    const check = `files.${kind}`;
    const setting = `accounts.${accountCode}.${kind}.source`;
    const what = kind === 'edi' ? 'EDI files (status and invoices)' : 'MARC records';
    if (!source) {
      out.push({
        check,
        outcome: 'ok',
        account: accountCode,
        message: `no source of the vendor's ${what} is configured (that follow-up is off)`,
      });
      continue;
    }
    let store;
    try {
      store = openFileStore(source, logger, env);
      const files = await store.list();
      out.push({
        check,
        outcome: 'ok',
        account: accountCode,
        setting,
        message: `the source of the vendor's ${what}, ${describe(source)}, lists ${files.length} file(s)`,
      });
    } catch (e) {
      out.push({
        check,
        outcome: 'problem',
        account: accountCode,
        setting,
        message: `the source of the vendor's ${what}, ${describe(source)}, cannot be listed: ${(e as Error).message}`,
        fix: fixFor(source),
      });
    } finally {
      await store?.close().catch(() => undefined);
    }
  }
  return out;
}
