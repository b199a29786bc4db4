/** Opens the file store a configuration's `source` names, resolving its secrets at the moment of use. */
import type { FileSource } from '../config/schema';
import { resolveSecret } from '../config/load';
import type { Logger } from '../logging';
import { FtpFileStore } from './ftp-store';
import { LocalFileStore } from './local-store';
import { SftpFileStore } from './sftp-store';
import type { FileStore } from './store';

export function openFileStore(
  source: FileSource,
  logger?: Logger,
  env: NodeJS.ProcessEnv = process.env,
): FileStore {
  switch (source.type) {
    case 'local':
      return new LocalFileStore(source.path);
    case 'ftp':
      return new FtpFileStore({
        host: source.host,
        port: source.port,
        user: source.user,
        password: resolveSecret(source.password, env),
        dir: source.dir,
        secure: source.secure,
        logger,
      });
    case 'sftp':
      return new SftpFileStore({
        host: source.host,
        port: source.port,
        user: source.user,
        password: source.password ? resolveSecret(source.password, env) : undefined,
        privateKey: source.privateKey ? resolveSecret(source.privateKey, env) : undefined,
        dir: source.dir,
        hostKeySha256: source.hostKeySha256,
        allowUnpinnedHostKey: env.SFTP_ALLOW_UNPINNED_HOST_KEY === 'true',
        logger,
      });
  }
}
