/** Vendor files: the FileStore over local, FTP and SFTP folders, safe names, and the built-in FTP server. */
export {
  ARCHIVE_DIR,
  REJECTED_DIR,
  FileStoreError,
  type ArchiveFolder,
  type DownloadOptions,
  type FileListing,
  type FileStore,
  type RemoteFile,
} from './store';
export { LocalFileStore } from './local-store';
export { FtpFileStore, type FtpStoreOptions } from './ftp-store';
export { SftpFileStore, hostKeyFingerprint, type SftpStoreOptions } from './sftp-store';
export { openFileStore } from './open';
export {
  assertSafeRemoteName,
  isHiddenName,
  localPathFor,
  remoteNameProblem,
  resolveInside,
  safeLocalName,
  UnsafeNameError,
  type RejectedName,
} from './safe-name';
export { startFtpServer, type FtpServer, type FtpServerOptions } from './ftp-server';
