/** The Alma sandbox: a local stand-in for Alma's REST API (see shared/reference/alma-api.md). */
export { startAlmaSandbox, type AlmaSandbox, type AlmaSandboxOptions } from './server';
export {
  seedFromConfig,
  BUILT_IN_CATALOGUE,
  DEFAULT_DAILY_THRESHOLD,
  type SandboxSeed,
  type SandboxInstitutionSeed,
  type SandboxVendorSeed,
  type CatalogueEntry,
} from './seed';
export { ENDPOINT_KEYS, type EndpointKey, type Fault, type FaultSet } from './faults';
